"""src/matchbox/data_parallel.py: the worker processes of 08 carry out an all-reduce schedule (the
solution's ring_allreduce trace here) and end where one worker ends; a schedule that does not
add up is refused before any process starts."""

import numpy as np
import pytest

from benchmarks import reference
from matchbox import data_parallel


def ring_schedule(workers):
    """The messages of the solution's ring_allreduce for WORKERS workers."""
    trace = []
    reference.load("08-data-parallel").ring_allreduce([np.zeros(workers, np.float32)] * workers, trace=trace)
    return trace


@pytest.mark.parametrize("workers, schedule, says", [
    (2, [(0, 0, 1, 0)], "holds the contributions of workers [0], not of all 2"),
    (2, [(0, 0, 1, 0), (0, 0, 1, 1), (1, 1, 0, 0)], "a worker sends twice"),
    (3, [(0, 0, 1, 0), (1, 1, 2, 0), (1, 0, 2, 0)], "counted twice"),
    (2, [(0, 0, 2, 0)], "outside 0 ... 1"),
])
def test_a_schedule_that_does_not_add_up_is_refused(workers, schedule, says):
    with pytest.raises(ValueError, match=says.replace("[", r"\[").replace("]", r"\]")):
        data_parallel.check_schedule(schedule, workers)
    data_parallel.check_schedule(ring_schedule(workers), workers)   # the ring itself passes


def test_workers_following_the_ring_end_where_one_worker_ends():
    """With 1, 2 and 3 workers (3 cuts the 79,510 parameters unevenly), the ring and the naive
    all-reduce give one worker's weights to float32 rounding."""
    rng = np.random.default_rng(0)
    x, t = rng.random((600, 784), dtype=np.float32), rng.integers(0, 10, 600)
    one = data_parallel.train(1, x, t, x[:100], t[:100], batch_size=60)
    for workers, schedule in [(2, ring_schedule(2)), (3, ring_schedule(3)), (2, None)]:
        many = data_parallel.train(workers, x, t, x[:100], t[:100], batch_size=60, schedule=schedule)
        gap = np.max(np.abs(many.params - one.params))
        assert gap < 1e-5, f"{workers} workers ({'naive' if schedule is None else 'ring'}) end {gap:.1e} away"
        assert many.communicate_s.shape == many.compute_s.shape == (10,)
