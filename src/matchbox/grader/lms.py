"""Grades for a learning management system: nbgrader export plugins writing the CSV that
Moodle's and Canvas's gradebook imports read.

    grade --export moodle        # COURSE/grades-moodle.csv: Moodle > Grades > Import > CSV file
    grade --export canvas        # COURSE/grades-canvas.csv: Canvas > Grades > Import

Both are nbgrader ExportPlugins (`nbgrader export --exporter matchbox.grader.lms.CanvasExportPlugin`
works too). One row per student, one column per assignment holding the score after any late
penalty. A student who submitted nothing gets an EMPTY cell, not 0: both importers leave an
empty cell alone, so an import never overwrites a grade entered in the LMS by hand (an excused
assignment, say); enter zeros there if your course policy wants them.

Moodle (the "CSV file" import): a header row, then one row per student. The import form maps
columns: "Identify user by" Username, Email address or ID number (nbgrader's student id goes to
Username, its email to Email address, its lms_user_id to ID number), and each assignment column
to a grade item (or a new one). Decimal point, UTF-8, comma-separated.

Canvas (Gradebook "Import"): the columns Canvas's own export has (Student, ID, SIS User ID, SIS
Login ID, Section), then one column per assignment; the second row is "Points Possible" with each
assignment's maximum. Canvas finds a student by ID (the Canvas user id: nbgrader's lms_user_id,
the field nbgrader keeps for this) or else by SIS Login ID (the student id, which is the hub
login). An assignment column whose name Canvas does not know becomes a new assignment.
"""

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Unicode


class LmsExportPlugin(ExportPlugin):
    """The table every LMS export writes: students x assignments, scores after late penalties."""

    default_file = Unicode("grades-lms.csv", help="where to write when `to` is not set").tag(config=True)

    def header(self, assignments):
        raise NotImplementedError

    def identity(self, student):
        raise NotImplementedError

    def preamble(self, assignments):
        """Rows between the header and the students (none by default)."""
        return []

    def chosen(self, items, wanted, key):
        wanted = {str(item) for item in wanted}
        return [item for item in items if not wanted or key(item) in wanted]

    @staticmethod
    def score(gradebook, assignment, student):
        """The score as text ('' when nothing was submitted), penalty taken, never below 0."""
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            return ""
        return number(max(0.0, submission.score - (submission.late_submission_penalty or 0.0)))

    def export(self, gradebook):
        dest = self.to or self.default_file
        assignments = self.chosen(gradebook.assignments, self.assignment, lambda a: a.name)
        students = self.chosen(sorted(gradebook.students, key=lambda s: s.id), self.student, lambda s: s.id)
        self.log.info("Exporting %d students x %d assignments to %s", len(students), len(assignments), dest)
        with open(dest, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(self.header(assignments))
            writer.writerows(self.preamble(assignments))
            for student in students:
                writer.writerow(self.identity(student)
                                + [self.score(gradebook, assignment, student) for assignment in assignments])


class MoodleExportPlugin(LmsExportPlugin):
    """CSV for Moodle's grade import: Username, Email address, ID number, First name, Last name,
    then one column per assignment."""

    default_file = Unicode("grades-moodle.csv", help="where to write when `to` is not set").tag(config=True)

    def header(self, assignments):
        return ["Username", "Email address", "ID number", "First name", "Last name"] + [a.name for a in assignments]

    def identity(self, student):
        return [student.id, student.email or "", student.lms_user_id or "", student.first_name or "",
                student.last_name or ""]


class CanvasExportPlugin(LmsExportPlugin):
    """CSV for Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then one
    column per assignment, and a Points Possible row."""

    default_file = Unicode("grades-canvas.csv", help="where to write when `to` is not set").tag(config=True)
    section = Unicode("", help="the Section column's value for every student (Canvas ignores it "
                               "on import; leave empty unless your course has sections)").tag(config=True)

    def header(self, assignments):
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [a.name for a in assignments]

    def preamble(self, assignments):
        return [["Points Possible", "", "", "", ""] + [number(a.max_score) for a in assignments]]

    def identity(self, student):
        name = ", ".join(part for part in (student.last_name, student.first_name) if part) or student.id
        return [name, student.lms_user_id or "", "", student.id, self.section]


def number(value):
    """A score as Moodle and Canvas read it: decimal point, no trailing zeros (7.0 -> '7')."""
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


EXPORTERS = {"moodle": MoodleExportPlugin, "canvas": CanvasExportPlugin}
