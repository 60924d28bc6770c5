"""matchbox.translation: which texts of a notebook are translated, how a translation is put in,
what it may not change, and how a catalogue follows the English (update, stale, check)."""

import ast
import json

import pytest

from matchbox import translation
from tests.support.course import SOLUTIONS, all_notebooks, load
from tests.support.translation import MARK, pseudo, pseudo_catalogue


def code(source, cell_id="c1"):
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}


CELL = code(
    "# Tests for f (2 points)\n"
    "# two lines of one comment block\n"
    "import numpy as np\n"
    "x = np.zeros((2, 3), dtype=\"float32\")  # (2, 3) zeros\n"
    "assert x.shape == (2, 3), (\n"
    "    f\"expected shape (2, 3), got {x.shape!r} \"\n"
    "    \"after the call\")\n"
    "### BEGIN HIDDEN TESTS\n"
    "assert f(x, mode=\"same\") is not None, \"f returned None for mode same\"\n"
    "### END HIDDEN TESTS\n")


def test_texts_are_words_not_code():
    """Comment blocks, trailing comments and worded literals; keys, dtypes and nbgrader's
    marker lines are not texts."""
    found = [(t.kind, t.source) for t in translation.texts(CELL)]
    assert found == [
        ("comment", "# Tests for f (2 points)\n# two lines of one comment block"),
        ("inline-comment", "# (2, 3) zeros"),
        ("string", 'f"expected shape (2, 3), got {x.shape!r} "\n    "after the call"'),
        ("string", '"f returned None for mode same"'),
    ], found


class Mask(ast.NodeTransformer):
    """Every str constant made "", an f-string reduced to its placeholders, sorted: a translation
    may reorder them, as Japanese word order often needs (check_translation keeps the set)."""

    def visit_Constant(self, node):
        return ast.Constant("") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node):
        values = sorted((self.visit(v) for v in node.values if isinstance(v, ast.FormattedValue)), key=ast.dump)
        return ast.JoinedStr(values) if values else ast.Constant("")


def masked(source):
    """The cell's code with its words taken out: what a translation may not change."""
    return ast.dump(Mask().visit(ast.parse(source)))


@pytest.mark.parametrize("path", all_notebooks(SOLUTIONS), ids=lambda p: p.stem)
def test_a_translated_cell_runs_the_same_code(path, tmp_path):
    """Translated with every text changed, does every code cell of the course keep its code,
    its nbgrader marker lines and its line structure where nbgrader looks?"""
    nb = load(path)
    pseudo_catalogue(nb, tmp_path / "x.po")
    translated, report = translation.translate_notebook(nb, translation.read_catalogue(tmp_path / "x.po"), "ja")
    assert not report, report.lines(path.stem)
    assert translated["metadata"]["matchbox"] == {"language": "ja"}
    changed = 0
    for before, after in zip(nb["cells"], translated["cells"]):
        source, new = translation.cell_source(before), translation.cell_source(after)
        changed += source != new
        if before["cell_type"] != "code" or source.startswith("%"):
            continue
        assert masked(source) == masked(new), f"{translation.cell_label(before)}: code changed"
        marks = lambda s: [line.strip() for line in s.splitlines() if translation.MARKERS.match(line)]  # noqa: E731
        assert marks(source) == marks(new), translation.cell_label(before)
    assert changed > len(nb["cells"]) // 2


@pytest.mark.parametrize("kind, english, bad, says", [
    ("comment", "# add the bias", "bias を足す", "each starting with #"),
    ("inline-comment", "# zeros", "# ゼロ\n# 二行目", "one line"),
    ("comment", "# add the bias", "# ok\n### BEGIN SOLUTION", "BEGIN/END"),
    ("string", 'f"got {x!r}"', 'f"{y!r} でした"', "same {placeholders}"),
    ("string", 'f"got {x!r}"', 'f"でした"', "same {placeholders}"),
    ("string", '"shape is wrong"', "形状が違います", "not a Python string literal"),
    ("string", '"shape is wrong"', '"形状が違います" + x', "not a Python string literal"),
])
def test_a_translation_that_would_change_the_program_is_refused(kind, english, bad, says):
    """Is a translation that is not of its text's kind (a comment that is code, a literal with
    other placeholders or an expression) refused with the reason?"""
    problem = translation.check_translation(translation.Text(kind, english, 0, len(english)), bad)
    assert problem and says in problem, problem


def test_a_refused_translation_leaves_the_english(tmp_path):
    nb = {"cells": [CELL], "metadata": {}}
    po = translation.update_catalogue(nb, tmp_path / "x.po", "ja")
    for entry in po:
        entry.msgstr = "no hash here" if entry.msgid.startswith("# Tests") else ""
    po.save(str(tmp_path / "x.po"))
    translated, report = translation.translate_notebook(nb, translation.read_catalogue(tmp_path / "x.po"), "ja")
    assert translated["cells"][0]["source"] == CELL["source"]
    assert [problem for _, _, problem in report.invalid] == ["must be comment lines, each starting with #"]
    assert len(report.untranslated) == 3


def test_update_keeps_translations_and_marks_changed_english_fuzzy(tmp_path):
    """When the English of a translated text changes, does `update` keep the old translation as
    a fuzzy suggestion with the old English, and does the check say the cell changed, was/now?"""
    path = tmp_path / "x.po"
    md = {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "## The neuron\n\nA neuron adds."}
    nb = {"cells": [md, CELL], "metadata": {}}
    pseudo_catalogue(nb, path)
    translated, report = translation.translate_notebook(nb, translation.read_catalogue(path), "ja")
    assert not report and translated["cells"][0]["source"].startswith(MARK)

    md["source"] = "## The neuron\n\nA neuron adds its inputs."
    _, report = translation.translate_notebook(nb, translation.read_catalogue(path), "ja")
    lines = report.lines("01-x")
    assert len(lines) == 1 and "01-x cell m1: the English changed after its translation" in lines[0]
    assert "was: '## The neuron A neuron adds.'" in lines[0]
    assert "now: '## The neuron A neuron adds its inputs.'" in lines[0]

    po = translation.update_catalogue(nb, path, "ja")
    entry = next(e for e in po if e.msgctxt == "m1")
    assert "fuzzy" in entry.flags and entry.previous_msgid == "## The neuron\n\nA neuron adds."
    assert entry.msgstr.startswith(MARK)
    translated, report = translation.translate_notebook(nb, translation.read_catalogue(path), "ja")
    assert translated["cells"][0]["source"] == md["source"]  # a fuzzy entry is not used
    assert report.lines("01-x") == ["01-x cell m1: no translation for '## The neuron A neuron adds its inputs.'"]


def test_code_only_changes_need_no_new_translation(tmp_path):
    """A change to the code around the texts is carried into the edition as it is."""
    path = tmp_path / "x.po"
    nb = {"cells": [CELL], "metadata": {}}
    pseudo_catalogue(nb, path)
    changed = json.loads(json.dumps(nb))
    changed["cells"][0]["source"] = CELL["source"].replace("np.zeros((2, 3)", "np.ones((2, 3)")
    translated, report = translation.translate_notebook(changed, translation.read_catalogue(path), "ja")
    assert not report
    assert "np.ones((2, 3)" in translated["cells"][0]["source"] and MARK in translated["cells"][0]["source"]


def test_pseudo_translation_is_valid_for_every_text_of_the_course():
    """The tests' pseudo-translation itself keeps every rule (else the tests above prove less)."""
    for path in all_notebooks(SOLUTIONS):
        for cell in load(path)["cells"]:
            for text in translation.texts(cell):
                assert translation.check_translation(text, pseudo(text)) is None, (path.stem, text)


def test_one_word_is_a_text_where_a_person_reads_it():
    """A plot's title, an axis label, a legend entry and a printed word are texts even without a
    space; the same word as a key, a colour or an option is not."""
    source = ('ax.set_title("separable")\nplt.plot(x, label="loss", color="C0")\nprint("epoch", n)\n'
              'history["loss"]\nax.legend(loc="best")\nplt.xlabel(f"step {n}")\nprint("x")\n'
              'show_table(["file", "note"], rows)\n')
    found = [t.source for t in translation.code_texts(source)]
    assert found == ['"separable"', '"loss"', '"epoch"', 'f"step {n}"', '"file"', '"note"'], found
