"""The instructor's grader: nbgrader autograde with the student's kernel in a sandbox container.

nbgrader, the course files and the gradebook stay on the host; only the kernel runs in a
container of the workshop image (sandbox.py, lockdown.py and docs/grading.md). The command
line is the console script matchbox-grade (cli.py; scripts/grade is a shim for it).

Imports nothing: the hub image installs this package without nbgrader and imports its
standard-library modules (lockdown, sandbox_client).
"""
