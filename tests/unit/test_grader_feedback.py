"""The grader's inert-feedback preprocessors (src/matchbox/grader/feedback.py), on cells alone."""

import json

from nbformat.v4 import new_code_cell, new_output

from matchbox.grader.feedback import SafeOutputs, active_content, as_code_block, hide
from tests.support.course import SOLUTIONS, assignments, load, notebooks, text


def test_feedback_helpers():
    """Hidden-test blocks become one notice; unsafe output types are reduced to text."""
    source = "a = 1\n    ### BEGIN HIDDEN TESTS\n    assert secret\n    ### END HIDDEN TESTS\nb = 2"
    assert hide(source) == "a = 1\n    # (hidden tests: not shown)\nb = 2"
    cell = new_code_cell("x", outputs=[
        new_output("display_data", data={"text/html": "<script>alert(1)</script>",
                                         "application/javascript": "alert(1)",
                                         "text/plain": "<IPython.core.display.HTML object>"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload='alert(1)'/>"}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo="})])
    cell, _ = SafeOutputs().preprocess_cell(cell, {}, 0)
    assert [sorted(o["data"]) for o in cell.outputs] == [["text/plain"], ["text/plain"], ["image/png"]]
    assert "script" not in json.dumps(cell.outputs) and "onload" not in json.dumps(cell.outputs)


def test_safe_markdown_helpers():
    """Is active HTML in markdown found and shown as text, and the course's own markdown left alone?"""
    for markdown in ("<script>x()</script>", "<img src=x onerror=x()>", "[a](javascript:x())",
                     "<a href='java\tscript:x()'>a</a>", "<svg onload=x()>", "<iframe src=x>",
                     "<div style='background:url(javascript:x)'>a</div>", "<style>a{}</style>"):
        why = active_content(markdown)
        assert why, markdown
        assert active_content(as_code_block(markdown, why)) is None, markdown
    assert active_content("a < b, `<script>` in code, <b>bold</b>, [a](https://x.org)") is None
    assert as_code_block("```\n<x>\n```", "a x tag").count("````") == 2  # a longer fence
    checked = 0
    for assignment in assignments():
        for path in notebooks(SOLUTIONS / assignment):
            for cell in load(path)["cells"]:
                if cell["cell_type"] == "markdown":
                    assert active_content(text(cell)) is None, (path.name, text(cell)[:200])
                    checked += 1
    assert checked > 20  # the course was there to check


def test_hidden_tests_leave_no_trace_in_a_traceback():
    """A visible check that fails just above the hidden block: IPython's traceback quotes the lines
    around it. Feedback keeps the failing line and the message, and drops every hidden line."""
    import nbformat
    from nbclient import NotebookClient

    from matchbox.grader.feedback import HideHiddenTests

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("def f(x):\n    return x + 1\n"),
                nbformat.v4.new_code_cell(
                    "# Tests for f (1 point)\nassert f(2) == 4, f'f(2) gave {f(2)}, expected 4'\n"
                    "### BEGIN HIDDEN TESTS\nsecret_value = 12345\nassert f(secret_value) == 5, 'hidden'\n"
                    "### END HIDDEN TESTS\n"),
                nbformat.v4.new_code_cell(
                    "### BEGIN HIDDEN TESTS\nanother_secret = 777\nassert f(another_secret) == 1, 'no'\n"
                    "### END HIDDEN TESTS\n")]
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60).execute()
    raw = json.dumps([cell.outputs for cell in nb.cells])
    assert "12345" in raw and "another_secret" in raw  # IPython did quote them: the check can fail
    for index, cell in enumerate(nb.cells):
        HideHiddenTests().preprocess_cell(cell, {}, index)
    shown = json.dumps([[cell.source, cell.outputs] for cell in nb.cells])
    for secret in ("12345", "secret_value", "another_secret", "777", "HIDDEN TESTS"):
        assert secret not in shown, f"{secret!r} is still in the feedback: {shown}"
    assert "f(2) gave 3, expected 4" in shown and "hidden tests: not shown" in shown
    assert "assert" in "".join(nb.cells[1].outputs[0]["traceback"])  # the failing visible line stays
