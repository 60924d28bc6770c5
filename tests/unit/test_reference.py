"""benchmarks/reference.py: the benchmarks run the solution notebooks' own code, loaded
without running the rest of the notebook."""

import numpy as np
import pytest

from benchmarks import reference


def test_convnet_of_05_runs_from_the_notebooks_cells():
    """Is ConvNet the notebook's (its cells' line numbers in tracebacks) and does it learn?"""
    solution = reference.load("05-cnn-scratch")
    assert solution.ConvNet.__init__.__code__.co_filename.endswith("05-cnn-scratch.ipynb (cell 39)")
    rng = np.random.default_rng(0)
    net, optimizer = solution.ConvNet(rng=rng), solution.Adam(lr=1e-3)
    x = rng.random((20, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 20)
    first = net.loss(x, labels)
    for _ in range(20):
        net.loss(x, labels)
        net.backward()
        optimizer.update(net.layers)
    assert net.loss(x, labels) < 0.5 * first
    assert net.scores(x).shape == (20, 10)


def test_only_definitions_run():
    """No data loaded, nothing trained: the notebook's plain statements are left out."""
    solution = reference.load("05-cnn-scratch")
    assert callable(solution.im2col) and solution.np is np
    assert not hasattr(solution, "x_train") and not hasattr(solution, "net")


def test_unknown_assignment_named():
    with pytest.raises(FileNotFoundError, match="no solution notebook .*99-nothing.*05-cnn-scratch"):
        reference.load("99-nothing")


def test_build_model_of_06_without_its_test_cells():
    """06's test cells define helpers that need the statements around them: left out, while
    the answer cell's build_model builds the recipe's model."""
    pytest.importorskip("keras")
    solution = reference.load("06-keras-cnn")
    assert not hasattr(solution, "_CountingTape")
    assert solution.build_model().count_params() == 13_210
