"""What of a learner's saved outputs may be shown to anyone else (the grader's feedback and
formgrader, the hub's room view): text and images only. HTML, JavaScript, widgets and SVG can
carry script, so they are shown by their text/plain form, and terminal colour codes are dropped.
No dependencies: the hub's image has neither nbgrader nor nbconvert."""

import re

SAFE = ("text/plain", "image/png", "image/jpeg", "image/gif")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
