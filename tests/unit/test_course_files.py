"""The course's committed notebooks, read without running anything: no outputs, student versions
that hide the solutions and hidden tests, the grading conventions. Generic over the assignment
folders of solutions/ (tests/test_course.py runs them)."""

import ast
import re

import pytest

from tests.support.course import (
    HANDSON,
    MARKERS,
    ROOT,
    SOLUTIONS,
    all_notebooks,
    assignments,
    executed_cells,
    exercises,
    is_answer,
    is_test,
    load,
    meta,
    notebooks,
    secret_lines,
    text,
)

ASSIGNMENTS = assignments()


@pytest.mark.parametrize("path", all_notebooks(SOLUTIONS) + all_notebooks(HANDSON),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_without_outputs(path):
    """Is this notebook free of outputs and execution counts, as committed notebooks must be?"""
    cells = executed_cells(load(path))
    assert not cells, (f"{path.relative_to(ROOT)}: code cells {cells} carry outputs or execution "
                       "counts; clear them (Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_handson_hides_solutions_and_hidden_tests(assignment):
    """Does the student version carry no solution or hidden-test marker and none of the code
    lines of the solutions and hidden tests?"""
    students = notebooks(HANDSON / assignment)
    assert [p.name for p in students] == [p.name for p in notebooks(SOLUTIONS / assignment)], \
        f"handson/{assignment} does not have the source's notebooks: run scripts/generate"
    for student in students:
        raw = student.read_text(encoding="utf-8")
        leaked = [marker for marker in MARKERS if marker in raw]
        assert not leaked, f"{student.relative_to(ROOT)} contains {leaked}"
        secrets = secret_lines(load(SOLUTIONS / assignment / student.name))
        lines = {line.strip() for cell in load(student)["cells"] for line in text(cell).splitlines()}
        shown = sorted(lines & secrets)
        assert not shown, f"{student.relative_to(ROOT)} shows solution or hidden-test lines: {shown}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_follows_the_grading_conventions(assignment):
    """Does each answer cell have its own test cells with points that the first line states,
    under the python3 kernel, with unique grade ids?"""
    for path in notebooks(SOLUTIONS / assignment):
        nb = load(path)
        where = path.relative_to(ROOT)
        assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{where}: kernel"
        found = exercises(nb)
        assert found, f"{where} has no graded exercise"
        first_answer = next(i for i, cell in enumerate(nb["cells"]) if is_answer(cell))
        assert not any(is_test(cell) for cell in nb["cells"][:first_answer]), \
            f"{where}: a test cell comes before the first answer cell"
        ids = [meta(c)["grade_id"] for c in nb["cells"] if meta(c).get("grade_id")]
        assert len(ids) == len(set(ids)), f"{where}: duplicate grade ids"
        for answer, tests in found:
            assert tests, f"{where}: answer cell {answer} has no test cell before the next answer"
            for cell in tests:
                points = meta(cell).get("points")
                first = text(cell).splitlines()[0] if text(cell) else ""
                assert points and points > 0, f"{where}: {meta(cell)['grade_id']} has no points"
                assert first.startswith("#") and f"({points:g} point" in first, (
                    f"{where}: {meta(cell)['grade_id']} should open with "
                    f"'# Tests for ... ({points:g} points)', not {first!r}")


# ---- Validate tells the truth: messages, core/stretch marks, hints ------------------------------

EXERCISE_HEADING = re.compile(r"^### (?P<star>★ )?Exercise (?P<number>\d+)[:·] .+ \((?P<points>\d+) points?"
                              r"(?P<stretch>, stretch)?\)\s*$", re.MULTILINE)


def silent_checks(source):
    """Lines of a test cell whose failure would print a bare message: an `assert` without one,
    or an np.testing.assert_* call without err_msg."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and node.msg is None:
            found.append(f"line {node.lineno}: assert without a message")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr.startswith("assert_")
              and "testing" in ast.unparse(node.func.value)
              and not any(keyword.arg == "err_msg" for keyword in node.keywords)):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)} without err_msg")
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_says_what_failed(assignment):
    """Does every check of every test cell, visible and hidden, fail with a sentence rather
    than a bare AssertionError?"""
    for path in notebooks(SOLUTIONS / assignment):
        silent = {meta(cell)["grade_id"]: found for cell in load(path)["cells"]
                  if is_test(cell) and (found := silent_checks(text(cell)))}
        assert not silent, f"{path.relative_to(ROOT)}: checks that would fail without a sentence: {silent}"


def exercise_markdown(nb, word="Exercise"):
    """{answer grade_id: the markdown from its exercise heading (### ... WORD) to the answer cell}."""
    found, pending = {}, []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            if "### " in text(cell) and word in text(cell):
                pending = []
            pending.append(text(cell))
        elif is_answer(cell):
            found[meta(cell)["grade_id"]] = "\n".join(pending)
            pending = []
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_is_marked_core_or_stretch_and_has_one_hint(assignment):
    """Does each exercise's heading say its points and whether it is core or stretch (★), and
    does its text hold exactly one collapsed hint for learners working alone?"""
    for path in notebooks(SOLUTIONS / assignment):
        nb = load(path)
        where = path.relative_to(ROOT)
        for answer, tests in exercises(nb):
            markdown = exercise_markdown(nb).get(answer, "")
            heading = EXERCISE_HEADING.search(markdown)
            assert heading, (f"{where}: the exercise of {answer} needs a heading '### Exercise N: title "
                             f"(P points)' or '### ★ Exercise N: title (P points, stretch)'")
            assert bool(heading["star"]) == bool(heading["stretch"]), \
                f"{where}: {heading[0]!r} marks a stretch exercise with both ★ and ', stretch', or neither"
            points = sum(meta(cell)["points"] for cell in tests)
            assert int(heading["points"]) == points, f"{where}: {heading[0]!r} but its tests give {points:g}"
            hints = re.findall(r"<details>\s*<summary>.*?</summary>.*?</details>", markdown, re.DOTALL)
            assert len(hints) == 1, f"{where}: the exercise of {answer} has {len(hints)} <details> hints, not 1"
