"""Every solution notebook executed end to end, full mode: seconds each and in total.

Usage: python benchmarks/course.py [NAME ...]       (target on 2 cores: ≤ 6 min in total)
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def execute(path):
    """Run one notebook top to bottom in its own folder; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.monotonic() - started


def main():
    names = sys.argv[1:] or sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())
    total = 0.0
    for name in names:
        seconds = execute(SOLUTIONS / name / f"{name}.ipynb")
        total += seconds
        print(f"{name:<20} {seconds:6.1f} s", flush=True)
    print(f"{'total':<20} {total:6.1f} s   (target ≤ 360 s: {'met' if total <= 360 else 'MISSED'})")


if __name__ == "__main__":
    main()
