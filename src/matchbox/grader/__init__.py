"""The instructor's grader: nbgrader autograde with the student's kernel in a sandbox container.

nbgrader, the course files and the gradebook stay on the host; only the kernel runs in a
container of the workshop image (see grader/sandbox.py and docs/grading.md). The command
line is scripts/grade (grader/cli.py).
"""
