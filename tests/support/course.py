"""Helpers for the course's tests and benchmarks: reading the nbgrader course and running its tools.

Also a small command line, which tests/test_course.py runs in subprocesses so that kernels and
gradebooks stay out of the pytest process (from the repository root):

    python -m tests.support.course execute NOTEBOOK TIMEOUT_S   # JSON {seconds, error}
    python -m tests.support.course gradebook DB_URL ASSIGNMENT  # JSON scores per student
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
HANDSON = ROOT / "handson"
# the Japanese edition, generated from solutions/ and ja/translations/ by scripts/generate
JA_SOLUTIONS = ROOT / "ja" / "solutions"
JA_HANDSON = ROOT / "ja" / "handson"
JA_TRANSLATIONS = ROOT / "ja" / "translations"
GENERATE = ROOT / "scripts" / "generate"
BIN = Path(sys.executable).parent  # the venv running the tests has nbgrader, jupyter, alembic
NBGRADER = str(BIN / "nbgrader")

# Seconds each notebook may take top to bottom on 2 CPU cores (shared/curriculum.md),
# by the number its assignment folder starts with.
BOUNDS_S = {"00": 30, "01": 30, "02": 60, "03": 90, "04": 120, "05": 150, "06": 90,
            "07": 180, "08": 120, "09": 150}
CLUTTER = (".ipynb_checkpoints", "__pycache__")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


# ---- the course -------------------------------------------------------------------------------

def assignments():
    """Assignment folders of solutions/ (those holding a notebook), sorted."""
    if not SOLUTIONS.is_dir():
        return []
    return sorted(p.name for p in SOLUTIONS.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name not in CLUTTER
                  and any(p.glob("*.ipynb")))


def notebooks(folder):
    """The notebooks of an assignment folder (nbgrader only grades top-level ones), sorted."""
    return sorted(Path(folder).glob("*.ipynb"))


def all_notebooks(top):
    """Every notebook under top, skipping Jupyter's checkpoints."""
    return sorted(p for p in Path(top).rglob("*.ipynb") if not set(p.parts) & set(CLUTTER))


def bound_s(assignment):
    """The curriculum's time bound for an assignment, or None if it has none."""
    return BOUNDS_S.get(assignment[:2])


def load(path):
    """A notebook file as plain JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def text(cell):
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def meta(cell):
    """A cell's nbgrader metadata ({} when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_answer(cell):
    return bool(meta(cell).get("solution"))


def is_test(cell):
    """A graded test cell: graded, not an answer."""
    return bool(meta(cell).get("grade")) and not meta(cell).get("solution")


def exercises(nb):
    """[(answer grade_id, [test cells that follow it before the next answer])] in order."""
    found = []
    for cell in nb["cells"]:
        if is_answer(cell):
            found.append((meta(cell)["grade_id"], []))
        elif is_test(cell) and found:
            found[-1][1].append(cell)
    return found


def split_blocks(source, begin, end):
    """(lines inside begin ... end markers, lines outside) of one cell's source."""
    inside, outside, depth = [], [], 0
    for line in source.splitlines():
        if begin in line:
            depth += 1
        elif end in line:
            depth -= 1
        elif depth > 0:
            inside.append(line)
        else:
            outside.append(line)
    return inside, outside


def secret_lines(solution_nb):
    """Stripped non-blank lines of the solution and hidden-test blocks that appear nowhere else."""
    secret, visible = set(), set()
    for cell in solution_nb["cells"]:
        # nbgrader matches its delimiters anywhere in a line, so do the same here
        hidden, rest = split_blocks(text(cell), "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        solution, rest = split_blocks("\n".join(rest), "BEGIN SOLUTION", "END SOLUTION")
        secret.update(line.strip() for line in hidden + solution if line.strip())
        visible.update(line.strip() for line in rest)
    return secret - visible


def executed_cells(nb):
    """Indices of the code cells that carry outputs or an execution count."""
    return [i for i, cell in enumerate(nb["cells"]) if cell.get("cell_type") == "code"
            and (cell.get("outputs") or cell.get("execution_count") is not None)]


def submission(student_nb, solution_nb, stubs=()):
    """The student notebook with each answer cell filled in from the solution, except those
    whose grade_id is in stubs, which keep the student's stub (as if left undone)."""
    answers = {meta(cell)["grade_id"]: cell for cell in solution_nb["cells"] if is_answer(cell)}
    nb = json.loads(json.dumps(student_nb))
    for cell in nb["cells"]:
        grade_id = meta(cell).get("grade_id")
        if is_answer(cell) and grade_id not in stubs:
            solved = [line for line in text(answers[grade_id]).splitlines(keepends=True)
                      if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line]
            cell["source"] = "".join(solved)
    return nb


# ---- running tools ------------------------------------------------------------------------------

def tool_env(**extra):
    """The environment for course tools: the venv's bin first on PATH, no grading mode."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING")}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.update(extra)
    return env


def run(command, cwd=ROOT, timeout=600, **extra_env):
    """Run a command; return (exit status or None when killed on timeout, output, seconds).
    It runs in a session of its own, killed with everything it started on a timeout or when
    the test run is interrupted (Ctrl-C, -x): no kernel outlives its test."""
    started = time.monotonic()
    process = subprocess.Popen([str(c) for c in command], cwd=cwd, env=tool_env(**extra_env),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        status = process.returncode
    except subprocess.TimeoutExpired:
        stop(process)
        output, _ = process.communicate()
        status, output = None, output + f"\n[killed after {timeout} s]"
    except BaseException:
        stop(process)
        raise
    return status, output, time.monotonic() - started


def stop(process):
    """Kill a process started by run() and everything it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def copy_assignment(source, dest):
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*CLUTTER))
    return dest


# ---- command line (runs in a subprocess) --------------------------------------------------------

def execute(path, timeout):
    """Execute a notebook top to bottom in its folder with nbclient; {seconds, error}."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.kernelspec.name,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    started = time.monotonic()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as failure:
        error = re.sub(r"\x1b\[[0-9;]*m", "", str(failure))[-3000:]  # without terminal colours
    seconds = time.monotonic() - started
    return {"seconds": seconds, "error": error}


def gradebook(db_url, assignment):
    """Scores of every submission of assignment, read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(db_url) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[f"{notebook.name}/{grade.name}"] = {
                        "score": grade.score, "max_score": grade.max_score,
                        "needs_manual_grade": grade.needs_manual_grade}
            scores[submission.student.id] = {"score": submission.score,
                                             "max_score": submission.max_score, "cells": cells}
    return scores


if __name__ == "__main__":
    if sys.argv[1] == "execute":
        result = execute(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "gradebook":
        result = gradebook(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
    print("RESULT " + json.dumps(result))
