"""Preprocessors that keep the feedback and the formgrader honest and inert.

HideHiddenTests (feedback): nbgrader's feedback shows the autograded notebook, whose test
cells were restored from the gradebook with their hidden tests (nbgrader issue 917). The
hidden blocks are replaced by one comment line; the pass/fail and points stay. A traceback
quotes the lines around the failing one (IPython's context), so a visible check that fails just
above a hidden block would show its first lines: those context lines go too, by their line
number in that cell's frame, and any other traceback line that quotes a hidden line verbatim.

SafeOutputs (autograde and feedback): a student's outputs are kept as text and images only;
HTML, JavaScript, widgets and SVG (which can carry script) are replaced by their text/plain
form, so nothing a student printed runs when the feedback or the formgrader is opened.

SafeMarkdown (autograde, last, and feedback): nbgrader's formgrade and feedback templates
render markdown cells with markdown2html and no clean_html, whatever HTMLExporter.sanitize_html
says. A markdown cell whose HTML would hold anything active (a tag outside ALLOWED, an on*
attribute, a javascript: link) is shown as its source in a code block instead: nothing runs,
nothing is lost. It runs after the scores are saved, so grading is unchanged.
"""

import re
from html.parser import HTMLParser

from nbgrader.preprocessors import NbGraderPreprocessor

from matchbox.safe_outputs import ANSI, SAFE

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
NOTICE = "# (hidden tests: not shown)"


def hide(source):
    """The source with every hidden-test block (markers included) replaced by NOTICE."""
    kept, depth = [], 0
    for line in source.splitlines():
        if BEGIN in line:
            if depth == 0:
                kept.append(line[:len(line) - len(line.lstrip())] + NOTICE)
            depth += 1
        elif END in line and depth:
            depth -= 1
        elif depth == 0:
            kept.append(line)
    return "\n".join(kept)


CONTEXT_LINE = re.compile(r"^\s*(?:-*>\s*)?(\d+)(?: (.*))?$")  # '----> 12 code' or '     11 code'
CARETS = re.compile(r"^\s*[\^~]+\s*$")  # Python's markers under the failing expression


def hidden_lines(source):
    """{line number (1-based): stripped text} of the hidden blocks of SOURCE, markers included."""
    found, depth = {}, 0
    for number, line in enumerate(source.splitlines(), 1):
        if BEGIN in line:
            depth += 1
        if depth:
            found[number] = line.strip()
        if END in line and depth:
            depth -= 1
    return found


def scrub_traceback_entry(entry, hidden, this_cell):
    """ENTRY (one frame of an IPython traceback, ANSI-coloured) without the hidden lines it quotes.

    In THIS_CELL's own frame a context line is known by its number; in any frame, a line whose
    code is a hidden line verbatim (at least 8 characters) goes too."""
    secret = {text for text in hidden.values() if len(text) >= 8}
    kept, dropped_last = [], False
    for line in entry.split("\n"):
        plain = ANSI.sub("", line)
        context = CONTEXT_LINE.match(plain)
        code = (context.group(2) or "").strip() if context else plain.strip()
        drop = (context and this_cell and int(context.group(1)) in hidden) or code in secret
        if drop:
            if not dropped_last:
                kept.append("    " + NOTICE)
            dropped_last = True
        elif dropped_last and CARETS.match(plain):
            continue
        else:
            kept.append(line)
            dropped_last = False
    return "\n".join(kept)


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and BEGIN in cell.source:
            hidden = hidden_lines(cell.source)
            frame = re.compile(rf"^Cell In\[{cell.get('execution_count')}\],")
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        scrub_traceback_entry(entry, hidden, bool(frame.match(ANSI.sub("", entry))))
                        for entry in output.get("traceback", [])]
            cell.source = hide(cell.source)
        return cell, resources


class SafeOutputs(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            data = output.get("data")
            if output.get("output_type") in ("display_data", "execute_result") and data:
                unsafe = [mime for mime in data if mime not in SAFE]
                for mime in unsafe:
                    del data[mime]
                if unsafe and "text/plain" not in data and not data:
                    data["text/plain"] = f"[{', '.join(unsafe)} output removed]"
                output.get("metadata", {}).pop("application/vnd.jupyter.widget-view+json", None)
        return cell, resources


ALLOWED = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
           "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p",
           "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
           "thead", "tr", "u", "ul"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}
SAFE_URL = re.compile(r"^(https?:|mailto:|attachment:|data:image/(png|jpeg|gif);|#|[^:]*$)")


class ActiveContent(HTMLParser):
    """Finds the first tag or attribute in an HTML fragment that could run something."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = None

    def handle_starttag(self, tag, attrs):
        if self.found:
            return
        word = lambda text: re.sub(r"[^a-z0-9:-]", "", text.lower())[:30]  # noqa: E731
        if tag not in ALLOWED:
            self.found = f"a {word(tag)} tag"
        for name, value in attrs:
            url = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on") or name == "style" and "url(" in url or (
                    name in URL_ATTRIBUTES and not SAFE_URL.match(url)):
                self.found = self.found or f"an unsafe {word(name)} attribute on {word(tag)}"

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        if "[if" in data.lower():  # conditional comments
            self.found = self.found or "a conditional comment"


def active_content(markdown):
    """What in this markdown would be active once rendered as nbgrader renders it (None: nothing)."""
    from nbconvert.filters import markdown2html

    finder = ActiveContent()
    finder.feed(markdown2html(markdown))
    finder.close()
    return finder.found


def as_code_block(source, why):
    """The source verbatim in a fenced code block (a fence longer than any run of backticks in it)."""
    fence = "`" * max([3] + [len(run) + 1 for run in re.findall(r"`+", source)])
    return f"*Shown as text by the grader: this cell's HTML had {why}.*\n\n{fence}\n{source}\n{fence}"


class SafeMarkdown(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            why = active_content(cell.source)
            if why:
                cell.source = as_code_block(cell.source, why)
        return cell, resources
