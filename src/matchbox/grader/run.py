"""One student's autograde, then generate_feedback, in one process (NbGraderAPI, as the formgrader
does): one interpreter start and one import of nbgrader per student and assignment, not two.

    python -m matchbox.grader.run ASSIGNMENT STUDENT      # in the student's private copy of the course

Prints both logs; exit status 0, 1 when autograde failed, 2 when generate_feedback failed.
"""

import sys

from nbgrader.apps import NbGraderAPI
from nbgrader.apps.baseapp import NbGrader


def main(assignment, student):
    """Autograde and generate feedback for STUDENT; the exit status says which step failed."""
    app = NbGrader()
    app.load_config_file()  # the copy's nbgrader_config.py, as `nbgrader autograde` reads it
    api = NbGraderAPI(config=app.config)
    for status, step in ((1, api.autograde), (2, api.generate_feedback)):
        result = step(assignment, student, force=True)
        sys.stdout.write(result.get("log", "") + result.get("error", ""))
        if not result["success"]:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
