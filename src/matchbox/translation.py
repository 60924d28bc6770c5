"""Editions of the course in other languages, made from the English source and a catalogue.

English in solutions/ is the only source. A language's catalogue is one gettext PO file per
notebook (ja/translations/NAME.po), edited with any PO editor or by hand. Its entries are keyed
by the cell's id (msgctxt) and the English text (msgid):

- a markdown or raw cell is one text: the whole cell;
- a code cell's texts are its comments (a block of comment-only lines is one text, a comment
  after code another) and its string literals that hold words (adjacent literals, which Python
  joins, are one text, written as Python source: quotes, f-prefix, {placeholders} and all).

Everything else in a code cell is never translated: a Japanese cell is the English cell with its
texts replaced, so the code, the test logic and the line a check is on stay the English ones by
construction. A translation must keep the kind of its text (comment lines stay comments, a
literal stays literals with the same {placeholders}); translate() reports any that does not.

    python -m matchbox.translation update ja [NAME ...]   add new English texts to the catalogues
                                                          (old translations kept, changed ones
                                                          marked fuzzy with the old English)
    python -m matchbox.translation check ja [NAME ...]    exit 1 listing every cell whose English
                                                          changed after its translation or that has
                                                          none (scripts/generate --check runs it)
"""

import argparse
import ast
import copy
import io
import json
import re
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polib

ROOT = Path.cwd()  # the command line works on the checkout it is run in
LANGUAGES = {"en": "English", "ja": "日本語"}
# Lines nbgrader reads: never translated, never moved.
MARKERS = re.compile(r"^\s*###\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\s*$")
PRAGMAS = re.compile(r"^#\s*(noqa|type:|pragma|pylint|fmt:)")
WORDS = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Text:
    """One translatable text of a cell: its kind, its English source and where it is in the cell
    (character offsets; indent is the block's, for comment blocks)."""

    kind: str  # "markdown", "comment", "inline-comment" or "string"
    source: str
    start: int
    end: int
    indent: str = ""


@dataclass
class Report:
    """What is wrong with a catalogue for one notebook; empty when it is complete and current."""

    untranslated: list = field(default_factory=list)  # (cell label, English text)
    stale: list = field(default_factory=list)  # (cell label, old English, new English)
    invalid: list = field(default_factory=list)  # (cell label, English, problem)

    def __bool__(self):
        return bool(self.untranslated or self.stale or self.invalid)

    def lines(self, name):
        out = []
        for label, old, new in self.stale:
            was, now = where_they_differ(old, new)
            out.append(f"{name} {label}: the English changed after its translation:\n"
                       f"      was: {was}\n      now: {now}")
        for label, text in self.untranslated:
            out.append(f"{name} {label}: no translation for {short(text)}")
        for label, text, problem in self.invalid:
            out.append(f"{name} {label}: the translation of {short(text)} {problem}")
        return out


def short(text, width=90):
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[:width - 1] + "…")


def where_they_differ(old, new, before=30, width=90):
    """Both texts shown from a little before their first difference (white space made one)."""
    old, new = " ".join(old.split()), " ".join(new.split())
    same = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    start = max(0, same - before)
    show = lambda text: repr(("…" if start else "") + text[start:start + width]  # noqa: E731
                             + ("…" if len(text) > start + width else ""))
    return show(old), show(new)


def cell_source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def cell_label(cell):
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {cell.get('id')}" + (f" ({grade_id})" if grade_id else "")


# ---- finding the texts ----------------------------------------------------------------------------

def texts(cell):
    """The translatable texts of a cell, in order."""
    source = cell_source(cell)
    if cell.get("cell_type") in ("markdown", "raw"):
        return [Text("markdown", source, 0, len(source))] if WORDS.search(source) else []
    if cell.get("cell_type") != "code" or not source.strip():
        return []
    return code_texts(source)


def offsets(source):
    """Character offset of the start of each line (1-based rows, as tokenize counts them)."""
    starts, total = [0, 0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def tokens_of(source):
    """tokenize's tokens with f-strings as one token (Python 3.12 splits them), or [] when the
    cell is not Python (IPython magics)."""
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    merged, depth, start = [], 0, None
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    for token in raw:
        if fstring_start is not None and token.type == fstring_start:
            depth += 1
            start = start or token
            continue
        if depth:
            if token.type == fstring_end:
                depth -= 1
                if not depth:
                    merged.append(tokenize.TokenInfo(tokenize.STRING, "", start.start, token.end, ""))
                    start = None
            continue
        merged.append(token)
    return merged


# Calls whose text argument a person reads even when it is one word (a plot's title, an axis,
# a legend entry, a printed line): method or function name -> the argument's position.
SHOWN_ARGUMENTS = {"title": 0, "set_title": 0, "suptitle": 0, "xlabel": 0, "ylabel": 0,
                   "set_xlabel": 0, "set_ylabel": 0, "text": 2, "annotate": 0, "print": None,
                   "show_table": 0}  # 00-welcome's table: its header, a list of words
SHOWN_KEYWORDS = {"label", "title", "xlabel", "ylabel"}


def shown_literals(source):
    """(line, column) of each literal the cell shows a person as text whatever its length: the
    arguments of SHOWN_ARGUMENTS (every one of print's), the values of SHOWN_KEYWORDS."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    lines = source.splitlines()
    found = set()

    def add(node):
        if isinstance(node, (ast.List, ast.Tuple)):  # a header: each of its words
            for element in node.elts:
                add(element)
        elif isinstance(node, (ast.Constant, ast.JoinedStr)) and literal_words(node) is not None:
            column = len(lines[node.lineno - 1].encode()[:node.col_offset].decode(errors="replace"))
            found.add((node.lineno, column))

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name in SHOWN_ARGUMENTS:
            position = SHOWN_ARGUMENTS[name]
            for arg in (node.args if position is None else node.args[position:position + 1]):
                add(arg)
        for keyword in node.keywords:
            if keyword.arg in SHOWN_KEYWORDS:
                add(keyword.value)
    return found


def code_texts(source):
    starts = offsets(source)
    at = lambda point: starts[point[0]] + point[1]  # noqa: E731
    lines = source.splitlines()
    shown = shown_literals(source)
    found = []
    tokens = tokens_of(source)
    index = 0
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    while index < len(tokens):
        token = tokens[index]
        if token.type == tokenize.COMMENT:
            whole_line = lines[token.start[0] - 1][:token.start[1]].strip() == ""
            if not whole_line:
                if translatable_comment(token.string):
                    found.append(Text("inline-comment", token.string, at(token.start), at(token.end)))
                index += 1
                continue
            # a block: comment-only lines at the same column, one after another
            block = [token]
            look = index + 1
            while look < len(tokens):
                nxt = tokens[look]
                if nxt.type in (tokenize.NL, tokenize.NEWLINE):
                    look += 1
                    continue
                if (nxt.type == tokenize.COMMENT and nxt.start[0] == block[-1].start[0] + 1
                        and nxt.start[1] == token.start[1]
                        and lines[nxt.start[0] - 1][:nxt.start[1]].strip() == ""
                        and not MARKERS.match(nxt.string) and not MARKERS.match(block[-1].string)):
                    block.append(nxt)
                    look += 1
                    continue
                break
            if any(translatable_comment(t.string) for t in block):
                begin, end = at(block[0].start), at(block[-1].end)
                found.append(Text("comment", source[begin:end], begin, end,
                                  indent=" " * token.start[1]))
            index = look
            continue
        if token.type == tokenize.STRING:
            group = [token]
            look = index + 1
            while look < len(tokens) and tokens[look].type in skip | {tokenize.STRING}:
                if tokens[look].type == tokenize.STRING:
                    group.append(tokens[look])
                elif tokens[look].type == tokenize.NEWLINE:
                    break
                look += 1
            begin, end = at(group[0].start), at(group[-1].end)
            text = source[begin:end]
            if translatable_literal(text, shown=group[0].start in shown):
                found.append(Text("string", text, begin, end))
            index = index + 1 if len(group) == 1 else tokens.index(group[-1], index) + 1
            continue
        index += 1
    return found


def translatable_comment(comment):
    return bool(WORDS.search(comment)) and not MARKERS.match(comment) and not PRAGMAS.match(comment)


def literal_words(node):
    """The constant text of a str literal expression (f-string placeholders left out), or None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def parse_literal(text):
    try:
        return ast.parse("(\n" + text + "\n)", mode="eval").body
    except SyntaxError:
        return None


def translatable_literal(text, shown=False):
    """Words for a person: two letters in a row and a space. Keys, names, formats and paths
    ("relu", "C0", "%.2f", "data/x.npz") have no space and stay as they are; a literal shown as
    text (shown_literals) needs no space: one word ("separable", "loss") will do."""
    words = literal_words(parse_literal(text))
    return words is not None and bool(WORDS.search(words)) and (shown or " " in words.strip())


def placeholders(node):
    """The f-string placeholders of a literal, as comparable strings."""
    if not isinstance(node, ast.JoinedStr):
        return Counter()
    return Counter(ast.dump(v) for v in node.values if isinstance(v, ast.FormattedValue))


# ---- applying a translation -------------------------------------------------------------------

def check_translation(text, translation):
    """None when TRANSLATION may stand in for TEXT, else what is wrong with it."""
    if text.kind == "markdown":
        return None
    if text.kind in ("comment", "inline-comment"):
        lines = translation.split("\n")
        if text.kind == "inline-comment" and len(lines) > 1:
            return "must stay on one line (it follows code)"
        if any(not line.strip().startswith("#") for line in lines):
            return "must be comment lines, each starting with #"
        if any(MARKERS.match(line) for line in lines):
            return "must not hold nbgrader's ### BEGIN/END lines"
        return None
    node = parse_literal(translation)
    if literal_words(node) is None:
        return "is not a Python string literal (quotes, f-prefix, escapes?)"
    if not literal_words(node).strip():
        return "is empty: a message must still say something"
    if placeholders(node) != placeholders(parse_literal(text.source)):
        return "must keep the same {placeholders} as the English"
    return None


def lookup(catalogue, cell_id, text):
    """The current translation of text in cell cell_id (else of the same text in any cell: a
    submission's cell may have a new id): an entry neither fuzzy nor obsolete."""
    entry = catalogue.get((cell_id, text)) or catalogue.get((None, text))
    if entry is None or not entry.msgstr or "fuzzy" in entry.flags or entry.obsolete:
        return None
    return entry.msgstr


def translate_cell(cell, catalogue, report):
    """A copy of cell with every text that has a valid translation replaced (others left in
    English and listed in report)."""
    cell = copy.deepcopy(cell)
    source = cell_source(cell)
    pieces, last = [], 0
    for text in texts(cell):
        translation = lookup(catalogue, cell.get("id"), text.source)
        if translation is None:
            report.untranslated.append((cell_label(cell), text.source))
            continue
        problem = check_translation(text, translation)
        if problem:
            report.invalid.append((cell_label(cell), text.source, problem))
            continue
        if text.kind == "comment":
            translation = "\n".join(text.indent + line.strip() if i else line.strip()
                                    for i, line in enumerate(translation.split("\n")))
        pieces.append(source[last:text.start])
        pieces.append(translation)
        last = text.end
    pieces.append(source[last:])
    translated = "".join(pieces)
    if cell.get("cell_type") == "code" and tokens_of(source) and not tokens_of(translated):
        report.invalid.append((cell_label(cell), source, "breaks the cell's Python"))
        translated = source
    # in the form the English had: a list of lines (as Jupyter writes it) or one string
    cell["source"] = translated.splitlines(keepends=True) if isinstance(cell.get("source"), list) else translated
    return cell


def read_catalogue(path):
    """{(cell id, English): entry} of a PO file; {} when there is none."""
    path = Path(path)
    if not path.is_file():
        return {}
    catalogue = {}
    for entry in polib.pofile(str(path)):
        catalogue[(entry.msgctxt, entry.msgid)] = entry
        if entry.msgstr and "fuzzy" not in entry.flags:
            catalogue.setdefault((None, entry.msgid), entry)
    return catalogue


def translate_notebook(notebook, catalogue, language):
    """(the notebook in LANGUAGE, Report): every cell translated where the catalogue can; the
    notebook's metadata says its language (matchbox.language), which the grader reads."""
    report = Report()
    translated = copy.deepcopy(notebook)
    translated["cells"] = [translate_cell(cell, catalogue, report) for cell in notebook["cells"]]
    translated.setdefault("metadata", {})["matchbox"] = {"language": language}
    find_stale(notebook, catalogue, report)
    return translated, report


def find_stale(notebook, catalogue, report):
    """Entries whose English is no longer in their cell: pair each with an untranslated text of
    the same cell (the one it most likely became)."""
    current = {(cell.get("id"), text.source) for cell in notebook["cells"] for text in texts(cell)}
    labels = {cell.get("id"): cell_label(cell) for cell in notebook["cells"]}
    missing = {}
    for label, text in report.untranslated:
        missing.setdefault(label, []).append(text)
    for (cell_id, english), entry in catalogue.items():
        if cell_id is None or (cell_id, english) in current or entry.obsolete or not entry.msgstr:
            continue
        if "fuzzy" in entry.flags:
            continue
        label = labels.get(cell_id, f"cell {cell_id} (no longer in the notebook)")
        new = missing.get(label, [])
        report.stale.append((label, english, new.pop(0) if new else "(gone)"))
    if report.stale:
        stale_new = {(label, new) for label, _, new in report.stale}
        report.untranslated[:] = [u for u in report.untranslated if u not in stale_new]


def language_of(notebook):
    return notebook.get("metadata", {}).get("matchbox", {}).get("language", "en")


# ---- keeping catalogues up to date --------------------------------------------------------------

def update_catalogue(notebook, path, language):
    """Add the notebook's new English texts to the PO file at path (made if missing), the way
    msgmerge does: translations of unchanged texts kept, a changed text's old translation kept
    as a fuzzy suggestion with the old English beside it, texts gone marked obsolete."""
    path = Path(path)
    po = polib.pofile(str(path)) if path.is_file() else polib.POFile(wrapwidth=0)
    po.wrapwidth = 0
    po.metadata = {
        "Project-Id-Version": "matchbox",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        **{k: v for k, v in po.metadata.items() if k == "Language-Team"},
    }
    old = {(e.msgctxt, e.msgid): e for e in po}
    by_cell = {}
    for e in po:
        by_cell.setdefault(e.msgctxt, []).append(e)
    entries, used = [], set()
    for cell in notebook["cells"]:
        cell_texts = texts(cell)
        for position, text in enumerate(cell_texts):
            key = (cell.get("id"), text.source)
            if key in old:
                entry = old[key]
                entry.obsolete = False
            else:
                entry = polib.POEntry(msgctxt=cell.get("id"), msgid=text.source, msgstr="")
                guess = similar(by_cell.get(cell.get("id"), []), text, position, cell_texts, used)
                if guess is not None and guess.msgstr:
                    entry.msgstr = guess.msgstr
                    entry.flags.append("fuzzy")
                    entry.previous_msgid = guess.previous_msgid if "fuzzy" in guess.flags and \
                        guess.previous_msgid else guess.msgid
            entry.comment = f"{cell_label(cell)}, {text.kind}"
            entries.append(entry)
            used.add((entry.msgctxt, entry.msgid))
    fresh = polib.POFile(wrapwidth=0)
    fresh.metadata = po.metadata
    fresh.header = f"{LANGUAGES.get(language, language)} translation of the matchbox notebook {path.stem}."
    for entry in entries:
        fresh.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh.save(str(path))
    return fresh


def similar(candidates, text, position, cell_texts, used):
    """The old entry of the same cell a changed text most likely was: the same position among
    the cell's texts of the same kind, not still in use."""
    current = {t.source for t in cell_texts}
    free = [e for e in candidates if e.msgid not in current and (e.msgctxt, e.msgid) not in used]
    if not free:
        return None
    same_kind = [e for e in free if (e.comment or "").endswith(text.kind)] or free
    return same_kind[0] if position >= 0 else None


# ---- the command line ------------------------------------------------------------------------------

def catalogue_path(root, language, name):
    return Path(root) / language / "translations" / f"{name}.po"


def source_notebook(root, name):
    return Path(root) / "solutions" / name / f"{name}.ipynb"


def assignments(root):
    return sorted(p.name for p in (Path(root) / "solutions").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def check(root, language, names):
    """The problem lines of every named notebook's catalogue ([] when all are current)."""
    lines = []
    for name in names:
        notebook = json.loads(source_notebook(root, name).read_text(encoding="utf-8"))
        path = catalogue_path(root, language, name)
        if not path.is_file():
            lines.append(f"{name}: no catalogue {path.relative_to(root)}")
            continue
        _, report = translate_notebook(notebook, read_catalogue(path), language)
        lines += report.lines(name)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m matchbox.translation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["update", "check"])
    parser.add_argument("language", choices=sorted(set(LANGUAGES) - {"en"}))
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    names = args.names or assignments(args.root)
    if args.command == "update":
        for name in names:
            notebook = json.loads(source_notebook(args.root, name).read_text(encoding="utf-8"))
            po = update_catalogue(notebook, catalogue_path(args.root, args.language, name), args.language)
            todo = len([e for e in po if not e.msgstr or "fuzzy" in e.flags])
            print(f"{catalogue_path(args.root, args.language, name).relative_to(args.root)}: "
                  f"{len(po)} texts, {todo} to translate or review")
        return 0
    lines = check(args.root, args.language, names)
    for line in lines:
        print(line)
    if lines:
        print(f"Fix: python -m matchbox.translation update {args.language}, translate the entries "
              "left empty or marked fuzzy in the catalogues named, then scripts/generate.")
        return 1
    print(f"{args.language} translations are complete and current ({', '.join(names)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
