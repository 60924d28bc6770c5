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
