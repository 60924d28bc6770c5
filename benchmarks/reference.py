"""The reference implementations the benchmarks run: the solution notebooks' own code.

The answers exist once, in solutions/ (which never enters the participant image); a benchmark
runs exactly what the solution cells define, so it measures the code the course teaches and no
copy can drift from it:

    ConvNet = reference.load("05-cnn-scratch").ConvNet

`load` builds a module from one solution notebook: the import statements and the top-level
`def`s and `class`es of its code cells, in cell order (a later definition replaces an earlier
one, as when the notebook runs top to bottom). Graded test cells are left out (they test, they
define nothing a benchmark runs), and so is everything else in the cells: no data is loaded,
nothing is trained or plotted.
"""

import ast
import json
import types
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def load(assignment):
    """The imports, functions and classes of solutions/ASSIGNMENT/ASSIGNMENT.ipynb, as a module."""
    notebook = SOLUTIONS / assignment / f"{assignment}.ipynb"
    if not notebook.is_file():
        raise FileNotFoundError(f"no solution notebook {notebook} (assignments: "
                                f"{', '.join(sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()))})")
    module = types.ModuleType(f"solutions_{assignment.replace('-', '_')}", f"The code of {notebook}")
    module.__file__ = str(notebook)
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or (grading.get("grade") and not grading.get("solution")):
            continue
        source = "".join(cell["source"])
        where = f"{notebook} (cell {index})"
        tree = ast.parse(source, filename=where)
        kept = ast.Module([node for node in tree.body if isinstance(node, KEPT)], type_ignores=[])
        # the line numbers stay those of the cell, so a traceback points into the notebook
        exec(compile(kept, where, "exec"), module.__dict__)
    return module
