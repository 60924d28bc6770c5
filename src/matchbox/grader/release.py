"""Feedback back to the participants: nbgrader's release_feedback into the exchange.

    scripts/grade ASSIGNMENT --from-exchange --release-feedback   # grade, then release
    scripts/grade ASSIGNMENT --release-feedback                   # release what was graded

nbgrader copies each student's COURSE/feedback/STUDENT/ASSIGNMENT/NOTEBOOK.html to
EXCHANGE/COURSE_ID/feedback/HASH.html, HASH made from the submission's secret
(submission_secret.txt, written by `nbgrader submit` into the submission and the participant's
own cache). A participant's assignment list ("Fetch Feedback") finds the file by that hash and
copies it into their ASSIGNMENT/feedback/TIMESTAMP/; on the hub the feedback folder cannot be
listed by participants, so the hash is what keeps one participant from another's feedback. The
HTML is released as generated: its score, and its language (a Japanese submission's feedback is
in Japanese, language.py). Only a submission that came through the exchange has a secret: one
graded from a folder or a zip cannot be released, and is named with the reason.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

SECRET = "submission_secret.txt"  # nbgrader submit's; release_feedback reads it and timestamp.txt


@dataclass
class Released:
    """What one release did: {student: shown score} released, {student: why not} held back."""

    released: dict = field(default_factory=dict)
    held: dict = field(default_factory=dict)


def feedback_root(course):
    """The exchange's feedback folder of the course (nbgrader's layout)."""
    return Path(course.exchange) / course.course_id / "feedback"


def check(course):
    """SystemExit naming the fix when feedback cannot be released from here at all."""
    root = Path(course.exchange)
    if not (root / course.course_id).is_dir():
        raise SystemExit(
            f"grade: --release-feedback: no nbgrader exchange for course {course.course_id!r} at {root} "
            f"(Exchange.root, CourseDirectory.course_id). Release from the hub's instructor server, "
            f"where participants fetch from; elsewhere set c.Exchange.root in "
            f"{course.root / 'nbgrader_config.py'} to the exchange the participants use.")
    target = feedback_root(course)
    if not os.access(target if target.is_dir() else target.parent, os.W_OK | os.X_OK):
        raise SystemExit(
            f"grade: --release-feedback: cannot write to {target}: only the instructor may release "
            f"feedback (on the hub: the instructor's server, in the instructor group).")


def feedback_folder(course, student, assignment):
    coursedir = CourseDirectory(config=course.config, root=str(course.root))
    return Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))


def graded_students(course, assignment):
    """The students with generated feedback for the assignment, sorted."""
    top = feedback_folder(course, "*", assignment).parent.parent
    if not top.is_dir():
        return []
    return sorted(entry.name for entry in os.scandir(top)
                  if (Path(entry.path) / assignment).is_dir() and not entry.name.startswith("."))


def problem(folder):
    """Why the feedback in folder cannot be released, or None."""
    if not any(folder.glob("*.html")):
        return "no feedback HTML (grade it first)"
    for name in ("timestamp.txt", SECRET):
        if not (folder / name).is_file():
            return (f"its feedback has no {name}: graded from a folder or zip, not from the exchange "
                    f"(hand out {folder}/*.html another way)")
    return None


def score(course, assignment, student):
    """'7/11' from the gradebook, or '' when the gradebook has no such submission."""
    if course.db_url.startswith("sqlite:///") and not course.db_path.is_file():
        return ""  # not graded here: no gradebook to create
    with Gradebook(course.db_url, course.course_id) as gradebook:
        try:
            sub = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return ""
        return f"{sub.score:g}/{sub.max_score:g}"


def release(course, assignment, students, log):
    """nbgrader release_feedback (NbGraderAPI, as the formgrader's button does), one student at a
    time so that one student's problem holds back only theirs."""
    api = NbGraderAPI(config=course.config,
                      coursedir=CourseDirectory(config=course.config, root=str(course.root)))
    done = Released()
    for student in students:
        why = problem(feedback_folder(course, student, assignment))
        if why is None:
            outcome = api.release_feedback(assignment, student)
            if not outcome["success"]:
                text = (outcome.get("log", "") + outcome.get("error", "")).strip().splitlines()
                why = "nbgrader release_feedback failed: " + (text[-1] if text else "no output")[-300:]
        if why is None:
            done.released[student] = score(course, assignment, student)
            log(f"{student}: feedback released ({done.released[student] or 'no score'})")
        else:
            done.held[student] = why
            log(f"{student}: nothing released: {why}")
    return done


def unsubmitted(course, known):
    """The hub's participants (the exchange's roster.json, when the instructor can read it) with
    no row among the names known, sorted."""
    roster = Path(course.exchange) / course.course_id / "roster.json"
    try:
        names = json.loads(roster.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return sorted(set(names) - set(known))
