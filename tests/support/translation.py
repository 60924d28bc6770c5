"""A pseudo-translation for tests: every text of a catalogue "translated" into marked English
(【ja】 inserted), keeping each kind's rules, so an edition can be built and run before (and
independently of) the real Japanese."""

import io
import tokenize

import polib

from matchbox import translation

MARK = "【ja】"


def pseudo(text):
    """A valid translation of one Text: markdown and comments marked; a literal's first string
    token marked just inside its opening quote."""
    if text.kind == "markdown":
        return MARK + text.source
    if text.kind in ("comment", "inline-comment"):
        return "\n".join("# " + MARK + line.strip().lstrip("#").strip()
                         for line in text.source.split("\n"))
    first = next(t for t in tokenize.generate_tokens(io.StringIO(text.source).readline)
                 if t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_START", -1))
    literal = first.string
    prefix = len(literal) - len(literal.lstrip("rRbBfFuU"))
    quote = 3 if literal[prefix:prefix + 3] in ('"""', "'''") else 1
    cut = len(text.source[:first.start[1]]) + prefix + quote if first.start[0] == 1 else None
    if cut is None:
        return text.source
    return text.source[:cut] + MARK + text.source[cut:]


def pseudo_catalogue(notebook, path, language="ja"):
    """Write the PO file at path with every text of notebook pseudo-translated."""
    po = translation.update_catalogue(notebook, path, language)
    texts = {(cell.get("id"), t.source): t for cell in notebook["cells"] for t in translation.texts(cell)}
    for entry in po:
        entry.msgstr = pseudo(texts[(entry.msgctxt, entry.msgid)])
    po.save(str(path))
    return polib.pofile(str(path))
