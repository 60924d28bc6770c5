"""Feedback in the submitter's language: a Japanese submission is graded against the one English
source, and its test cells come back in Japanese.

nbgrader's OverwriteCells puts the gradebook's (English) source back into every test and locked
cell of a submission before it runs, so the score never depends on what a submission says its
tests are. OverwriteCellsInLanguage then swaps in the translation of that very English source
(matchbox.translation: only comments and worded strings differ, the code is the English code)
when the notebook is in another language (its metadata matchbox.language) and the course has a
current translation of the cell. A text without one stays English: nothing is ever graded by a
test that is not the source's.
"""

from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import OverwriteCells
from traitlets import Unicode

from matchbox import translation


class OverwriteCellsInLanguage(OverwriteCells):
    """OverwriteCells, then the restored cells in the notebook's language."""

    translations_root = Unicode(
        "", help="The course folder holding LANGUAGE/translations/NOTEBOOK.po (the real course, "
                 "not the student's private copy). '': feedback in English.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        language = translation.language_of(nb)
        self.catalogue = {}
        if language != "en" and self.translations_root:
            notebook = resources["nbgrader"]["notebook"]
            path = translation.catalogue_path(Path(self.translations_root), language, notebook)
            self.catalogue = translation.read_catalogue(path)
            if not self.catalogue:
                self.log.warning("no %s translation of %s (%s): its feedback is in English",
                                 language, notebook, path)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        restored = utils.is_locked(cell) or (utils.is_grade(cell) and not utils.is_solution(cell))
        if self.catalogue and restored:
            report = translation.Report()
            translated = translation.translate_cell(cell, self.catalogue, report)
            cell.source = translation.cell_source(translated)
            if report.invalid:
                self.log.warning("%s: translation skipped for %d text(s)", translation.cell_label(cell),
                                 len(report.invalid))
        return cell, resources
