"""src/matchbox/pretrained.py: the shipped digits 0-4 convnet of 07-transfer-learning is the one
its training script makes, checked on load, good at its digits, and handed out as independent
copies."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from matchbox import pretrained  # noqa: E402


@pytest.fixture
def mnist_here(monkeypatch, data_root):
    monkeypatch.setenv("MATCHBOX_DATA", str(data_root))


def test_shipped_weights_pass_their_checksum_and_read_digits_0_to_4(mnist_here):
    """Does the shipped file load (checksum verified) and read MNIST's test digits 0-4 at >= 99 %?"""
    assert pretrained.verify(log=lambda line: None) >= 0.99


def test_each_load_is_an_independent_copy():
    """Does changing one loaded network (as fine-tuning does) leave the next load untouched?"""
    first = pretrained.load_digits_convnet()
    kernel = first.get_layer("conv1").kernel
    kernel.assign(np.zeros(kernel.shape, dtype="float32"))
    second = pretrained.load_digits_convnet()
    assert np.abs(np.asarray(second.get_layer("conv1").kernel)).sum() > 0, "a load shares weights with an earlier one"
    assert all(layer.trainable for layer in second.layers)
    assert second.output_shape == (None, len(pretrained.DIGITS))


def test_a_changed_weights_file_is_refused_with_the_fix(tmp_path):
    """Is a file whose weights differ from the released ones refused, naming the file and the fix?"""
    with np.load(pretrained.shipped_path()) as stored:
        weights = {name: stored[name].copy() for name in stored.files}
    weights["features/1"][0] += 1e-3
    damaged = tmp_path / "digits-0-4.npz"
    np.savez(damaged, **weights)
    with pytest.raises(pretrained.PretrainedError, match="changed or damaged; reinstall matchbox") as raised:
        pretrained.load_digits_convnet(damaged)
    assert str(damaged) in str(raised.value)
    with pytest.raises(pretrained.PretrainedError, match="missing"):
        pretrained.load_digits_convnet(tmp_path / "absent.npz")


def test_training_is_reproducible(mnist_here, tmp_path):
    """Do two short trainings from the same seed give bit-identical weights (the same digest)?"""
    quiet = lambda line: None  # noqa: E731
    first, _ = pretrained.train(tmp_path / "a.npz", epochs=1, limit=1500, log=quiet)
    second, _ = pretrained.train(tmp_path / "b.npz", epochs=1, limit=1500, log=quiet)
    assert first == second
