"""Run one exercise's visible tests against an answer a learner might write.

    outcome = check("04-mnist-mlp", "test_softmax", '''
    def softmax(a):
        e = np.exp(a)                       # forgot to subtract the maximum
        return e / e.sum(axis=-1, keepdims=True)
    ''')
    assert not outcome.passed and "overflow" in outcome.message

What runs, in order, in one fresh namespace:
1. the solution notebook's imports, functions and classes (benchmarks.reference.load), then the
   statements of every answer cell (an answer can be a value: `outputs_a = [0, 1, 1, 1]`; one
   that needs a name from the notebook's other statements is skipped), so every
   exercise other than the one under test holds a right answer, as in a learner's notebook where
   only one thing is wrong;
2. `setup`: what the test cell needs from the notebook's plain statements (data, a trained net);
3. the answer under test, which replaces the right one;
4. the visible test cell exactly as the participant gets it in handson/ (no hidden tests).

The outcome says whether the visible tests passed and, if not, the message the learner reads and
the line the traceback ends on: a test that fails in its own clean-up, or with an empty message,
teaches nothing.
"""

import ast
import functools
import json
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

from benchmarks import reference

ROOT = Path(__file__).resolve().parents[2]
HANDSON = ROOT / "handson"


@dataclass
class Outcome:
    passed: bool
    error: str = ""         # the exception's type name, "" when the tests passed
    message: str = ""       # str(exception): what the learner reads after the type
    last_line: str = ""     # the source line the traceback ends on, stripped
    in_test_cell: bool = False   # does the traceback end in the test cell itself?

    def __str__(self):
        if self.passed:
            return "passed"
        where = "the test cell" if self.in_test_cell else "code outside the test cell"
        return f"{self.error}: {self.message}\n  (ends in {where} at: {self.last_line})"


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _grading(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@functools.lru_cache(maxsize=None)
def visible_test(assignment, test_grade_id):
    """The source of the test cell TEST_GRADE_ID as handson/ gives it to participants."""
    notebook = HANDSON / assignment / f"{assignment}.ipynb"
    for cell in _cells(notebook):
        if _grading(cell).get("grade_id") == test_grade_id:
            return "".join(cell["source"])
    raise KeyError(f"{notebook} has no cell with grade_id {test_grade_id!r}")


@functools.lru_cache(maxsize=None)
def _answer_cells(assignment):
    notebook = reference.SOLUTIONS / assignment / f"{assignment}.ipynb"
    return [(index, "".join(cell["source"])) for index, cell in enumerate(_cells(notebook))
            if cell["cell_type"] == "code" and _grading(cell).get("solution")]


def right_answers(assignment):
    """A namespace holding the solution's definitions and every answer cell, run top to bottom."""
    module = reference.load(assignment)
    namespace = dict(module.__dict__)
    for index, source in _answer_cells(assignment):
        # statement by statement: one that needs the notebook's plain statements (a name
        # defined outside the answer cells) is left to the mistakes test's setup
        for statement in ast.parse(source).body:
            code = compile(ast.Module([statement], type_ignores=[]), f"{module.__file__} (cell {index})", "exec")
            try:
                exec(code, namespace)
            except NameError:
                pass
    return namespace


def check(assignment, test_grade_id, answer_source, setup=""):
    """Run the visible test TEST_GRADE_ID with ANSWER_SOURCE in place of the right answer."""
    namespace = right_answers(assignment)
    test_file = f"<visible test {assignment} {test_grade_id}>"
    test_source = visible_test(assignment, test_grade_id)
    try:
        if setup:
            exec(compile(textwrap.dedent(setup), "<setup>", "exec"), namespace)
        exec(compile(textwrap.dedent(answer_source), "<answer>", "exec"), namespace)
        exec(compile(test_source, test_file, "exec"), namespace)
    except Exception as error:  # noqa: BLE001 - every failure is an outcome
        last = traceback.extract_tb(error.__traceback__)[-1]
        if last.filename == test_file:
            line = test_source.splitlines()[last.lineno - 1].strip()
        else:
            line = (last.line or "").strip()
        return Outcome(False, type(error).__name__, str(error), line, last.filename == test_file)
    return Outcome(True)


def caught(outcome, says=None):
    """The assertion a mistakes test makes: the tests failed, and said something useful. With SAYS,
    also: a check of the test cell reported it (not the learner's own code), in words holding SAYS."""
    assert not outcome.passed, "the visible tests passed this wrong answer"
    assert outcome.message.strip(), f"the visible tests failed with an empty message: {outcome}"
    assert "finally" not in outcome.last_line, f"the traceback ends in clean-up code: {outcome}"
    if says is not None:
        assert outcome.in_test_cell, f"the failure was not reported by a check: {outcome}"
        assert says in outcome.message, f"the message does not say {says!r}: {outcome}"
    return outcome


def case_ids(cases):
    """pytest ids for (name, ...) tuples: the name of each mistake."""
    return [case[0] for case in cases]


def accepted(outcome):
    assert outcome.passed, f"the visible tests rejected a right answer: {outcome}"
    return outcome

