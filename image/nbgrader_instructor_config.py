"""nbgrader for the instructor (formgrader, generate_feedback): a student's HTML stays inert.

The formgrader renders each autograded notebook with nbconvert's HTMLExporter; its templates
render markdown cells without sanitising, whatever HTMLExporter.sanitize_html says. `grade`
already stores autograded notebooks inert; this covers notebooks autograded by plain nbgrader:
the grader's SafeOutputs and SafeMarkdown run in every HTMLExporter nbgrader builds.
In the instructor image: /opt/venv/etc/jupyter/nbgrader_config.py (the grader: the installed matchbox.grader).
"""

c = get_config()  # noqa: F821  (nbgrader provides it)
c.HTMLExporter.sanitize_html = True  # outputs' HTML through bleach (clean_html)
c.HTMLExporter.preprocessors = ["matchbox.grader.feedback.SafeOutputs", "matchbox.grader.feedback.SafeMarkdown"]
