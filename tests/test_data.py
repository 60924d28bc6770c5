"""The offline dataset loader and its fetch/verify commands, on the real MNIST and Fashion-MNIST files."""

import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from matchbox import data

ROOT = Path(__file__).resolve().parent.parent
SHA256SUMS = ROOT / "src" / "matchbox" / "SHA256SUMS"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FIX = "python -m matchbox.data fetch"
DIGIT_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
DIGIT_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LABELS = "t10k-labels-idx1-ubyte"
DIGIT_FIRST_TEST_LABEL = 7


# ---- fixtures and helpers -----------------------------------------------------------------------

@pytest.fixture(autouse=True)
def isolated(data_isolated, monkeypatch, data_root):
    """Point the loader at the fetched data, with a fresh per-user cache and no image data root."""
    monkeypatch.setenv("MATCHBOX_DATA", str(data_root))


def real_file(data_root, folder, name):
    """The fetched file for name (plain or .gz)."""
    return next((data_root / folder).glob(f"{name}*"))


def uncompressed(path):
    """The IDX bytes of a plain or gzipped file."""
    blob = Path(path).read_bytes()
    return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob


def make_root(where, data_root, folder="mnist", plain=()):
    """A data root of links to the real files, with writable uncompressed copies of the names in plain."""
    (where / folder).mkdir(parents=True)
    for name in FILES:
        real = real_file(data_root, folder, name)
        if name in plain:
            (where / folder / name).write_bytes(uncompressed(real))
        else:
            (where / folder / real.name).symlink_to(real)
    return where


def flip_first_label(path, keep_mtime):
    """Change the first label of a plain labels file, optionally restoring its mtime."""
    before = path.stat()
    blob = bytearray(path.read_bytes())
    blob[8] = (blob[8] + 1) % 10
    path.write_bytes(bytes(blob))
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def load_in_subprocess(root):
    """Load the digits in a fresh Python process using root; the completed process."""
    return subprocess.run([sys.executable, "-c", "from matchbox.data import load_mnist; load_mnist()"],
                          env={**os.environ, "MATCHBOX_DATA": str(root)},
                          capture_output=True, text=True, timeout=120)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request."""

    def log_message(self, *args):
        """Stay quiet."""


@contextlib.contextmanager
def serving(directory):
    """Serve directory over HTTP on a loopback port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


# ---- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, mean", [("digits", 0.1307), ("fashion", 0.2860)])
def test_default_load_shapes_dtypes_and_ranges(kind, mean):
    """Are the default arrays 28x28 float32 images in [0, 1] with uint8 labels 0-9?"""
    (x_train, t_train), (x_test, t_test) = data.load_mnist(kind)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert t_train.shape == (60000,) and t_test.shape == (10000,)
    assert x_train.dtype == x_test.dtype == np.float32
    assert t_train.dtype == t_test.dtype == np.uint8
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert x_train.mean() == pytest.approx(mean, abs=1e-3)
    assert set(np.unique(t_test)) == set(range(10))


def test_raw_flattened_images():
    """Does normalize=False, flatten=True give (N, 784) uint8 pixels matching the normalized images?"""
    (raw, _), (raw_test, _) = data.load_mnist(normalize=False, flatten=True)
    (scaled, _), _ = data.load_mnist()
    assert raw.shape == (60000, 784) and raw_test.shape == (10000, 784)
    assert raw.dtype == np.uint8 and raw.max() == 255
    assert raw.flags.writeable
    assert np.array_equal(raw.reshape(-1, 28, 28) / np.float32(255), scaled)


def test_one_hot_labels():
    """Are one-hot labels float32 rows with a single 1 at the label?"""
    (_, plain), _ = data.load_mnist("fashion")
    (_, one_hot), (_, one_hot_test) = data.load_mnist("fashion", one_hot=True)
    assert one_hot.shape == (60000, 10) and one_hot_test.shape == (10000, 10)
    assert one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1)
    np.testing.assert_array_equal(one_hot.argmax(axis=1), plain)


def test_digit_class_counts():
    """Does every digit occur as often as in the original MNIST (e.g. 6742 training ones)?"""
    (_, t_train), (_, t_test) = data.load_mnist(normalize=False)
    assert np.bincount(t_train).tolist() == DIGIT_TRAIN_COUNTS
    assert np.bincount(t_test).tolist() == DIGIT_TEST_COUNTS


def test_fashion_class_counts():
    """Does every Fashion-MNIST class have 6000 training and 1000 test images?"""
    (_, t_train), (_, t_test) = data.load_mnist("fashion", normalize=False)
    assert np.bincount(t_train).tolist() == [6000] * 10
    assert np.bincount(t_test).tolist() == [1000] * 10


# ---- checksums ----------------------------------------------------------------------------------

def test_real_files_match_sha256sums(data_root):
    """Do the fetched files hash (uncompressed) to the eight SHA256SUMS entries, and does verify agree?"""
    entries = dict(reversed(line.split()) for line in SHA256SUMS.read_text().splitlines())
    assert sorted(entries) == sorted(f"{folder}/{name}" for folder in ("mnist", "fashion-mnist")
                                     for name in FILES)
    for relative, digest in entries.items():
        folder, name = relative.split("/")
        assert hashlib.sha256(uncompressed(real_file(data_root, folder, name))).hexdigest() == digest
    checks = data.verify()
    assert len(checks) == 8 and all(check.ok for check in checks), checks
    assert {check.path.parent.parent for check in checks} == {data_root}


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="needs coreutils sha256sum")
def test_sha256sums_works_with_coreutils(tmp_path, data_root):
    """Does `sha256sum --strict -c SHA256SUMS` pass on the uncompressed files, as the Dockerfile runs it?"""
    for folder in ("mnist", "fashion-mnist"):
        (tmp_path / folder).mkdir()
        for name in FILES:
            (tmp_path / folder / name).write_bytes(uncompressed(real_file(data_root, folder, name)))
    check = subprocess.run(["sha256sum", "--strict", "-c", str(SHA256SUMS)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 8


# ---- where the files are found ------------------------------------------------------------------

def test_search_order(monkeypatch, tmp_path, data_root):
    """Is $MATCHBOX_DATA searched first, then the image's data root, then the per-user cache?"""
    cache_root = make_root(tmp_path / "cache" / "matchbox" / "data", data_root, plain=[LABELS])
    flip_first_label(cache_root / "mnist" / LABELS, keep_mtime=False)
    image_root = make_root(tmp_path / "image", data_root)
    monkeypatch.setattr(data, "IMAGE_DATA_DIR", image_root)

    assert data.locate("digits") == data_root / "mnist"
    monkeypatch.delenv("MATCHBOX_DATA")
    assert data.locate("digits") == image_root / "mnist"
    monkeypatch.setattr(data, "IMAGE_DATA_DIR", tmp_path / "nothing")
    assert data.locate("digits") == cache_root / "mnist"
    with pytest.raises(data.DatasetError, match="SHA-256"):
        data.load_mnist()
    monkeypatch.setenv("MATCHBOX_DATA", str(data_root))
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (60000, 28, 28)


def test_root_without_the_kind_is_skipped(monkeypatch, tmp_path, data_root):
    """Does a root holding only mnist/ leave fashion to the next root that has fashion-mnist/?"""
    digits_only = make_root(tmp_path / "digits-only", data_root)
    fashion_root = make_root(tmp_path / "cache" / "matchbox" / "data", data_root, "fashion-mnist")
    monkeypatch.setenv("MATCHBOX_DATA", str(digits_only))
    assert data.locate("digits") == digits_only / "mnist"
    assert data.locate("fashion") == fashion_root / "fashion-mnist"


def test_missing_file(monkeypatch, tmp_path, data_root):
    """Does a missing file raise an error naming that file and the fetch command?"""
    root = make_root(tmp_path / "root", data_root)
    real_file(root, "mnist", "t10k-images-idx3-ubyte").unlink()
    monkeypatch.setenv("MATCHBOX_DATA", str(root))
    with pytest.raises(data.DatasetError) as raised:
        data.load_mnist()
    assert str(root / "mnist" / "t10k-images-idx3-ubyte") in str(raised.value)
    assert f"{FIX} --kind digits --dest {root}" in str(raised.value)


def truncate(path):
    """Cut a file to half its length."""
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])


def gzip_and_truncate(path):
    """Replace a plain file by a .gz copy cut in half; the new path."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes())[:200])
    path.unlink()
    return target


def spoil_magic(path):
    """Overwrite the IDX magic number."""
    blob = bytearray(path.read_bytes())
    blob[2] = 0x0D
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("damage, reason", [
    (truncate, "truncated"),
    (gzip_and_truncate, "gzip"),
    (spoil_magic, "header"),
    (functools.partial(flip_first_label, keep_mtime=False), "SHA-256 mismatch"),
])
def test_corrupt_file(monkeypatch, tmp_path, data_root, damage, reason):
    """Does a truncated, badly gzipped, mis-headed or altered file raise an error naming it and the fix?"""
    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    path = damage(root / "mnist" / LABELS) or root / "mnist" / LABELS
    monkeypatch.setenv("MATCHBOX_DATA", str(root))
    with pytest.raises(data.DatasetError, match=reason) as raised:
        data.load_mnist()
    assert str(path) in str(raised.value)
    assert f"{FIX} --kind digits --dest {root}" in str(raised.value)
    assert raised.value.path == path


# ---- verified once, then remembered -------------------------------------------------------------

def test_verification_remembered_across_processes(tmp_path, data_root):
    """Does a second process trust the stamp for an unchanged file, and re-hash once its mtime changes?"""
    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    labels = root / "mnist" / LABELS
    first = load_in_subprocess(root)
    assert first.returncode == 0, first.stderr
    stamps = json.loads((tmp_path / "cache" / "matchbox" / "verified.json").read_text())
    assert stamps[str(labels.resolve())]["size"] == labels.stat().st_size

    flip_first_label(labels, keep_mtime=True)
    trusted = load_in_subprocess(root)
    assert trusted.returncode == 0, "re-hashed although size and mtime were unchanged"

    os.utime(labels, ns=(time.time_ns(), time.time_ns()))
    rehashed = load_in_subprocess(root)
    assert rehashed.returncode != 0 and "SHA-256 mismatch" in rehashed.stderr
    assert str(labels) in rehashed.stderr


def test_verification_memoised_in_process(monkeypatch, tmp_path, data_root):
    """Does a second load in the same process skip the hash even without the stamp file?"""
    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    monkeypatch.setenv("MATCHBOX_DATA", str(root))
    data.load_mnist()
    (tmp_path / "cache" / "matchbox" / "verified.json").unlink()
    flip_first_label(root / "mnist" / LABELS, keep_mtime=True)
    _, (_, t_test) = data.load_mnist()
    assert t_test[0] == (DIGIT_FIRST_TEST_LABEL + 1) % 10



def test_unwritable_cache_is_no_error(monkeypatch, tmp_path, data_root):
    """When the per-user cache cannot be written, do loading and verify still work?"""
    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    not_a_dir = tmp_path / "not-a-dir"
    not_a_dir.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_dir))
    monkeypatch.setenv("MATCHBOX_DATA", str(root))
    _, (_, t_test) = data.load_mnist()
    assert t_test[0] == DIGIT_FIRST_TEST_LABEL
    assert all(check.ok for check in data.verify("digits"))


# ---- the command line ---------------------------------------------------------------------------

def run_cli(*args, data_dir):
    """Run python -m matchbox.data with MATCHBOX_DATA=data_dir; the completed process."""
    return subprocess.run([sys.executable, "-m", "matchbox.data", *args],
                          env={**os.environ, "MATCHBOX_DATA": str(data_dir)},
                          capture_output=True, text=True, timeout=300)


def test_verify_cli_exit_codes(tmp_path, data_root):
    """Does `verify` exit 0 on the real files and 1, naming the bad file and the fix, on a corrupt one?"""
    good = run_cli("verify", data_dir=data_root)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.count("ok    ") == 8

    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    truncate(root / "mnist" / LABELS)
    bad = run_cli("verify", "--kind", "digits", data_dir=root)
    assert bad.returncode == 1
    assert f"FAIL  {root / 'mnist' / LABELS}: truncated" in bad.stdout
    assert bad.stdout.count("ok    ") == 3
    assert FIX in bad.stderr


def test_error_message_fix_command_repairs_the_file(monkeypatch, tmp_path, data_root):
    """Does the command printed for a corrupt file replace it (here from a local mirror), then stay idle?"""
    root = make_root(tmp_path / "root", data_root, plain=[LABELS])
    flip_first_label(root / "mnist" / LABELS, keep_mtime=False)
    monkeypatch.setenv("MATCHBOX_DATA", str(root))
    with pytest.raises(data.DatasetError) as raised:
        data.load_mnist()
    command = str(raised.value).split("To fix, run: ")[1].split(" (")[0].split()
    assert command[:4] == ["python", "-m", "matchbox.data", "fetch"]

    (tmp_path / "empty-bin").mkdir()
    offline = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path)}
    with serving(data_root) as mirror:
        repair = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True,
                                env={**offline, "MATCHBOX_MIRRORS": mirror}, timeout=300)
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert f"digits: mirror {mirror}/mnist/: ok, 1 file stored" in repair.stdout
    assert not (root / "mnist" / LABELS).exists()
    stored = (root / "mnist" / f"{LABELS}.gz").read_bytes()
    assert stored == real_file(data_root, "mnist", LABELS).read_bytes()
    _, (_, t_test) = data.load_mnist()
    assert t_test[0] == DIGIT_FIRST_TEST_LABEL

    again = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True,
                           env={**offline, "MATCHBOX_MIRRORS": ""}, timeout=300)
    assert again.returncode == 0 and "already holds all four files" in again.stdout


def test_fetch_rejects_a_corrupt_download(tmp_path, data_root, capsys, cut_off):
    """Does fetch refuse a download with the wrong checksum, keep the good ones and leave no temp file?"""
    mirror_root = make_root(tmp_path / "mirror", data_root, plain=[LABELS])
    flip_first_label(mirror_root / "mnist" / LABELS, keep_mtime=False)
    gzip_path = mirror_root / "mnist" / f"{LABELS}.gz"
    gzip_path.write_bytes(gzip.compress((mirror_root / "mnist" / LABELS).read_bytes()))
    dest = tmp_path / "dest"
    with serving(mirror_root) as mirror:
        cut_off(mirror)
        status = data.main(["fetch", "--kind", "digits", "--dest", str(dest)])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"{LABELS} rejected (SHA-256 mismatch" in out and "ok, 3 files stored" in out
    assert sorted(path.name for path in (dest / "mnist").iterdir()) == sorted(
        f"{name}.gz" for name in FILES if name != LABELS)
    assert str(dest / "mnist" / f"{LABELS}.gz") in err


def test_fetch_rebuilds_idx_files_from_keras_caches(monkeypatch, tmp_path, data_root, capsys, cut_off):
    """Do Keras' mnist.npz and fashion-mnist/*.gz caches yield files that pass the checksums?"""
    (x_train, t_train), (x_test, t_test) = data.load_mnist(normalize=False)
    cut_off("")
    keras = tmp_path / "home" / ".keras" / "datasets"
    (keras / "fashion-mnist").mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=x_train, y_train=t_train, x_test=x_test, y_test=t_test)
    for name in FILES:
        (keras / "fashion-mnist" / f"{name}.gz").symlink_to(real_file(data_root, "fashion-mnist", name))
    dest = tmp_path / "dest"
    assert data.main(["fetch", "--dest", str(dest)]) == 0
    out, _ = capsys.readouterr()
    assert f"digits: Keras cache {keras / 'mnist.npz'}: ok, 4 files stored" in out
    assert f"fashion: Keras cache {keras / 'fashion-mnist'}: ok, 4 files stored" in out
    monkeypatch.setenv("MATCHBOX_DATA", str(dest))
    assert all(check.ok for check in data.verify())
