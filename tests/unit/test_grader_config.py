"""How the grader configures nbgrader (src/matchbox/grader/config.py) and reports (cli.Result):
traitlets Config objects, handed to each student's process as JSON; results as records."""

import json

import pytest
from nbconvert.preprocessors import Preprocessor
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.utils.importstring import import_item

from matchbox.grader import cli, config, run
from matchbox.grader.sandbox import SandboxExecute, SandboxKernelManager

KERNEL = dict(image="matchbox:x", memory="1g", cpus=1.0, pids=64, wall_s=30, run_label="r1",
              service_socket="")


def student(tmp_path):
    return config.student_config(tmp_path, course_id="matchbox", cell_timeout=60,
                                 max_output_bytes=1000, max_lines=10, kernel=KERNEL)


def test_a_students_config_survives_json(tmp_path):
    """What run.py reads is what the grader built, and nbgrader's classes take it."""
    built = student(tmp_path)
    read = config.read_config(config.write_config(built, tmp_path / "c.json"))
    assert read == built and json.loads((tmp_path / "c.json").read_text())["Execute"]["timeout"] == 60
    coursedir = CourseDirectory(config=read)
    assert (coursedir.root, coursedir.source_directory, coursedir.db_url) == (
        str(tmp_path), "source", f"sqlite:///{tmp_path / 'gradebook.db'}")
    km = SandboxKernelManager(config=read)
    assert (km.image, km.memory, km.pids, km.wall_s, km.run_label) == ("matchbox:x", "1g", 64, 30, "r1")
    execute = SandboxExecute(config=read)
    assert (execute.timeout, execute.max_output_bytes, execute.deaths_file) == (
        60, 1000, str(tmp_path / config.DEATHS))
    autograde = Autograde(coursedir=coursedir, config=read)
    assert autograde.autograde_preprocessors[0] == "matchbox.grader.sandbox.SandboxExecute"
    feedback = GenerateFeedback(coursedir=coursedir, config=read)
    for name in autograde.autograde_preprocessors + feedback.preprocessors:
        assert issubclass(import_item(name), Preprocessor), name  # exporters import them by name


def test_the_course_is_read_by_nbgraders_loader(tmp_path, monkeypatch):
    """The course folder's nbgrader_config.py counts, the grader's working folder's does not."""
    course, elsewhere = tmp_path / "course", tmp_path / "elsewhere"
    course.mkdir(), elsewhere.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.source_directory = 'solutions'\n"
        "c.CourseDirectory.course_id = 'matchbox'\nc.Execute.timeout = 42\n"
        "c.Exchange.root = '/srv/x'\n")
    (elsewhere / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 7\n")
    monkeypatch.chdir(elsewhere)
    read = config.load_course(course)
    assert (read.source, read.course_id, read.cell_timeout, read.exchange) == (
        "solutions", "matchbox", 42, "/srv/x")
    assert read.db_path == course / "gradebook.db"
    assert config.overridden(read.config, Execute={"timeout": 1}).Execute.timeout == 1
    assert read.config.Execute.timeout == 42  # overridden() copies


def test_results_are_records_and_rows(capsys):
    results = [cli.Result("ada", "00", score=8.0, max_score=8.0, notes=["graded a as b"], seconds=3),
               cli.Result("bea", "00", error="no notebook submitted", notes=["refused x: a FIFO"])]
    cli.print_table(results)
    assert capsys.readouterr().out.splitlines() == [
        "student  result", "ada      8/8  (graded a as b)",
        "bea      FAILED: no notebook submitted; refused x: a FIFO"]


def test_bad_options_are_refused_before_grading(capsys):
    with pytest.raises(SystemExit):
        cli.parse(["00-welcome", "--memory", "lots"])
    assert "'lots' is not a size" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="usage"):
        run.main(["only-one-argument"])
