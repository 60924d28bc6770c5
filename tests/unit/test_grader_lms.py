"""grade --export moodle|canvas: the gradebook as the CSV Moodle's and Canvas's gradebook imports
read (src/matchbox/grader/lms.py), written by the real nbgrader ExportApp from a real gradebook."""

import csv
import os

import pytest
from nbgrader.api import Gradebook

from matchbox.grader import cli
from tests.support.course import BIN

POINTS = {"07-transfer-learning": 12.0, "08-data-parallel": 10.0}


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder whose gradebook has three students: one graded (late, 1 point off), one
    with a Japanese name and no e-mail who submitted 08 only, one who submitted nothing."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")  # the gradebook runs alembic
    with Gradebook(f"sqlite:///{tmp_path}/gradebook.db") as gb:
        for name, points in POINTS.items():
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            gb.add_grade_cell("test_one", name, name, max_score=points, cell_type="code")
        gb.add_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.org", lms_user_id="4711")
        gb.add_student("taro", first_name="太郎", last_name="山田")
        gb.add_student("idle")
        for student, assignment, score, penalty in [("ada", "07-transfer-learning", 9.5, 1.0),
                                                    ("ada", "08-data-parallel", 10.0, 0.0),
                                                    ("taro", "08-data-parallel", 7.25, 0.0)]:
            gb.add_submission(assignment, student)
            gb.find_grade("test_one", assignment, assignment, student).auto_score = score
            gb.find_submission_notebook(assignment, assignment, student).late_submission_penalty = penalty
        gb.db.commit()
    return tmp_path


def rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_canvas_export_has_canvas_columns_points_possible_and_logins(course):
    """Canvas's columns in its order, a Points Possible row, the student found by ID or SIS
    Login ID, scores after the late penalty, and an empty cell (not 0) where nothing was submitted."""
    assert cli.main(["--export", "canvas", "--course", str(course)]) == 0
    table = rows(course / "grades-canvas.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *POINTS]
    assert table[1] == ["Points Possible", "", "", "", "", "12", "10"]
    assert table[2:] == [["Lovelace, Ada", "4711", "", "ada", "", "8.5", "10"],
                         ["idle", "", "", "idle", "", "", ""],
                         ["山田, 太郎", "", "", "taro", "", "", "7.25"]]


def test_moodle_export_maps_users_by_username_email_or_id_number(course, tmp_path):
    """Moodle's columns (Username, Email address, ID number, names), one per assignment, decimal
    points; --csv chooses the file."""
    out = tmp_path / "for-moodle.csv"
    assert cli.main(["--export", "moodle", "--course", str(course), "--csv", str(out)]) == 0
    table = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [row["Username"] for row in table] == ["ada", "idle", "taro"]
    assert table[0] == {"Username": "ada", "Email address": "ada@example.org", "ID number": "4711",
                        "First name": "Ada", "Last name": "Lovelace",
                        "07-transfer-learning": "8.5", "08-data-parallel": "10"}
    assert table[2]["First name"] == "太郎" and table[2]["07-transfer-learning"] == ""
    assert all(float(row["08-data-parallel"] or 0) <= POINTS["08-data-parallel"] for row in table)


def test_exporting_without_an_assignment_needs_a_format(course, capsys):
    with pytest.raises(SystemExit, match="--export moodle or --export canvas"):
        cli.main(["--course", str(course)])
    assert not (course / "grades.csv").exists()
