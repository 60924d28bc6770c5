"""The Japanese edition (ja/), read without running anything: the same notebooks, cells, grade
ids, points and code as the English source, every markdown cell in Japanese, and the grading
conventions in their Japanese form (演習 headings, ヒント, test cells that state their points).
scripts/generate --check (tests/test_course.py) keeps it in step with solutions/."""

import ast
import re

import pytest

from matchbox import translation
from tests.support.course import (
    JA_HANDSON,
    JA_SOLUTIONS,
    MARKERS,
    ROOT,
    SOLUTIONS,
    all_notebooks,
    assignments,
    executed_cells,
    exercises,
    is_test,
    load,
    meta,
    notebooks,
    secret_lines,
    text,
)
from tests.unit.test_course_files import exercise_markdown, silent_checks
from tests.unit.test_translation import masked

ASSIGNMENTS = assignments()
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana and kanji
HEADING = re.compile(r"^### (?P<star>★ )?演習 (?P<number>\d+)[:：] .+"
                     r"[（(](?P<points>\d+) 点(?P<stretch>・発展)?[）)]\s*$", re.MULTILINE)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_notebook_has_a_japanese_twin(assignment):
    """Same notebooks, same cells in the same order with the same ids, types, nbgrader metadata
    (grade ids, points, locks) and code, in the solution and the student version."""
    for path in notebooks(SOLUTIONS / assignment):
        english = load(path)
        for folder in (JA_SOLUTIONS, JA_HANDSON):
            twin_path = folder / assignment / path.name
            assert twin_path.is_file(), f"{twin_path.relative_to(ROOT)} is missing: run scripts/generate"
        japanese = load(JA_SOLUTIONS / assignment / path.name)
        where = f"ja/solutions/{assignment}/{path.name}"
        assert japanese["metadata"].get("matchbox") == {"language": "ja"}, where
        assert [(c["id"], c["cell_type"], meta(c)) for c in japanese["cells"]] == \
               [(c["id"], c["cell_type"], meta(c)) for c in english["cells"]], f"{where}: cells differ"
        for en, ja in zip(english["cells"], japanese["cells"]):
            if en["cell_type"] == "code" and not text(en).startswith("%"):
                assert masked(text(en)) == masked(text(ja)), f"{where} {translation.cell_label(en)}: code differs"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_markdown_cell_is_in_japanese(assignment):
    for path in notebooks(JA_SOLUTIONS / assignment):
        english = [c for c in load(SOLUTIONS / assignment / path.name)["cells"]]
        for en, ja in zip(english, load(path)["cells"]):
            if ja["cell_type"] == "markdown" and translation.texts(en):
                assert JAPANESE.search(text(ja)), \
                    f"ja/solutions/{assignment} {translation.cell_label(ja)} is not in Japanese: {text(ja)[:80]!r}"


@pytest.mark.parametrize("path", all_notebooks(JA_SOLUTIONS) + all_notebooks(JA_HANDSON),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_japanese_notebook_is_committed_without_outputs(path):
    assert not executed_cells(load(path)), f"{path.relative_to(ROOT)} carries outputs: run scripts/generate"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_japanese_student_version_hides_solutions_and_hidden_tests(assignment):
    for student in notebooks(JA_HANDSON / assignment):
        raw = student.read_text(encoding="utf-8")
        assert not [m for m in MARKERS if m in raw], f"{student.relative_to(ROOT)} holds nbgrader markers"
        secrets = secret_lines(load(JA_SOLUTIONS / assignment / student.name))
        cells = [text(cell).splitlines() for cell in load(student)["cells"]]
        lines = {line.strip() for cell in cells for line in cell}
        assert not sorted(lines & secrets), f"{student.relative_to(ROOT)} shows solution or hidden-test lines"
        stubs = [cell[i - 1].strip() for cell in cells for i, line in enumerate(cell)
                 if line.strip() == "raise NotImplementedError()"]
        stub = "# ここにあなたのコードを書きます"
        assert stubs and set(stubs) == {stub}, \
            f"{student.relative_to(ROOT)}: nbgrader's stubs should read {stub!r}, not {set(stubs)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_japanese_exercises_keep_the_conventions(assignment):
    """演習 headings with the points (and ・発展 for ★), one ヒント each, test cells that open
    with their points, and every check with a message."""
    for path in notebooks(JA_SOLUTIONS / assignment):
        nb = load(path)
        where = path.relative_to(ROOT)
        for answer, tests in exercises(nb):
            markdown = exercise_markdown(nb, word="演習").get(answer, "")
            heading = HEADING.search(markdown)
            assert heading, (f"{where}: the exercise of {answer} needs a heading '### 演習 N: 題（P 点）' "
                             "or '### ★ 演習 N: 題（P 点・発展）'")
            assert bool(heading["star"]) == bool(heading["stretch"]), f"{where}: {heading[0]!r}"
            points = sum(meta(cell)["points"] for cell in tests)
            assert int(heading["points"]) == points, f"{where}: {heading[0]!r} but its tests give {points:g}"
            hints = re.findall(r"<details>\s*<summary>ヒント</summary>.*?</details>", markdown, re.DOTALL)
            assert len(hints) == 1, f"{where}: the exercise of {answer} has {len(hints)} ヒント, not 1"
            for cell in tests:
                first = text(cell).splitlines()[0]
                assert first.startswith("#") and f"{meta(cell)['points']:g} 点" in first, \
                    f"{where}: {meta(cell)['grade_id']} should open with '# … のテスト（P 点）', not {first!r}"
        silent = {meta(c)["grade_id"]: found for c in nb["cells"] if is_test(c) and (found := silent_checks(text(c)))}
        assert not silent, f"{where}: {silent}"


def test_a_japanese_test_message_is_never_empty():
    """Every translated message of a test cell still has words (a check that fails says why)."""
    for path in all_notebooks(JA_SOLUTIONS):
        for cell in load(path)["cells"]:
            if not is_test(cell):
                continue
            for node in ast.walk(ast.parse(text(cell))):
                if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant):
                    assert str(node.msg.value).strip(), f"{path.stem} {meta(cell)['grade_id']}: empty message"
