"""scripts/lint, the gate .ci/run passes before the tests: it fails on each kind of problem it
guards (a ruff finding, a shellcheck finding, a notebook committed with outputs) and names it.

Run in a clone of this checkout, so that the problems are committed files as in a real change;
the clone uses this checkout's dev venv (MATCHBOX_VENV)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.containers import ROOT

VENV = Path(sys.prefix)


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def clone(tmp_path):
    """A clone of this checkout's HEAD, with the working tree's scripts/lint and pyproject.toml."""
    stamp = hashlib.sha256((ROOT / "requirements/dev.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    if (VENV / ".installed").read_text(errors="replace").strip() != stamp.hexdigest():
        # the clone's scripts/venv would reinstall this venv, pointing it at the clone
        pytest.fail(f"{VENV} is not scripts/venv's current dev venv: run scripts/venv (or scripts/test) first")
    target = tmp_path / "clone"
    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(target), cwd=tmp_path)
    for name in ("scripts/lint", "scripts/venv", "pyproject.toml", "requirements/dev.txt"):
        (target / name).write_bytes((ROOT / name).read_bytes())
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "this checkout's gate",
        "--allow-empty", cwd=target)
    return target


def lint(clone):
    """scripts/lint in the clone; its scripts/venv finds this venv current (same stamp) and reuses it."""
    return subprocess.run(["scripts/lint"], cwd=clone, capture_output=True, text=True, timeout=600,
                          env={"PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin", "MATCHBOX_VENV": str(VENV),
                               "HOME": str(clone)})


def test_the_gate_names_each_kind_of_problem(clone):
    nb_path = next(iter(sorted((clone / "handson").glob("*/*.ipynb"))))
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "left behind\n"}]
    cell["execution_count"] = 7
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (clone / "src" / "matchbox" / "unused.py").write_text('"""An unused import."""\n\nimport os\n')
    (clone / "scripts" / "broken").write_text('#!/usr/bin/env bash\nrm -rf $1/tmp\n')
    git("add", "-A", cwd=clone)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "three problems", cwd=clone)

    done = lint(clone)
    out = done.stdout + done.stderr
    assert done.returncode != 0, f"scripts/lint passed a checkout with three problems:\n{out}"
    assert "F401" in out and "unused.py" in out, f"ruff's unused import not reported:\n{out}"
    assert "SC2086" in out and "scripts/broken" in out, f"shellcheck's unquoted $1 not reported:\n{out}"
    assert f"would have stripped {nb_path.relative_to(clone)}" in out, f"the notebook's outputs not reported:\n{out}"


def test_the_gate_passes_a_clean_checkout(clone):
    done = lint(clone)
    assert done.returncode == 0, f"scripts/lint fails on this checkout:\n{done.stdout}{done.stderr}"
