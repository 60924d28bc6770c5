"""scripts/grade: sandboxed, parallel nbgrader autograde with feedback, CSV and a closing table.

    scripts/grade ASSIGNMENT --submissions PATH [-j N] [--course DIR] [--image IMAGE] [--json OUT]
    scripts/grade ASSIGNMENT --from-exchange [--release-feedback]   (the hub's instructor server)
    scripts/grade ASSIGNMENT --release-feedback                     (release what was graded)

PATH is laid out as STUDENT/ASSIGNMENT/*.ipynb (or STUDENT/*.ipynb). Each student is graded
in a private temporary copy of the course (its own gradebook copy, so workers never share an
SQLite file); the results are merged one student at a time into the real gradebook, setting
the automatic scores and comments and never touching a manual grade. See docs/grading.md.

nbgrader is configured with traitlets Config objects (config.py): its steps on the course
(generate_assignment, collect, zip_collect, export) run here, in the main thread, through
NbGraderAPI and nbgrader's apps; each student's autograde and feedback run in a process of
their own (run.py), handed their Config as JSON. grade() returns one Result per student.
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.exportapp import ExportApp
from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from traitlets.config import Config

from matchbox.grader import config as grading_config
from matchbox.grader import exchange, intake, lms, lockdown, release, sandbox_client

CLUTTER = (".ipynb_checkpoints", "__pycache__")


@dataclass
class Result:
    """One student's outcome for one assignment: a score, or the error that kept them from
    being graded; notes say what was refused, renamed or died on the way."""

    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    error: str | None = None
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def shown(self):
        """The closing table's text for this student."""
        if self.error is not None:  # notes too: a refused file can be why nothing was graded
            return f"FAILED: {self.error}" + "".join(f"; {note}" for note in self.notes)
        note = f"  ({'; '.join(self.notes)})" if self.notes else ""
        return f"{self.score:g}/{self.max_score:g}{note}"


def run_student(config_file, assignment, student, cwd, timeout, **extra_env):
    """One student's autograde and feedback (run.py, a process of its own); (exit status or
    None on timeout, output). Its environment is ours (use_this_python) and extra_env."""
    try:
        done = subprocess.run([sys.executable, "-m", "matchbox.grader.run", str(config_file),
                               assignment, student], cwd=cwd, env=dict(os.environ, **extra_env),
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return None, out + f"\n[killed after {timeout} s]"


def checked(what, outcome):
    """The log of an nbgrader step run here (capture_log's answer); SystemExit if it failed."""
    output = outcome.get("log", "") + outcome.get("error", "")
    if not outcome["success"]:
        raise SystemExit(f"grade: nbgrader {what} failed:\n{output[-3000:]}")
    return output


def nbgrader_app(app_class, config, root, assignment=None):
    """An nbgrader app configured by a Config alone (no initialize(): it would read the command
    line and the working folder's nbgrader_config.py), on the course folder ROOT."""
    app = app_class(config=config)
    # its log to capture_log's buffer only: an Application's own logger also prints to stderr
    app.log = logging.getLogger(f"matchbox.grader.{app_class.__name__}")
    app.log.setLevel(logging.INFO)
    app.log.propagate = False
    app.coursedir = CourseDirectory(parent=app, root=str(root))
    if assignment is not None:
        app.coursedir.assignment_id = assignment
    return app


def api(config, root):
    """NbGraderAPI on the course folder ROOT, configured by config."""
    return NbGraderAPI(config=config, coursedir=CourseDirectory(config=config, root=str(root)))


ZIP_REGEXP = r"(?:.*/)?(?P<student_id>[^_/]+)_(?P<file_id>[^/]+\.ipynb)$"


def collect_flat(path, assignment, course, regexp, work, log, caps=intake.Caps()):
    """A zip (from an LMS) or a flat folder of STUDENT_NOTEBOOK.ipynb files, sorted into
    STUDENT/ASSIGNMENT/ by nbgrader zip_collect in a scratch course; returns its submitted/ and
    {student: [notes on files refused]}. Our code extracts the zip and copies the files
    (grader/intake.py): zip_collect only sees regular files, and no archive to open itself."""
    scratch = Path(work) / "zip-collect"
    archive = scratch / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    # zip_collect matches the regexp on the path each file will have in extracted/
    flat = intake.Flat(archive, scratch / "downloaded" / assignment / "extracted", regexp, caps)
    if path.is_file():
        flat.add_zip(path, path.stem) if zipfile.is_zipfile(path) else flat.add_file(path, path.name)
    else:
        flat.add_folder(path)
    for line in flat.unnamed:
        log(line)
    notes = {intake.shown(student): got.refused for student, got in flat.students.items()
             if got.refused}
    settings = Config({
        "CourseDirectory": {"release_directory": str(course.root / course.source),
                            "db_url": f"sqlite:///{scratch / 'scratch.db'}"},
        "FileNameCollectorPlugin": {"named_regexp": regexp},
        "ZipCollectApp": {"strict": False, "force": True}, "ExtractorPlugin": {"force": True}})
    output = checked("zip_collect", capture_log(nbgrader_app(ZipCollectApp, settings, scratch,
                                                             assignment)))
    skipped = [line for line in output.splitlines() if "Skipped" in line]
    for line in skipped:
        log(line.strip())
    return scratch / "submitted", notes


def find_submissions(path, assignment):
    """{student: folder with that student's notebooks} from PATH/STUDENT/[ASSIGNMENT/]*.ipynb.
    Links are not followed here: a student folder that is a link is listed, and refused by the
    intake copy in grade_one with its reason."""
    found = {}
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name in CLUTTER:
            continue
        if not (entry.is_dir(follow_symlinks=False) or entry.is_symlink()):
            continue  # a stray file beside the student folders
        student = Path(path) / entry.name
        inner = student / assignment
        if entry.is_dir(follow_symlinks=False) and (inner.is_symlink() or inner.is_dir()):
            found[entry.name] = inner
        else:
            found[entry.name] = student
    return found


def ensure_assignment(course, assignment, log):
    """The assignment's notebooks and cells in the real gradebook (generate_assignment into a
    throw-away release folder, so the course's release folder is not touched)."""
    with Gradebook(course.db_url, course.course_id) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory(prefix="matchbox-release-") as throwaway:
        settings = grading_config.overridden(course.config,
                                             CourseDirectory={"release_directory": throwaway})
        checked(f"generate_assignment {assignment}",
                api(settings, course.root).generate_assignment(assignment, force=True))
    log(f"added {assignment} to the gradebook")


def grade_one(student, folder, assignment, course, options, work, caps=intake.Caps()):
    """Autograde and generate feedback for one student in a private copy of the course; the
    Result and the copy's folder (None when nothing was graded)."""
    started = time.monotonic()
    result = Result(intake.shown(student), assignment)
    problem = intake.name_problem(student, strict=False)
    if problem:  # before the name becomes a folder
        result.error = problem
        return result, None
    tmp = Path(work) / "students" / student  # apart from zip-collect/, exchange-collect/
    tmp.mkdir(parents=True)
    config_file = grading_config.write_config(
        grading_config.student_config(tmp, course_id=course.course_id, translations_root=course.root,
                                      **options),
        tmp / "grading-config.json")
    shutil.copytree(course.root / course.source / assignment, tmp / "source" / assignment,
                    ignore=shutil.ignore_patterns(*CLUTTER))
    shutil.copy2(course.db_path, tmp / "gradebook.db")
    dest = tmp / "submitted" / student / assignment
    copied = intake.copy_submission(folder, dest, caps, label=student)  # regular files only
    result.notes += copied.refused
    expected = sorted(p.name for p in (course.root / course.source / assignment).glob("*.ipynb"))
    missing = match_notebooks(dest, copied.files, expected, result)
    if result.error is not None:
        return result, None
    scratch = tmp / "scratch"  # the kernels' ipc folders: removed with the run, whatever happens
    scratch.mkdir()
    limit = options["kernel"]["wall_s"] * max(1, len(expected)) + 120
    # autograde, then generate_feedback, in one process (run.py): one start, not two
    status, output = run_student(config_file, assignment, student, cwd=tmp, timeout=limit + 300,
                                 TMPDIR=str(scratch))
    if status == 2:
        result.error = "generate_feedback failed: " + reason(output)
    elif status != 0:
        result.error = "autograde failed: " + reason(output)
    if missing and result.error is None:
        result.notes.append("missing " + ", ".join(missing) + " (scored 0)")
    result.notes += deaths(tmp / grading_config.DEATHS)
    result.seconds = time.monotonic() - started
    return result, tmp


def match_notebooks(dest, files, expected, result):
    """The copied submission's notebooks against the assignment's (EXPECTED): a single stray
    name taken for the single missing one, unreadable JSON refused. The notebooks still missing
    (scored 0); result.error set when there is nothing to grade."""
    notebooks = sorted(name for name in files if "/" not in name and name.endswith(".ipynb"))
    if not notebooks:
        result.error = "no notebook submitted"  # the refusals are in the notes
        return []
    missing = sorted(set(expected) - set(notebooks))
    extra = sorted(set(notebooks) - set(expected))
    if len(missing) == 1 and len(extra) == 1:  # "01-matchbox (1).ipynb" from a browser download
        (dest / extra[0]).rename(dest / missing[0])
        result.notes.append(f"graded {intake.shown(extra[0], spaces=True)} as {missing[0]}")
        notebooks, missing = sorted(set(notebooks) - set(extra) | set(missing)), []
    elif missing and len(missing) == len(expected):
        result.error = "none of the notebooks " + ", ".join(expected) + " submitted"
        return missing
    for name in notebooks:  # our copy, never the submission itself
        try:
            json.loads((dest / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as problem:
            result.error = (f"{intake.shown(name, spaces=True)} is not a valid notebook "
                            f"({type(problem).__name__})")
            break
    return missing


def deaths(path):
    """One note per kernel that died mid-notebook (written by SandboxExecute)."""
    if not path.is_file():
        return []
    notes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        death = json.loads(line)
        where = f"cell {death['cell']}" + (f" ({death['grade_id']})" if death.get("grade_id") else "")
        notes.append(f"kernel died at {where} of {death['notebook']}: {death['reason']}; "
                     "later cells scored 0")
    return notes


def reason(output):
    """The most telling line of an nbgrader log."""
    if "DeadKernelError" in output or "Kernel died" in output:
        return "the kernel died before the first cell (is the image right? see --image)"
    if "[killed after" in output:
        return "over the time limit"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("[ERROR]", "Error", "error"):
        picked = [line for line in lines if marker in line]
        if picked:
            return picked[-1][-200:]
    return (lines[-1] if lines else "no output")[-200:]


def merge_scores(src_url, dst_url, assignment, student):
    """A student's automatic scores and comments from their private gradebook into the real one
    (a manual grade is never touched); returns (score, max score)."""
    with Gradebook(src_url) as src, Gradebook(dst_url) as dst:
        sub = src.find_submission(assignment, student)
        try:
            dst.find_student(student)
        except MissingEntry:
            dst.add_student(student)
        try:
            target = dst.find_submission(assignment, student)
        except MissingEntry:
            target = dst.add_submission(assignment, student)
        target.timestamp = sub.timestamp
        for nb in sub.notebooks:
            for grade in nb.grades:
                into = dst.find_grade(grade.name, nb.name, assignment, student)
                into.auto_score = grade.auto_score
                if into.manual_score is None:
                    into.needs_manual_grade = grade.needs_manual_grade
            for comment in nb.comments:
                into = dst.find_comment(comment.name, nb.name, assignment, student)
                into.auto_comment = comment.auto_comment
        dst.db.commit()
        target = dst.find_submission(assignment, student)
        return target.score, target.max_score


def merge(result, tmp, course):
    """Copy one student's graded files and scores into the real course (in the main thread, one
    student at a time: one writer for the real gradebook)."""
    student, assignment = result.student, result.assignment
    try:
        result.score, result.max_score = merge_scores(
            f"sqlite:///{tmp / 'gradebook.db'}", course.db_url, assignment, student)
    except Exception as problem:  # noqa: BLE001  (reported in the table; the others go on)
        result.error = f"merge failed: {type(problem).__name__}: {problem}"[:300]
        return
    for kind in ("submitted", "autograded", "feedback"):
        src = tmp / kind / student / assignment
        if src.is_dir():
            dst = course.root / kind / student / assignment
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="scripts/grade", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("Submissions: PATH/STUDENT/ASSIGNMENT/*.ipynb or PATH/STUDENT/*.ipynb.\n"
                "Outputs in the course folder: the gradebook, autograded/, feedback/STUDENT/"
                "ASSIGNMENT/*.html and grades.csv.\nExit status 1 when any student could not "
                "be graded (after grading all the others).\nDesign: docs/grading.md."))
    parser.add_argument("assignment", nargs="?",
                        help="the assignment to grade (leave out with --export to export only)")
    parser.add_argument("--submissions", type=Path, default=None,
                        help="STUDENT/ASSIGNMENT/*.ipynb folder, or a zip / flat folder of "
                             "STUDENT_NOTEBOOK.ipynb files (nbgrader zip_collect)")
    parser.add_argument("--from-exchange", action="store_true",
                        help="collect the submissions from the nbgrader exchange instead")
    parser.add_argument("--release-feedback", action="store_true",
                        help="release each graded student's feedback to the exchange, where the "
                             "participant's assignment list fetches it (with --from-exchange: after "
                             "grading; alone: what was graded before)")
    parser.add_argument("--name-regexp", default=ZIP_REGEXP,
                        help="file names in a zip or flat folder (named groups student_id, "
                             "file_id); default %(default)s")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="students graded at once")
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="the nbgrader course folder (default: the current folder)")
    parser.add_argument("--image", default=os.environ.get("MATCHBOX_GRADE_IMAGE", "matchbox:latest"))
    parser.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds per cell (default: the course's Execute.timeout, else 300)")
    parser.add_argument("--notebook-timeout", type=int, default=900, help="seconds per notebook")
    parser.add_argument("--memory", default="2g", type=memory_size,
                        help="kernel memory limit (docker --memory: 512m, 2g)")
    parser.add_argument("--cpus", type=float, default=1.0, help="kernel CPUs (docker --cpus)")
    parser.add_argument("--pids", type=int, default=256, help="kernel process limit")
    parser.add_argument("--max-output-bytes", type=int, default=1_000_000, help="per cell")
    parser.add_argument("--max-lines", type=int, default=1000, help="output lines per cell")
    parser.add_argument("--csv", type=Path, default=None,
                        help="where the grades go (default: COURSE/grades.csv, grades-moodle.csv or grades-canvas.csv)")
    parser.add_argument("--export", choices=["nbgrader", *lms.EXPORTERS], default="nbgrader",
                        help="the CSV's format: nbgrader's (default) or the gradebook import of Moodle or "
                             "Canvas (one row per student, a column per assignment)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the results here: a JSON list of {student, assignment, "
                             "score, max_score, error, notes, seconds}")
    parser.add_argument("--max-file-mb", type=float, default=20,
                        help="largest file read of a submission, in MB (bigger: refused)")
    parser.add_argument("--max-submission-mb", type=float, default=50,
                        help="most read of one student's submission, in MB (the rest: refused)")
    parser.add_argument("--max-files", type=int, default=200,
                        help="most files read of one student's submission (the rest: refused)")
    return parser.parse_args(argv)


def memory_size(text):
    """--memory: a size Docker reads (kept as given, for the messages)."""
    try:
        lockdown.size_bytes(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None
    return text


def from_exchange(assignment, course, work, caps=intake.Caps()):
    """nbgrader collect from our copies of the exchange's submissions (exchange.py) into a
    scratch copy of the course; its submitted/ and {student: [notes on what was left out]}."""
    scratch = Path(work) / "exchange-collect"
    scratch.mkdir()
    screened, notes = exchange.screen(Path(course.exchange), course.course_id, assignment,
                                      scratch, caps)
    settings = grading_config.overridden(course.config, Exchange={"root": str(screened)})
    checked("collect", api(settings, scratch).collect(assignment, update=True))
    return scratch / "submitted", notes


def gather(args, course, work, caps, log):
    """Where the students' folders are, for any source: (a folder of STUDENT/ folders or None,
    {student: [notes on what was refused before grading]})."""
    if args.from_exchange:
        submissions, screened = from_exchange(args.assignment, course, work, caps)
    else:
        submissions, screened = args.submissions.resolve(), {}
        if submissions.is_file() or any(p.is_file() and p.suffix in (".zip", ".ipynb")
                                        for p in submissions.iterdir()):
            submissions, screened = collect_flat(submissions, args.assignment, course,
                                                 args.name_regexp, work, log, caps)
    return (submissions if submissions.is_dir() else None), screened


SERVICE_SOCKET = "MATCHBOX_SANDBOX_SOCKET"
CSV_NAMES = {"nbgrader": "grades.csv", "moodle": "grades-moodle.csv", "canvas": "grades-canvas.csv"}


def sandbox_backend(args):
    """Where the kernels come from: the hub's sandbox service (its socket, from
    $MATCHBOX_SANDBOX_SOCKET) or, when that is unset, the local Docker (""). Checked now, so that
    a grader that cannot start any kernel says so once instead of failing every student."""
    socket_path = os.environ.get(SERVICE_SOCKET, "")
    if socket_path:
        check_service(socket_path, args)
        return socket_path
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=60)
        problem = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["no answer"])[-1]
    except (OSError, subprocess.TimeoutExpired) as error:
        problem = str(error)
    if problem:
        raise SystemExit(
            f"grade: cannot start the sandbox kernels: {SERVICE_SOCKET} is not set (no sandbox "
            f"service) and Docker does not answer ({problem}). On a host: install Docker and grade "
            f"as a user in the docker group. In the hub's instructor server the hub sets "
            f"{SERVICE_SOCKET}: stop and start your server from the hub's control panel.")
    return ""


def check_service(socket_path, args):
    """The service answers, runs the image asked for and allows the limits asked for."""
    try:
        info = sandbox_client.request(socket_path, "GET", "/info", timeout=30)
    except sandbox_client.ServiceError as problem:
        raise SystemExit(
            f"grade: {problem.message}. {SERVICE_SOCKET} names the hub's sandbox service, which "
            f"starts the kernels: is the hub running with MATCHBOX_HUB_GRADING_DIR set (its log "
            f"says 'sandbox')? To grade with a local Docker instead, unset {SERVICE_SOCKET}.") from None
    default_image = os.environ.get("MATCHBOX_GRADE_IMAGE", "matchbox:latest")
    if args.image not in (default_image, info["image"]):
        raise SystemExit(f"grade: --image {args.image}: the hub's sandbox service runs every kernel "
                         f"in {info['image']}; leave --image out")
    args.image = info["image"]
    over = [f"{option} {asked} (the most is {most})" for option, asked, most, too_much in (
        ("--memory", args.memory, info["max_memory"],
         lockdown.size_bytes(args.memory) > lockdown.size_bytes(info["max_memory"])),
        ("--cpus", args.cpus, info["max_cpus"], args.cpus > info["max_cpus"]),
        ("--pids", args.pids, info["max_pids"], args.pids > info["max_pids"]),
        ("--notebook-timeout", args.notebook_timeout, info["max_wall_s"],
         args.notebook_timeout > info["max_wall_s"]),
        ("-j", args.jobs, info["max_kernels"], args.jobs > info["max_kernels"])) if too_much]
    if over:
        raise SystemExit("grade: over the hub's sandbox service's limits: " + ", ".join(over)
                         + ". Ask for less (the hub's administrator sets the maxima: docs/room.md).")


def sweep(run_label, service_socket, log):
    """Remove the kernel containers a run left behind (an interrupted run), by the run's label,
    through whoever started them."""
    if service_socket:
        try:
            sandbox_client.request(service_socket, "DELETE", f"/kernels?run_label={run_label}",
                                   timeout=300)
        except sandbox_client.ServiceError as problem:
            log(f"leftover kernels of this run not removed: {problem.message}")
        return
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=matchbox-grader={run_label}"],
                               capture_output=True, text=True).stdout.split()
    if leftovers:
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)


def use_this_python():
    """nbgrader starts `alembic` by name when it creates a gradebook: this Python's, here and in
    the students' processes; and no grading mode inherited from a notebook's kernel."""
    os.environ.pop("NBGRADER_EXECUTION", None)
    bin_dir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def log(message):
    print(f"grade: {message}", file=sys.stderr, flush=True)


def checked_inputs(args, course):
    """SystemExit naming the first thing that keeps args from being graded at all."""
    if args.release_feedback and args.submissions is not None:
        raise SystemExit("grade: --release-feedback releases to the nbgrader exchange, and submissions "
                         "from a folder or zip did not come through it (participants could not fetch "
                         "their feedback): grade with --from-exchange --release-feedback, or hand out "
                         "COURSE/feedback/STUDENT/ASSIGNMENT/*.html another way")
    if (args.submissions is None) == (not args.from_exchange):
        raise SystemExit("grade: give --submissions PATH or --from-exchange (one of them), or "
                         "--release-feedback alone to release what was graded")
    if not (course.root / course.source / args.assignment).is_dir():
        raise SystemExit(f"grade: no {course.source}/{args.assignment} in {course.root}")
    if args.submissions is not None and not args.submissions.exists():
        raise SystemExit(f"grade: {args.submissions} does not exist")


def grade(args, course=None):
    """Grade every submission of args.assignment (parse()'s options); one Result per student,
    sorted by name. Each graded student is merged into the course's gradebook and folders as
    they finish. SystemExit when nothing can be graded at all."""
    use_this_python()
    course = course or grading_config.load_course(args.course)
    checked_inputs(args, course)
    service_socket = sandbox_backend(args)  # before anything is written: no kernel, no grading
    ensure_assignment(course, args.assignment, log)
    run_label = uuid.uuid4().hex[:12]
    options = dict(cell_timeout=args.cell_timeout or course.cell_timeout,
                   max_output_bytes=args.max_output_bytes, max_lines=args.max_lines,
                   kernel=dict(image=args.image, memory=args.memory, cpus=args.cpus,
                               pids=args.pids, wall_s=args.notebook_timeout,
                               run_label=run_label, service_socket=service_socket))
    caps = intake.Caps(file_bytes=int(args.max_file_mb * intake.MB),
                       submission_bytes=int(args.max_submission_mb * intake.MB),
                       files=args.max_files)
    results = []
    with tempfile.TemporaryDirectory(prefix="matchbox-grade-") as work, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        submissions, screened = gather(args, course, work, caps, log)
        students = find_submissions(submissions, args.assignment) if submissions else {}
        log(f"{len(students)} students, {args.jobs} at a time, kernels in {args.image}")
        futures = {pool.submit(grade_one, student, folder, args.assignment, course, options,
                               work, caps): student for student, folder in students.items()}
        try:
            for future in as_completed(futures):
                result = finished(future, futures[future], args.assignment, course)
                result.notes += screened.pop(result.student, [])
                log(f"{result.student}: {result.shown()} ({result.seconds:.0f} s)")
                results.append(result)
            for student, notes in screened.items():  # nothing of theirs was collected
                results.append(Result(student, args.assignment,
                                      error="nothing to grade (" + "; ".join(notes) + ")"))
                log(f"{student}: {results[-1].error}")
        finally:
            sweep(run_label, service_socket, log)
    return sorted(results, key=lambda r: r.student)


def finished(future, student, assignment, course):
    """A graded student's Result, merged into the course (a grader crash: a FAILED Result)."""
    try:
        result, tmp = future.result()
    except Exception as problem:  # noqa: BLE001  (one student must not stop the rest)
        return Result(intake.shown(student), assignment, error=f"grader error: {problem!r}")
    if result.error is None:
        merge(result, tmp, course)
    return result


def export_grades(course, csv, export="nbgrader"):
    """nbgrader export of the course's gradebook to CSV in the format EXPORT (nbgrader, moodle,
    canvas); False (and logged) when it failed."""
    settings = grading_config.overridden(course.config, ExportPlugin={"to": str(csv)})
    if export in lms.EXPORTERS:
        settings = grading_config.overridden(settings, ExportApp={"plugin_class": lms.EXPORTERS[export]})
    outcome = capture_log(nbgrader_app(ExportApp, settings, course.root))
    if not outcome["success"]:
        log("nbgrader export failed:\n" + (outcome.get("log", "") + outcome.get("error", ""))[-2000:])
    return outcome["success"]


def main(argv=None):
    args = parse(argv)
    started = time.monotonic()
    course = grading_config.load_course(args.course)
    csv = (args.csv or course.root / CSV_NAMES[args.export]).resolve()
    if args.assignment is None:
        if args.release_feedback:
            raise SystemExit("grade: --release-feedback: name the assignment whose feedback to release "
                             "(grade ASSIGNMENT --release-feedback)")
        if args.export == "nbgrader":
            raise SystemExit("grade: name the assignment to grade, or export the gradebook as it is with "
                             "--export moodle or --export canvas")
        exported = export_grades(course, csv, args.export)
        log(f"grades of every assignment in {csv}" if exported else "the export failed")
        return 0 if exported else 1
    if args.release_feedback:
        if args.submissions is not None:
            checked_inputs(args, course)  # the misuse named before the missing exchange
        release.check(course)  # before grading: no exchange to release to, nothing graded in vain
        if not args.from_exchange and args.submissions is None:
            return release_only(args.assignment, course)
    results = grade(args, course)
    exported = export_grades(course, csv, args.export)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
    failed = [r for r in results if r.error is not None]
    log(f"{len(results) - len(failed)} graded, {len(failed)} failed in "
        f"{time.monotonic() - started:.0f} s; grades in {csv}")
    if not results:
        log("no submissions found")
    held = release_graded(args.assignment, course, results) if args.release_feedback else {}
    return 1 if failed or held or not exported or not results else 0


def release_graded(assignment, course, results):
    """Release the feedback of the students graded now; {student: why not} for those held back
    (grading failed: their earlier feedback, if any, stays where it was, unreleased)."""
    done = release.release(course, assignment, [r.student for r in results if r.error is None], log)
    for r in results:
        if r.error is not None:
            log(f"{r.student}: nothing released: not graded ({r.error})")
    summarise(done, course, [r.student for r in results])
    return done.held


def release_only(assignment, course):
    """--release-feedback alone: release the feedback already in COURSE/feedback/*/ASSIGNMENT."""
    if not (course.root / course.source / assignment).is_dir():
        raise SystemExit(f"grade: no {course.source}/{assignment} in {course.root}")
    students = release.graded_students(course, assignment)
    if not students:
        raise SystemExit(f"grade: no feedback for {assignment} in {course.root / 'feedback'}: grade it "
                         f"first (grade {assignment} --from-exchange --release-feedback)")
    done = release.release(course, assignment, students, log)
    summarise(done, course, students)
    return 1 if done.held else 0


def summarise(done, course, known):
    """The closing lines of a release: how many, and the hub's participants with nothing."""
    nothing = release.unsubmitted(course, known)
    if nothing:
        log("nothing released for " + ", ".join(nothing) + ": no submission graded")
    log(f"feedback released: {len(done.released)}, held back: {len(done.held)}; participants fetch "
        f"theirs in JupyterLab's assignment list (Nbgrader > Assignment List > Fetch Feedback)")


def print_table(results):
    width = max([len("student")] + [len(r.student) for r in results])
    print(f"{'student':<{width}}  result")
    for r in results:
        print(f"{r.student:<{width}}  {r.shown()}")


if __name__ == "__main__":
    sys.exit(main())
