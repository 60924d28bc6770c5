"""Preprocessors that keep the feedback and the formgrader honest and inert.

HideHiddenTests (feedback): nbgrader's feedback shows the autograded notebook, whose test
cells were restored from the gradebook with their hidden tests (nbgrader issue 917). The
hidden blocks are replaced by one comment line; the pass/fail and points stay.

SafeOutputs (autograde and feedback): a student's outputs are kept as text and images only;
HTML, JavaScript, widgets and SVG (which can carry script) are replaced by their text/plain
form, so nothing a student printed runs when the feedback or the formgrader is opened.
"""

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
NOTICE = "# (hidden tests: not shown)"
SAFE = ("text/plain", "image/png", "image/jpeg", "image/gif")


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


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and BEGIN in cell.source:
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
