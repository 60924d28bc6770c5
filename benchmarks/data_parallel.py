"""Data-parallel SGD of 08-data-parallel: 1 vs 2 worker processes, same MLP, same global batch.

Usage: python -m benchmarks.data_parallel [--epochs 3] [--batch-size 200] [--train-images 60000]
Trains the notebook's MLP (784-100-10, momentum SGD, lr 0.05 per 200 images scaled linearly with
the batch) with matchbox.data_parallel.train, the plumbing section 5 of the notebook runs: worker
processes started by spawn, one BLAS thread each, every worker drawing the same global batches
and taking its np.array_split shard, an all-reduce through shared memory whose messages are the
trace of the solution's ring_allreduce (benchmarks/reference.py), and for comparison the naive
all-reduce (every worker posts its whole gradient and adds up everybody's). The three runs (1
worker; 2 workers, ring; 2 workers, naive) happen in this one invocation, one after the other,
and are printed side by side: seconds per epoch (the mean over the epochs), the speed-up (1
worker's time over 2 workers' with the ring), milliseconds of compute and
communication per step (means; communication includes waiting for the slower worker), the
communication share of the time (sums over all steps), and the test accuracy on all 10,000 test
images after the last epoch (both runs compute the same steps, so it must agree to rounding).
Starting the processes and measuring accuracy are not timed.
"""

import argparse
import os
import sys

import numpy as np

from benchmarks import reference
from matchbox import data_parallel
from matchbox.data import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training images (default 3)")
    parser.add_argument("--batch-size", type=int, default=200, help="the global batch (default 200)")
    parser.add_argument("--train-images", type=int, default=60_000, help="train on the first N images only")
    args = parser.parse_args()

    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=True)
    x_train, t_train = x_train[:args.train_images], t_train[:args.train_images].astype(np.int64)
    t_test = t_test.astype(np.int64)
    lr = 0.05 * args.batch_size / 200                       # the linear scaling rule from 0.05 per 200 images
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores available: {len(os.sched_getaffinity(0))}, load average {load:.1f}; NumPy {np.__version__}; "
          f"{len(x_train):,} training images, global batch {args.batch_size}, lr {lr:g}, {args.epochs} epoch(s)",
          flush=True)

    ring = []
    reference.load("08-data-parallel").ring_allreduce([np.zeros(2) for _ in range(2)], trace=ring)
    runs = {}
    for name, workers, schedule in [("1 worker", 1, None), ("2, ring", 2, ring), ("2, naive", 2, None)]:
        runs[name] = data_parallel.train(workers, x_train, t_train, x_test, t_test, epochs=args.epochs,
                                         batch_size=args.batch_size, lr=lr, schedule=schedule)
        print(f"  {name} done: epochs " + ", ".join(f"{s:.2f}" for s in runs[name].epoch_s) + " s", flush=True)

    one, two = runs["1 worker"], runs["2, ring"]
    rows = [("started in (s, not timed)", lambda r: f"{r.startup_s:.2f}"),
            ("seconds per epoch", lambda r: f"{np.mean(r.epoch_s):.2f}"),
            ("compute per step (ms, mean)", lambda r: f"{1000 * np.mean(r.compute_s):.2f}"),
            ("communication per step (ms, mean)", lambda r: f"{1000 * np.mean(r.communicate_s):.2f}"),
            ("communication share", lambda r: f"{r.communication_share:.0%}"),
            ("final test accuracy", lambda r: f"{r.test_accuracy[-1]:.2%}")]
    print(f"\n{'':38s}" + "".join(f"{name:>12s}" for name in runs))
    for name, show in rows:
        print(f"{name:38s}" + "".join(f"{show(run):>12s}" for run in runs.values()))
    speedup = np.mean(one.epoch_s) / np.mean(two.epoch_s)
    naive = np.mean(one.epoch_s) / np.mean(runs["2, naive"].epoch_s)
    print(f"\nspeed-up with 2 workers (time per epoch, 1 worker / 2 workers): {speedup:.2f}x with the ring, "
          f"{naive:.2f}x with the naive all-reduce")
    print(f"communication share with 2 workers: {two.communication_share:.0%} with the ring, "
          f"{runs['2, naive'].communication_share:.0%} with the naive all-reduce")
    print(f"largest difference of the final weights: {np.max(np.abs(one.params - two.params)):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
