"""nbgrader's configuration for grading, as traitlets Config objects (as NbGraderAPI is configured).

Nothing here writes Python: the course's own nbgrader_config.py is read by nbgrader's loader
(load_course), and what grading adds is built as data (student_config). A student's Config goes
to the grading process (run.py) as JSON: a Config is a dict of sections of plain values, and
preprocessors are named by import string, which nbconvert's exporters resolve themselves.
"""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.application import JupyterApp
from nbgrader.apps.baseapp import NbGrader
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Application, Config

# Autograde: nbgrader's list with SandboxExecute for Execute (the kernel in a container),
# SafeOutputs after it (the student's HTML and script kept as text) and SafeMarkdown last (after
# the scores are saved: grading is unchanged). Feedback: the hidden tests hidden, inert output.
AUTOGRADE_PREPROCESSORS = [
    "matchbox.grader.sandbox.SandboxExecute",
    "matchbox.grader.feedback.SafeOutputs",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "matchbox.grader.feedback.SafeMarkdown",
]
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "matchbox.grader.feedback.HideHiddenTests",
    "matchbox.grader.feedback.SafeOutputs",
    "matchbox.grader.feedback.SafeMarkdown",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# nbgrader's sanitising steps, with the test cells restored in the submission's language
SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "matchbox.grader.language.OverwriteCellsInLanguage",
    "nbgrader.preprocessors.CheckCellMetadata",
]
DEATHS = "kernel-deaths.jsonl"  # SandboxExecute's record of kernels that died, in a student's copy
DEFAULT_CELL_TIMEOUT = 300


@dataclass
class Course:
    """What grading needs of a course folder: its nbgrader Config and what that says."""

    root: Path
    config: Config
    source: str
    db_url: str
    course_id: str
    cell_timeout: int
    exchange: str

    @property
    def db_path(self):
        """The gradebook file (nbgrader's default when db_url is not an SQLite file URL)."""
        path = Path(self.db_url[len("sqlite:///"):]) if self.db_url.startswith("sqlite:///") else None
        if path is None or not path.is_absolute():
            path = self.root / (path or "gradebook.db")
        return path


def load_course(root):
    """The course's configuration as `nbgrader` run in ROOT reads it: the Jupyter config path
    (an image's /etc/jupyter/nbgrader_config.py), then ROOT/nbgrader_config.py."""
    root = Path(root).resolve()
    app = NbGrader()
    # JupyterApp's loader: the Jupyter config path only (NbGrader's own adds our working folder,
    # which is not the course), then ROOT's file, as nbgrader's initialize() loads a course root's
    JupyterApp.load_config_file(app)
    Application.load_config_file(app, "nbgrader_config.py", path=str(root))
    coursedir = CourseDirectory(config=app.config, root=str(root))
    return Course(root=root, config=app.config, source=coursedir.source_directory,
                  db_url=coursedir.db_url, course_id=coursedir.course_id,
                  cell_timeout=int(app.config.Execute.get("timeout") or DEFAULT_CELL_TIMEOUT),
                  exchange=app.config.Exchange.get("root", "/srv/nbgrader/exchange"))


def overridden(config, **sections):
    """A copy of config with sections ({"CourseDirectory": {"root": ...}}) merged on top; the
    original is left as it was."""
    merged = copy.deepcopy(config)
    merged.merge(Config(sections))
    return merged


def student_config(root, *, course_id, cell_timeout, max_output_bytes, max_lines, kernel,
                   translations_root=""):
    """The Config of one student's private grading copy of the course at ROOT (source/, its own
    gradebook.db): sandboxed autograde, inert feedback. kernel: SandboxKernelManager's traits
    (image, memory, cpus, pids, wall_s, run_label, service_socket). translations_root: the real
    course, whose LANGUAGE/translations give feedback in a submission's language."""
    root = Path(root)
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.CourseDirectory.course_id = course_id
    c.Autograde.sanitize_preprocessors = list(SANITIZE_PREPROCESSORS)
    c.Autograde.autograde_preprocessors = list(AUTOGRADE_PREPROCESSORS)
    c.OverwriteCellsInLanguage.translations_root = str(translations_root)
    c.OverwriteCells.add_missing_cells = True  # a deleted test cell is put back, and scored
    c.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
    c.HTMLExporter.sanitize_html = True
    c.Execute.timeout = cell_timeout
    c.SandboxExecute.timeout = cell_timeout
    c.SandboxExecute.max_output_bytes = max_output_bytes
    c.SandboxExecute.deaths_file = str(root / DEATHS)
    c.LimitOutput.max_lines = max_lines
    c.SandboxKernelManager = Config(kernel)
    return c


def write_config(config, path):
    """A Config as JSON (sections of plain values); its path."""
    Path(path).write_text(json.dumps(config, indent=1, sort_keys=True), encoding="utf-8")
    return Path(path)


def read_config(path):
    """The Config write_config wrote."""
    return Config(json.loads(Path(path).read_text(encoding="utf-8")))
