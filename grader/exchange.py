"""The nbgrader exchange as the grader reads it: only submissions made from their own name's server.

On the hub every server runs as uid 1000, so nbgrader cannot tell who wrote a submission; each
participant's server has a group of its own instead, recorded by the hub in COURSE/roster.json
(docs/room.md). A submission whose group is not its name's was made from someone else's server
(`nbgrader submit --student NAME`): it is left out of the collection, and reported.
"""

import json
from collections import defaultdict
from pathlib import Path


def screen(root, course_id, assignment, scratch):
    """An exchange root holding only the genuine submissions of the assignment (links to them),
    and {student: [notes]} about the ones left out. Without a roster: the exchange as it is."""
    roster_file = root / course_id / "roster.json"
    if not roster_file.is_file():
        return root, {}
    roster = json.loads(roster_file.read_text(encoding="utf-8"))
    names = {gid: name for name, gid in roster.items()}
    screened = scratch / "exchange"
    inbound = screened / course_id / "inbound"
    inbound.mkdir(parents=True)
    for name in ("outbound", "feedback"):
        if (root / course_id / name).is_dir():
            (screened / course_id / name).symlink_to(root / course_id / name)
    notes = defaultdict(list)
    for entry in sorted((root / course_id / "inbound").iterdir()):
        parts = entry.name.split("+")
        if len(parts) < 3 or parts[1] != assignment:
            continue
        student, when, gid = parts[0], parts[2], entry.stat().st_gid
        if roster.get(student) != gid:
            author = names.get(gid, f"an unknown server (group {gid})")
            author = f"{author}'s server" if gid in names else author
            notes[student].append(f"ignored a submission from {author} made at {when}")
            continue
        (inbound / entry.name).symlink_to(entry)
    return screened, dict(notes)
