"""nbgrader for the instructor (formgrader, generate_feedback): a student's HTML stays inert.

The formgrader renders each autograded notebook with nbconvert's HTMLExporter; its templates
render markdown cells without sanitising, whatever HTMLExporter.sanitize_html says. `grade`
already stores autograded notebooks inert; this covers notebooks autograded by plain nbgrader:
the grader's SafeOutputs and SafeMarkdown run in every HTMLExporter nbgrader builds.
In the instructor image: /opt/venv/etc/jupyter/nbgrader_config.py (the grader is /opt/matchbox/grader).
"""

import os
import sys

c = get_config()  # noqa: F821  (nbgrader provides it)
c.HTMLExporter.sanitize_html = True  # outputs' HTML through bleach (clean_html)
GRADER = os.environ.get("MATCHBOX_GRADER_PATH", "/opt/matchbox")
if GRADER not in sys.path:
    sys.path.append(GRADER)
c.HTMLExporter.preprocessors = ["grader.feedback.SafeOutputs", "grader.feedback.SafeMarkdown"]
