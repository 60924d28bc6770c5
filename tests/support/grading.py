"""Helpers for the grader's tests (test_grade.py, test_grade_intake.py) and benchmarks/grading.py:
a course folder, the grader run as the instructor runs it, its closing table and its records."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.course import ROOT, SOLUTIONS

ASSIGNMENT = "00-welcome"
NAME = "00-welcome.ipynb"
# the console script of the Python running the tests (.venv has the distribution installed)
GRADE = Path(sys.executable).parent / "matchbox-grade"


def make_course(tmp, assignments=(ASSIGNMENT,)):
    """A course folder with the repository's nbgrader config, these assignments' sources and
    their Japanese catalogues (ja/translations: feedback in Japanese), as the instructor image
    lays it out."""
    course = tmp / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "ja" / "translations").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for assignment in assignments:
        shutil.copytree(SOLUTIONS / assignment, course / "solutions" / assignment)
        catalogue = ROOT / "ja" / "translations" / f"{assignment}.po"
        if catalogue.is_file():
            shutil.copy2(catalogue, course / "ja" / "translations")
    return course


def run_grade(course, submissions, *extra, assignment=ASSIGNMENT, timeout=600):
    """matchbox-grade ASSIGNMENT on these submissions (None: add --from-exchange yourself), with
    its records written next to the course; the finished process, its .records added."""
    records = course.parent / f"grade-{assignment}.json"
    records.unlink(missing_ok=True)
    source = ["--submissions", str(submissions)] if submissions is not None else []
    done = subprocess.run([str(GRADE), assignment, *source, "--course", str(course),
                           "--json", str(records), *extra],
                          capture_output=True, text=True, timeout=timeout)
    done.records = json.loads(records.read_text()) if records.is_file() else None
    return done


def table(done):
    """The closing table as {student: the row's text}."""
    rows = {}
    for line in done.stdout.splitlines()[1:]:
        student, _, result = line.partition(" ")
        rows[student] = result.strip()
    return rows
