"""What the grader reads of a submission: regular files only, copied by our own code.

Every source (the nbgrader exchange, STUDENT folders, a zip or a flat folder from an LMS) goes
through here before nbgrader sees anything. A participant writes their own submission, so it may
hold symbolic links (to a solution notebook, to the gradebook), hard links to files outside it,
FIFOs that block a reader, device files, or simply too much. Such entries are refused, each with a
reason that ends up in that student's row of the closing table; the rest is copied.

Folders are walked by descriptor (os.open with O_NOFOLLOW, os.scandir on the descriptor, files
opened relative to it), and each file is checked with fstat on the descriptor it is read from, so
nothing can be swapped for a link between the check and the read.
"""

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MB = 1_000_000
CLUTTER = (".ipynb_checkpoints", "__pycache__")
# nbgrader zip_collect opens these itself (with extractall): never handed to it
ARCHIVES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")
CHUNK = 1 << 20
MAX_NOTES = 10  # refusals named per student; the rest counted (a row stays readable)

# The hub's username pattern (enforced at sign-up): what the exchange may carry.
HUB_NAME = re.compile(r"[a-z0-9_-]{1,32}")
HUB_RULE = "a hub username is 1-32 lower-case letters, digits, - and _"
# Folders and LMS downloads: upper case, dots and @ too, but no path or control characters.
FOLDER_NAME = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}")
FOLDER_RULE = "a student name is 1-64 letters, digits, -, _, . and @, no '..'"


@dataclass(frozen=True)
class Caps:
    """Limits on one student's submission (scripts/grade --max-file-mb, --max-submission-mb,
    --max-files)."""
    file_bytes: int = 20 * MB
    submission_bytes: int = 50 * MB
    files: int = 200
    depth: int = 8


@dataclass
class Intake:
    """What was copied of one submission (paths relative to it) and why the rest was refused."""
    caps: Caps
    files: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    bytes: int = 0
    blocked: bool = False  # the student's name is refused: nothing of theirs is read

    def refuse(self, rel, why):
        note(self.refused, f"refused {shown(rel, spaces=True)}: {why}")


def note(notes, text):
    """Add a note to a student's list, naming at most MAX_NOTES and counting the rest."""
    if len(notes) < MAX_NOTES:
        notes.append(text)
        return
    more = int(notes[-1].split()[1]) + 1 if len(notes) > MAX_NOTES else 1
    del notes[MAX_NOTES:]
    notes.append(f"and {more} more refused")


def shown(text, spaces=False):
    """A name from a submission as it may be printed: no control characters, no terminal
    escapes, and no spaces unless spaces (a student's name is the table's first column): each
    such character as \\xNN or \\uNNNN."""
    return "".join(c if c.isascii() and c.isprintable() and (not c.isspace() or spaces and c == " ")
                   else (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}") for c in text)


def name_problem(name, strict):
    """Why a student name cannot be graded, or None. strict: the exchange (the hub's pattern)."""
    pattern, rule = (HUB_NAME, HUB_RULE) if strict else (FOLDER_NAME, FOLDER_RULE)
    if pattern.fullmatch(name) and ".." not in name:
        return None
    return f"refused the name {shown(name)}: {rule}"


def kind(mode):
    """What a non-regular file is, in words."""
    for test, words in ((stat.S_ISLNK, "a symbolic link (not followed)"),
                        (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a device file"), (stat.S_ISBLK, "a device file"),
                        (stat.S_ISDIR, "a folder")):
        if test(mode):
            return words
    return "not a regular file"


# ---- folders ---------------------------------------------------------------------------------

def copy_submission(src, dest, caps, label=None):
    """Copy the regular files under the folder src into dest (created); the Intake. src itself
    must be a real folder, not a link to one."""
    intake = Intake(caps)
    label = label or Path(src).name
    try:
        top = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        try:
            why = kind(os.lstat(src).st_mode)
        except OSError as problem:
            why = f"cannot be read ({problem.strerror})"
        intake.refuse(label + "/", f"the submission itself is {why}" if why.startswith("a ")
                      else f"the submission {why}")
        return intake
    try:
        Path(dest).mkdir(parents=True, exist_ok=True)
        copy_folder(top, Path(dest), "", 0, intake)
    finally:
        os.close(top)
    return intake


def copy_folder(dir_fd, dest, prefix, depth, intake):
    """Copy one folder's entries (dir_fd: the folder, opened without following links)."""
    with os.scandir(dir_fd) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        rel = prefix + entry.name
        if entry.name in CLUTTER:
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            copy_subfolder(dir_fd, entry.name, dest, rel, depth, intake)
        elif stat.S_ISREG(mode):
            copy_file(dir_fd, entry.name, dest / entry.name, rel, intake)
        else:
            intake.refuse(rel, kind(mode))


def copy_subfolder(dir_fd, name, dest, rel, depth, intake):
    if depth + 1 >= intake.caps.depth:
        intake.refuse(rel + "/", f"folders nested more than {intake.caps.depth} deep")
        return
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:  # swapped for a link or a file since it was listed
        intake.refuse(rel + "/", "changed while it was read (a link now?)")
        return
    try:
        (dest / name).mkdir()
        copy_folder(fd, dest / name, rel + "/", depth + 1, intake)
    finally:
        os.close(fd)


def copy_file(dir_fd, name, dest, rel, intake):
    """Copy one file if, as opened, it is a regular file with one name and within the caps."""
    if len(intake.files) >= intake.caps.files:
        intake.refuse(rel, f"more than {intake.caps.files} files (--max-files)")
        return
    try:  # O_NONBLOCK: a FIFO swapped in after the listing does not hang the grader
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError as problem:
        intake.refuse(rel, "a symbolic link (not followed)" if problem.errno == 40
                      else f"cannot be read ({problem.strerror})")
        return
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        why = file_problem(info, intake)
        if why:
            intake.refuse(rel, why)
            return
        write_capped(source, dest, rel, intake)


def file_problem(info, intake):
    """Why an opened file is refused (its fstat), or None."""
    if not stat.S_ISREG(info.st_mode):
        return kind(info.st_mode)
    if info.st_nlink > 1:
        return (f"a hard link (the file has {info.st_nlink} names, maybe outside the "
                "submission; submit a copy)")
    return size_problem(info.st_size, intake)


def size_problem(size, intake):
    caps = intake.caps
    if size > caps.file_bytes:
        return f"{size:,} bytes, over the {caps.file_bytes:,}-byte limit per file (--max-file-mb)"
    if intake.bytes + size > caps.submission_bytes:
        return (f"over the {caps.submission_bytes:,}-byte limit per submission "
                "(--max-submission-mb)")
    return None


def write_capped(source, dest, rel, intake):
    """Copy an open file into dest (a new file), reading no more than the caps allow (a file
    may grow while it is read, and a zip member may be bigger than its header says)."""
    allowed = min(intake.caps.file_bytes, intake.caps.submission_bytes - intake.bytes)
    written = 0
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(out, "wb") as target:
        while True:
            chunk = source.read(min(CHUNK, allowed + 1 - written))
            if not chunk:
                break
            written += len(chunk)
            if written > allowed:
                break
            target.write(chunk)
    if written > allowed:
        os.unlink(dest)
        per_file = allowed == intake.caps.file_bytes
        intake.refuse(rel, f"over the {allowed:,}-byte limit per file (--max-file-mb)" if per_file
                      else f"over the {intake.caps.submission_bytes:,}-byte limit per submission "
                           "(--max-submission-mb)")
        return
    intake.bytes += written
    intake.files.append(rel)


# ---- single files and zips (LMS downloads) -----------------------------------------------------

def open_regular(path, intake, rel):
    """An open binary file object for path if it is a regular file with one name, else None
    (the refusal recorded)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as problem:
        intake.refuse(rel, "a symbolic link (not followed)" if problem.errno == 40
                      else f"cannot be read ({problem.strerror})")
        return None
    source = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    why = kind(info.st_mode) if not stat.S_ISREG(info.st_mode) else (
        "a hard link (the file has more than one name; submit a copy)" if info.st_nlink > 1 else None)
    if why:
        source.close()
        intake.refuse(rel, why)
        return None
    return source


def member_problem(info):
    """Why a zip member is not extracted, or None; checked before a byte of it is read."""
    name = info.filename.replace("\\", "/")
    mode = info.external_attr >> 16
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path in the zip"
    if ".." in name.split("/"):
        return "a path out of the zip's folder (..)"
    if stat.S_ISLNK(mode):
        return "a symbolic link in the zip (not followed)"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix mode recorded
        return kind(mode) + " in the zip"
    if info.flag_bits & 0x1:
        return "encrypted"
    if name.lower().endswith(ARCHIVES):
        return "an archive inside the archive (not opened; extract it first)"
    return None


def member_parts(info):
    """The member's path as folder names (no empty parts, no '.')."""
    return [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]


def extract_member(archive, info, dest, intake, rel):
    """Extract one checked zip member into dest (a new file under folders we create)."""
    why = "a path out of the zip's folder (..)" if ".." in Path(rel).parts else (
        size_problem(info.file_size, intake))
    if why:
        intake.refuse(rel, why)
        return
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    if Path(dest).exists():
        intake.refuse(rel, "a second file of the same name in the zip")
        return
    try:
        with archive.open(info) as source:
            write_capped(source, dest, rel, intake)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as problem:
        Path(dest).unlink(missing_ok=True)
        intake.refuse(rel, f"cannot be extracted ({type(problem).__name__})")


class Flat:
    """The files of a zip or a flat folder from an LMS that name a student (by the regexp on the
    path zip_collect will see), copied or extracted into archive/ by our code."""

    def __init__(self, archive, seen_as, regexp, caps):
        self.archive, self.seen_as, self.regexp, self.caps = Path(archive), Path(seen_as), regexp, caps
        self.students = {}  # {student: Intake}
        self.unnamed = []  # refusals of files that name no student (for the log)

    def intake_for(self, rel):
        """The Intake of the student this path names, or None (not a submission file)."""
        match = re.match(self.regexp, str(self.seen_as / rel))
        student = match and match.groupdict().get("student_id")
        if not student:
            return None
        if student not in self.students:
            self.students[student] = intake = Intake(self.caps)
            problem = name_problem(student, strict=False)
            if problem:
                intake.refused.append(problem)
                intake.blocked = True
        intake = self.students[student]
        return None if intake.blocked else intake

    def refuse(self, rel, why, display=None):
        """Refuse a file; display: its name as the zip spells it (rel is where it would go)."""
        intake = self.intake_for(rel)
        if intake is None and not self.names_student(rel):
            self.unnamed.append(f"refused {shown(display or rel, spaces=True)}: {why}")
        elif intake is not None:
            intake.refuse(display or rel, why)

    def names_student(self, rel):
        return rel and bool(re.match(self.regexp, str(self.seen_as / rel)))

    def add_folder(self, folder):
        """The top-level files of a flat folder (zips among them extracted)."""
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with os.scandir(top) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
            for entry in entries:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode) or entry.name.startswith("."):
                    continue
                if entry.name.lower().endswith(".zip") and stat.S_ISREG(mode):
                    self.add_zip(Path(folder) / entry.name, Path(entry.name).stem)
                elif stat.S_ISREG(mode):
                    self.add_file(Path(folder) / entry.name, entry.name)
                else:
                    self.refuse(entry.name, kind(mode))
        finally:
            os.close(top)

    def add_file(self, path, rel):
        intake = self.intake_for(rel)
        if intake is None:
            return  # names no student: zip_collect would skip it
        if len(intake.files) >= self.caps.files:
            intake.refuse(rel, f"more than {self.caps.files} files (--max-files)")
            return
        source = open_regular(path, intake, rel)
        if source is not None:
            with source:
                why = size_problem(os.fstat(source.fileno()).st_size, intake)
                if why:
                    intake.refuse(rel, why)
                else:
                    self.archive.mkdir(parents=True, exist_ok=True)
                    write_capped(source, self.archive / rel, rel, intake)

    def add_zip(self, path, folder):
        """Extract the members of a zip that name a student into archive/FOLDER/, checking each
        member's name and type before reading it (never extractall)."""
        holder = Intake(self.caps)
        source = open_regular(path, holder, path.name)
        if source is None:
            self.unnamed += holder.refused
            return
        try:
            with source, zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    self.add_member(archive, info, folder)
        except (zipfile.BadZipFile, OSError, EOFError) as problem:
            self.unnamed.append(f"refused {shown(path.name)}: not a readable zip ({problem})")

    def add_member(self, archive, info, folder):
        parts = member_parts(info)
        if info.is_dir() or not parts:
            return
        rel = "/".join([folder, *parts])
        why = member_problem(info)
        if why is None and len(parts) > self.caps.depth:
            why = f"folders nested more than {self.caps.depth} deep"
        intake = self.intake_for(rel)
        if why:
            self.refuse(rel, why, display=info.filename)
        elif intake is not None:
            if len(intake.files) >= self.caps.files:
                intake.refuse(rel, f"more than {self.caps.files} files (--max-files)")
            else:
                extract_member(archive, info, self.archive / rel, intake, rel)
