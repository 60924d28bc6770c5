"""Where a participant is in a notebook, read from the notebook they saved; nothing is run.

An exercise is one autograded test cell (nbgrader `grade` with points, not a solution) with the
answer cells (nbgrader `solution`) above it since the previous test cell; its name is the test
cell's grade_id. Its state, from the saved file:

  failing    the test cell's saved outputs hold an error
  passing    the test cell ran (it has an execution count) without an error
  started    it has not run, but an answer cell differs from the notebook as handed out
  untouched  neither

"As handed out" is nbgrader's own record: generate_assignment stores each answer cell's checksum
in its metadata (nbgrader.utils.compute_checksum, reproduced by `checksum` below and checked
against it in tests/unit/test_room_progress.py), so both the English and the Japanese edition
tell on themselves without the source notebook. Outputs are what the participant last ran: an
answer edited after its test ran keeps the test's last verdict until the test runs again.
"""

import hashlib

UNTOUCHED, STARTED, PASSING, FAILING = "untouched", "started", "passing", "failing"
STATES = (UNTOUCHED, STARTED, PASSING, FAILING)


def _text(source):
    return "".join(source) if isinstance(source, list) else source or ""


def _grading(cell):
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def is_answer(cell):
    return bool(_grading(cell).get("solution"))


def is_test(cell):
    meta = _grading(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def checksum(cell):
    """nbgrader's compute_checksum of a cell: its source, type, flags, grade_id and points."""
    meta = _grading(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    locked = False if solution else (True if grade else bool(meta.get("locked")))
    digest = hashlib.md5()
    for part in (_text(cell.get("source")), cell.get("cell_type", ""), str(grade), str(solution),
                 str(locked), meta.get("grade_id", "")):
        digest.update(part.encode("utf-8"))
    if grade:
        digest.update(str(float(meta.get("points", 0))).encode("utf-8"))
    return digest.hexdigest()


def changed(cell):
    """True when an answer cell is no longer what was handed out (no record: assume changed)."""
    recorded = _grading(cell).get("checksum")
    return recorded is None or recorded != checksum(cell)


def test_state(cell):
    """failing, passing, or None (not run) from a test cell's saved outputs."""
    if any(output.get("output_type") == "error" for output in cell.get("outputs") or ()):
        return FAILING
    return PASSING if cell.get("execution_count") is not None else None


def exercises(notebook):
    """{test cell grade_id: state}, in the notebook's order."""
    found, answers = {}, []
    for cell in notebook.get("cells", ()):
        if is_answer(cell):
            answers.append(cell)
        elif is_test(cell):
            state = test_state(cell)
            if state is None:
                state = STARTED if any(changed(answer) for answer in answers) else UNTOUCHED
            found[_grading(cell).get("grade_id", f"cell-{len(found)}")] = state
            answers = []
    return found


def language(notebook):
    """The notebook's language (matchbox.language in its metadata; English without one)."""
    return ((notebook.get("metadata") or {}).get("matchbox") or {}).get("language", "en")
