"""No answers in the participant image.

Every distinctive line of every `### BEGIN SOLUTION` and `### BEGIN HIDDEN TESTS` block in
solutions/ and in the Japanese edition's ja/solutions/ (whose hidden tests speak Japanese) is a
fingerprint. The participant image's whole filesystem (`docker export`, streamed,
never written to disk) must hold none of them, in any text file. The instructor image carries
the course, so it must hold every one: the control that shows the scanner finds what it looks for.

Files are cut into pieces at real line ends and at the `\\n` escapes of JSON strings; a piece
is compared after `normalize` (comment cut, runs of white space made one space, quotes and
commas trimmed at the ends). A solution line is looked for as it is (Python source) and as a
notebook's JSON holds it. Only whole lines match: an answer rewritten by hand (other names,
other layout) passes this scan, and answers of one short line (`outputs_a = [0, 0, 0, 1]`)
cannot be told from chance, so neither proves more than it checks: reference code lives in
benchmarks/ (which runs the solutions' own cells) and solutions/ only. Lines that pip or dpkg
installed unmodified from an upstream package are that package's code (see `Upstream`).
"""

import base64
import collections
import csv
import hashlib
import io
import json
import posixpath
import re
import subprocess
import tarfile
import time

import pytest

from tests.support.containers import ROOT, docker
from tests.support.course import (
    HANDSON,
    JA_HANDSON,
    JA_SOLUTIONS,
    SOLUTIONS,
    all_notebooks,
    load,
    meta,
    split_blocks,
    text,
)

pytestmark = pytest.mark.docker

# Normalised lines shorter than this occur by chance (`n, c, h, w = x.shape`); longer ones in
# these blocks are the answers' own code. Measured on the participant image without the
# answers: of about 900 pieces of 30 or more characters, two idioms occur in third-party
# packages (62 times, all in files those packages installed: excused by Upstream), none elsewhere.
MIN_LENGTH = 30
BLOCKS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
          "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}
LINE_END = re.compile(rb"\n|\\n")        # a line end, or the \n escape inside a JSON string
COMMENT = re.compile(rb"(?:^|\s)#.*")
BINARY_PROBE = 8192                       # a NUL byte in a file's first 8 KiB: not a text file
PROJECT = "matchbox"                      # this project's distribution ([project] name)


def normalize(line):
    """The form lines are compared in (bytes in, bytes out); see the module's docstring."""
    return b" ".join(COMMENT.sub(b"", line).split()).strip(b'",').strip()


def pieces(line):
    """The normalised pieces of one line of Python, of at least MIN_LENGTH, as the scanner cuts
    them from a file holding that line as it is or inside a JSON string (a notebook)."""
    found = set()
    for form in (line, json.dumps(line, ensure_ascii=False)[1:-1]):
        found |= {normalize(piece) for piece in LINE_END.split(form.encode())}
    return {piece for piece in found if len(piece) >= MIN_LENGTH}


def fingerprints():
    """{normalised piece: (notebook, cell, block kind, the line)} of every block line of
    solutions/ that no student notebook in handson/ shows (those are public by design)."""
    public = set()
    for path in all_notebooks(HANDSON) + all_notebooks(JA_HANDSON):
        for cell in load(path)["cells"]:
            for line in text(cell).splitlines():
                public |= pieces(line)
    found = {}
    for path in all_notebooks(SOLUTIONS) + all_notebooks(JA_SOLUTIONS):  # both editions' answers
        for index, cell in enumerate(load(path)["cells"]):
            for kind, (begin, end) in BLOCKS.items():
                inside, _ = split_blocks(text(cell), begin, end)
                for line in inside:
                    for piece in pieces(line) - public:
                        name = meta(cell).get("grade_id") or f"cell {index}"
                        found.setdefault(piece, (path.relative_to(ROOT), name, kind, line.strip()))
    return found


class Upstream:
    """Files that pip or dpkg installed from an upstream package, by the digest the package
    recorded (a wheel's RECORD, a Debian package's md5sums). A fingerprint in such a file, left
    unmodified, is that package's own code: `with warnings.catch_warnings():` is in CPython and
    IPython, `layers.Dense(10, activation="softmax")` in Keras. This project's own distribution
    is never upstream: its files are what the scan is for."""

    def __init__(self):
        self.digests = {}

    def note(self, path, data):
        """Read the digests of a RECORD or md5sums file; ignore any other file."""
        if path.startswith("/var/lib/dpkg/info/") and path.endswith(".md5sums"):
            for line in data.decode(errors="replace").splitlines():
                digest, _, name = line.partition("  ")
                self.digests["/" + name] = ("md5", digest)
        elif path.endswith(".dist-info/RECORD") and not posixpath.basename(
                posixpath.dirname(path)).startswith(f"{PROJECT}-"):
            site = posixpath.dirname(posixpath.dirname(path))
            for row in csv.reader(io.StringIO(data.decode(errors="replace"))):
                if len(row) == 3 and row[1].startswith("sha256="):
                    self.digests[posixpath.normpath(posixpath.join(site, row[0]))] = ("sha256", row[1][7:])

    def unmodified(self, path, data):
        """Is path a file an upstream package installed, with the content it had there?"""
        kind, digest = self.digests.get(path, (None, None))
        if kind == "md5":
            return hashlib.md5(data).hexdigest() == digest
        sha256 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return kind == "sha256" and sha256 == digest


def text_files(image, stats):
    """(path, content) of every regular text file of image, streamed from `docker export`."""
    container = docker("create", image).stdout.strip()
    try:
        export = subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE)
        with export, tarfile.open(fileobj=export.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                stats["files"] += 1
                handle = tar.extractfile(member)
                data = handle.read(BINARY_PROBE)
                if b"\0" in data:
                    continue              # the stream skips the rest of the member by itself
                data += handle.read()
                stats["text files"] += 1
                stats["text bytes"] += len(data)
                yield "/" + member.name, data
        assert export.returncode == 0, f"docker export {image} failed ({export.returncode})"
    finally:
        docker("rm", "-f", container, check=False)


def scan(image, wanted):
    """Every fingerprint in image outside unmodified upstream files: ([(path, line number,
    fingerprint)], stats)."""
    stats, started = collections.Counter(), time.monotonic()
    upstream, found = Upstream(), {}
    for path, data in text_files(image, stats):
        upstream.note(path, data)
        hits = [(path, data.count(b"\n", 0, data.find(piece)) + 1, key)
                for piece in LINE_END.split(data)
                if len(piece) >= MIN_LENGTH and (key := normalize(piece)) in wanted]
        if hits:
            found[path] = (data, hits)
    # after the stream: a package's RECORD may come after its files
    hits = []
    for path, (data, in_file) in found.items():
        if upstream.unmodified(path, data):
            stats["hits in upstream files"] += len(in_file)
        else:
            hits += in_file
    stats["seconds"] = round(time.monotonic() - started, 1)
    return hits, dict(stats)


def describe(image, hits, wanted, limit=20):
    lines = [f"{len(hits)} line(s) of the course's answers or hidden tests in {image}:"]
    for path, number, key in hits[:limit]:
        notebook, cell, kind, line = wanted[key]
        lines.append(f"  {path}:{number} holds {key.decode(errors='replace')!r}\n"
                     f"      from the {kind} of {cell} in {notebook}: {line!r}")
    if len(hits) > limit:
        lines.append(f"  ... and {len(hits) - limit} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def wanted():
    found = fingerprints()
    notebooks = {notebook for notebook, _, _, _ in found.values()}
    # every solution notebook with an exercise gives fingerprints, or the scan proves nothing
    # (in both editions: a Japanese hidden test's messages are lines of its own)
    assert notebooks == {p.relative_to(ROOT) for p in all_notebooks(SOLUTIONS) + all_notebooks(JA_SOLUTIONS)
                         if "BEGIN SOLUTION" in p.read_text(encoding="utf-8")}, notebooks
    return found


def test_participant_image_holds_no_answers(image, wanted):
    """Does no text file anywhere in the participant image hold a line of an answer or a
    hidden test?"""
    hits, stats = scan(image, wanted)
    print(f"scanned {image}: {stats}, {len(wanted)} fingerprints")
    if hits:
        pytest.fail(describe(image, hits, wanted), pytrace=False)


def test_scanner_finds_every_fingerprint_in_the_instructor_image(instructor_image, wanted):
    """The control: the instructor image carries solutions/, so the same scan must find every
    fingerprint there; a scanner that finds nothing would pass the test above for nothing."""
    hits, stats = scan(instructor_image, wanted)
    print(f"scanned {instructor_image}: {stats}, {len(hits)} hits")
    missing = set(wanted.values()) - {wanted[key] for _, _, key in hits}
    assert not missing, "lines of solutions/ the scan did not find in the instructor image:\n" + \
        "\n".join(f"  {notebook} {cell}: {line!r}" for notebook, cell, _, line in sorted(missing))
