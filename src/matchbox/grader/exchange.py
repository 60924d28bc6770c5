"""The nbgrader exchange as the grader reads it: our own copies of the genuine submissions.

A participant writes their own inbound submission, so it may hold anything a Jupyter terminal can
make: symbolic links to the course's solutions or gradebook, hard links, FIFOs, gigabytes.
`nbgrader collect` copies with shutil and follows links, inside the instructor's server; so it
never sees the inbound folder itself. screen() builds a scratch exchange holding, per student,
the newest submission copied by grader/intake.py (regular files only, within the caps), and
collect reads that.

On the hub every server runs as uid 1000, so nbgrader cannot tell who wrote a submission; each
participant's server has a group of its own instead, recorded by the hub in COURSE/roster.json
(docs/room.md). A submission whose group is not its name's was made from someone else's server
(`nbgrader submit --student NAME`): it is left out of the collection, and reported.
"""

import json
import os
import re
import stat
from collections import defaultdict

from matchbox.grader import intake

RANDOM = re.compile(r"[A-Za-z0-9_=-]{0,64}")  # nbgrader's urlsafe base64 suffix


def screen(root, course_id, assignment, scratch, caps=intake.Caps()):
    """An exchange root holding copies of the newest genuine submission of each student, and
    {student: [notes]} about what was left out or refused (a student with notes and no copy
    gets a FAILED row)."""
    roster_file = root / course_id / "roster.json"
    roster = json.loads(roster_file.read_text(encoding="utf-8")) if roster_file.is_file() else None
    screened = scratch / "exchange"
    inbound = screened / course_id / "inbound"
    inbound.mkdir(parents=True)
    for name in ("outbound", "feedback"):
        if (root / course_id / name).is_dir():
            (screened / course_id / name).symlink_to(root / course_id / name)
    notes = defaultdict(list)
    newest = {}
    authors = None if roster is None else {gid: name for name, gid in roster.items()}
    for entry in sorted(os.scandir(root / course_id / "inbound"), key=lambda e: e.name):
        parsed = parse_entry(entry.name, assignment)
        if parsed is None:
            continue  # another assignment's
        student, rest = parsed
        when_text, _, suffix = rest.partition("+")
        when = submitted_at(when_text)
        problem = entry_problem(entry, student, when_text, when, suffix, roster, authors)
        if problem:
            intake.note(notes[intake.shown(student)], problem)
            continue
        if student not in newest or when > newest[student][0]:
            newest[student] = (when, entry.name)
    for student, (_, name) in sorted(newest.items()):  # only the newest is read, as collect would
        copied = intake.copy_submission(root / course_id / "inbound" / name, inbound / name, caps,
                                        label=name)
        for text in copied.refused:
            intake.note(notes[student], text)
    return screened, dict(notes)


def parse_entry(name, assignment):
    """(student, timestamp text) of an inbound entry of this assignment, else None. nbgrader names
    them STUDENT+ASSIGNMENT+TIME[+RANDOM]; split on the assignment, so a '+' in the student part
    is seen (and refused) instead of the entry being skipped."""
    marker = f"+{assignment}+"
    if marker not in name:
        return None
    student, _, rest = name.partition(marker)
    return student, rest


def entry_problem(entry, student, when_text, when, suffix, roster, authors):
    """Why an inbound entry of this assignment is not collected, or None. when: its time as
    collect reads it (None: unreadable); authors: the roster's {group: name}."""
    problem = intake.name_problem(student, strict=True)
    if problem:
        return problem
    if not RANDOM.fullmatch(suffix) or when is None:
        return f"refused {intake.shown(entry.name, spaces=True)}: not a submission name nbgrader makes"
    info = entry.stat(follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        return (f"refused {intake.shown(entry.name, spaces=True)}: the submission itself is "
                f"{intake.kind(info.st_mode)}")
    if roster is not None and roster.get(student) != info.st_gid:
        author = (f"{authors[info.st_gid]}'s server" if info.st_gid in authors
                  else f"an unknown server (group {info.st_gid})")
        return f"ignored a submission from {author} made at {intake.shown(when_text, spaces=True)}"
    return None


def submitted_at(text):
    """The timestamp as nbgrader collect reads it, or None where it cannot (a name collect
    cannot parse would stop the whole collection)."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None
