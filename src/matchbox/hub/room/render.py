"""A participant's notebook as the instructor sees it in the room view: read-only and inert.

Markdown is shown as its source text (never rendered as HTML), code as text, outputs as the
grader keeps them (matchbox.safe_outputs: text and PNG/JPEG/GIF images; everything else by its
text/plain form, colour codes dropped). Every text goes through Jinja's autoescaping and an image
is shown only if its data is plain base64, so nothing a participant wrote or printed runs in the
instructor's browser (the page's Content-Security-Policy allows no inline script either).
"""

import base64
import binascii
import os

import jinja2

from matchbox.hub.room import progress
from matchbox.safe_outputs import ANSI, SAFE

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def _text(value):
    return ANSI.sub("", "".join(value) if isinstance(value, list) else value or "")


def _image(mime, data):
    """A data: URL for base64 image data, or None if it is not plain base64."""
    data = "".join(data) if isinstance(data, list) else data
    try:
        base64.b64decode(data.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        return None
    return f"data:{mime};base64,{data.replace(chr(10), '')}"


def output(out):
    """One output as {"kind": "text"|"image"|"error", "text"/"src"}."""
    kind = out.get("output_type")
    if kind == "stream":
        return {"kind": "text", "text": _text(out.get("text")), "stream": out.get("name", "stdout")}
    if kind == "error":
        trace = out.get("traceback") or [f"{out.get('ename')}: {out.get('evalue')}"]
        return {"kind": "error", "text": "\n".join(_text(line) for line in trace)}
    data = out.get("data") or {}
    for mime in (mime for mime in SAFE if mime.startswith("image/")):
        if mime in data:
            src = _image(mime, data[mime])
            if src:
                return {"kind": "image", "src": src}
    return {"kind": "text", "text": _text(data.get("text/plain", "")), "stream": "result"}


def cells(notebook, states):
    """The notebook's cells for the template: kind, source, outputs, and for exercises their
    grade_id and state (states: progress.exercises of the notebook)."""
    shown = []
    for cell in notebook.get("cells", ()):
        grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        shown.append({
            "kind": cell.get("cell_type", "code"),
            "source": _text(cell.get("source")),
            "outputs": [output(out) for out in cell.get("outputs") or ()],
            "grade_id": grade_id,
            "role": "test" if progress.is_test(cell) else "answer" if progress.is_answer(cell) else "",
            "state": states.get(grade_id) if progress.is_test(cell) else None,
        })
    return shown


def page(name, assignment, path, notebook, prefix):
    states = progress.exercises(notebook)
    return ENVIRONMENT.get_template("notebook.html").render(
        name=name, assignment=assignment, path=path, cells=cells(notebook, states), prefix=prefix,
        states=states)
