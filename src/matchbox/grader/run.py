"""One student's autograde, then generate_feedback, in one process (NbGraderAPI, as the formgrader
does): one interpreter start and one import of nbgrader per student and assignment, not two.

    python -m matchbox.grader.run CONFIG.json ASSIGNMENT STUDENT

CONFIG.json is the traitlets Config the grader built for the student's private copy of the
course (config.student_config, written by config.write_config); no configuration file is read.
A process of its own per student: students graded in parallel never share an interpreter, and
a student whose grading hangs is killed without the others.

Prints both logs; exit status 0, 1 when autograde failed, 2 when generate_feedback failed.
"""

import sys

from nbgrader.apps import NbGraderAPI

from matchbox.grader.config import read_config


def main(argv=None):
    """Autograde and generate feedback for STUDENT; the exit status says which step failed."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        sys.exit("usage: python -m matchbox.grader.run CONFIG.json ASSIGNMENT STUDENT")
    path, assignment, student = argv
    api = NbGraderAPI(config=read_config(path))
    for status, step in ((1, api.autograde), (2, api.generate_feedback)):
        result = step(assignment, student, force=True)
        sys.stdout.write(result.get("log", "") + result.get("error", ""))
        if not result["success"]:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
