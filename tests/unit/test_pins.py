"""The dev venv tests the hub's Python side with the JupyterHub the hub image runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(path):
    lines = path.read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_dev_venv_pins_the_hubs_jupyterhub():
    dev, hub = pins(ROOT / "requirements" / "dev.txt"), pins(ROOT / "hub" / "requirements.txt")
    assert dev.get("jupyterhub") == hub["jupyterhub"], (
        f"requirements/dev.txt pins jupyterhub {dev.get('jupyterhub')}, the hub image runs {hub['jupyterhub']}: "
        "set jupyterhub==VERSION in requirements/dev.in to the hub's and run scripts/lock dev")
