"""scripts/grade: sandboxed, parallel nbgrader autograde with feedback, CSV and a closing table.

    scripts/grade ASSIGNMENT --submissions PATH [-j N] [--course DIR] [--image IMAGE]

PATH is laid out as STUDENT/ASSIGNMENT/*.ipynb (or STUDENT/*.ipynb). Each student is graded
in a private temporary copy of the course (its own gradebook copy, so workers never share an
SQLite file); the results are merged one student at a time into the real gradebook, setting
the automatic scores and comments and never touching a manual grade. See docs/grading.md.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from matchbox.grader import exchange, intake
from matchbox.grader import sandbox_client

ROOT = Path(__file__).resolve().parent.parent
CLUTTER = (".ipynb_checkpoints", "__pycache__")

CONFIG = """\
# Written by scripts/grade for one student's private grading copy of the course.
c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.db_url = "sqlite:///{db}"
from matchbox.grader.sandbox import SandboxExecute
from nbgrader.preprocessors import (IgnorePattern, LimitOutput, SaveAutoGrades,
                                    AssignLatePenalties, CheckCellMetadata)
from nbconvert.preprocessors import ClearMetadataPreprocessor
from matchbox.grader.feedback import HideHiddenTests, SafeMarkdown, SafeOutputs
from nbgrader.preprocessors import GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
c.Autograde.autograde_preprocessors = [SandboxExecute, SafeOutputs, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata, SafeMarkdown]
c.OverwriteCells.add_missing_cells = True
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, SafeOutputs, SafeMarkdown,
                                    CSSHTMLHeaderPreprocessor]
c.HTMLExporter.sanitize_html = True
c.Execute.timeout = {cell_timeout}
c.SandboxExecute.timeout = {cell_timeout}
c.SandboxExecute.max_output_bytes = {max_output_bytes}
c.SandboxExecute.deaths_file = "{deaths}"
c.LimitOutput.max_lines = {max_lines}
c.SandboxKernelManager.image = {image!r}
c.SandboxKernelManager.memory = {memory!r}
c.SandboxKernelManager.cpus = {cpus}
c.SandboxKernelManager.pids = {pids}
c.SandboxKernelManager.wall_s = {wall_s}
c.SandboxKernelManager.run_label = {run_label!r}
c.SandboxKernelManager.service_socket = {service_socket!r}
"""


def tool_env(**extra_env):
    """The environment for nbgrader and its helpers: this Python's bin first on PATH (nbgrader
    runs `alembic` from there when it creates a gradebook), the grader importable."""
    env = dict(os.environ, **extra_env)
    env.pop("NBGRADER_EXECUTION", None)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def nbgrader(args, cwd, timeout, module="nbgrader", **extra_env):
    """Run an nbgrader command (host side); (exit status or None on timeout, output)."""
    env = tool_env(**extra_env)
    try:
        done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return None, out + f"\n[killed after {timeout} s]"


SETTINGS = """
import json
from nbgrader.apps.baseapp import NbGrader
from nbgrader.coursedir import CourseDirectory
app = NbGrader()
app.load_config_file()
cd = CourseDirectory(config=app.config)
print(json.dumps({"source": cd.source_directory, "db_url": cd.db_url, "course_id": cd.course_id,
                  "cell_timeout": app.config.Execute.get("timeout") or 300,
                  "exchange": app.config.Exchange.get("root", "/srv/nbgrader/exchange")}))
"""


def course_settings(course):
    """What grading needs of the course's nbgrader configuration, read by nbgrader itself."""
    out = subprocess.run([sys.executable, "-c", SETTINGS], cwd=course, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


ZIP_REGEXP = r"(?:.*/)?(?P<student_id>[^_/]+)_(?P<file_id>[^/]+\.ipynb)$"


def collect_flat(path, assignment, course, source, regexp, work, log, caps=intake.Caps()):
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
    (scratch / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.release_directory = {str(course / source)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{scratch / 'scratch.db'}'\n"
        f"c.FileNameCollectorPlugin.named_regexp = {regexp!r}\n"
        "c.ZipCollectApp.strict = False\n")
    status, output = nbgrader(["zip_collect", assignment, "--force"], cwd=scratch, timeout=600)
    if status != 0:
        raise SystemExit(f"grade: nbgrader zip_collect failed:\n{output[-3000:]}")
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


def ensure_assignment(course, source, db_url, assignment, log):
    """The assignment's notebooks and cells in the real gradebook (generate_assignment into a
    throw-away release folder, so the course's release folder is not touched)."""
    code = ("import sys; from nbgrader.api import Gradebook, MissingEntry\n"
            "with Gradebook(sys.argv[1]) as gb:\n"
            "    try: a = gb.find_assignment(sys.argv[2]); print(len(a.notebooks))\n"
            "    except MissingEntry: print(0)\n")
    out = subprocess.run([sys.executable, "-c", code, db_url, assignment], capture_output=True,
                         text=True, cwd=course, env=tool_env())
    if out.returncode == 0 and out.stdout.strip() not in ("", "0"):
        return
    with tempfile.TemporaryDirectory(prefix="matchbox-release-") as release:
        status, output = nbgrader(["generate_assignment", assignment, "--force",
                                   f"--CourseDirectory.release_directory={release}"],
                                  cwd=course, timeout=600)
    if status != 0:
        raise SystemExit(f"grade: nbgrader generate_assignment {assignment} failed:\n{output[-3000:]}")
    log(f"added {assignment} to the gradebook")


def grade_one(student, folder, assignment, course, source, db_path, options, work,
              caps=intake.Caps()):
    """Autograde and generate feedback for one student in a private copy of the course."""
    started = time.monotonic()
    problem = intake.name_problem(student, strict=False)
    if problem:  # before the name becomes a folder
        return {"student": intake.shown(student), "error": problem, "notes": []}
    tmp = Path(work) / "students" / student  # apart from zip-collect/, exchange-collect/
    tmp.mkdir(parents=True)
    (tmp / "nbgrader_config.py").write_text(CONFIG.format(db=tmp / "gradebook.db",
                                                          deaths=tmp / DEATHS, **options))
    shutil.copytree(course / source / assignment, tmp / "source" / assignment,
                    ignore=shutil.ignore_patterns(*CLUTTER))
    shutil.copy2(db_path, tmp / "gradebook.db")
    result = {"student": student, "tmp": str(tmp), "seconds": 0.0, "notes": []}
    dest = tmp / "submitted" / student / assignment
    copied = intake.copy_submission(folder, dest, caps, label=student)  # regular files only
    result["notes"] += copied.refused
    notebooks = sorted(name for name in copied.files if "/" not in name and name.endswith(".ipynb"))
    if not notebooks:
        result["error"] = "no notebook submitted"  # the refusals are in the notes
        return result
    expected = {p.name for p in (course / source / assignment).glob("*.ipynb")}
    missing = sorted(expected - set(notebooks))
    extra = sorted(set(notebooks) - expected)
    if len(missing) == 1 and len(extra) == 1:  # "01-matchbox (1).ipynb" from a browser download
        (dest / extra[0]).rename(dest / missing[0])
        result["notes"].append(f"graded {intake.shown(extra[0], spaces=True)} as {missing[0]}")
        notebooks = sorted(set(notebooks) - set(extra) | set(missing))
        missing = []
    elif missing and len(missing) == len(expected):
        result["error"] = "none of the notebooks " + ", ".join(sorted(expected)) + " submitted"
        return result
    for name in notebooks:  # our copy, never the submission itself
        try:
            json.loads((dest / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as problem:
            result["error"] = f"{intake.shown(name, spaces=True)} is not a valid notebook ({type(problem).__name__})"
            return result
    limit = options["wall_s"] * max(1, len(expected)) + 120
    scratch = tmp / "scratch"  # the kernels' ipc folders: removed with the run, whatever happens
    scratch.mkdir()
    # autograde, then generate_feedback, in one process (grader/run.py): one start, not two
    status, output = nbgrader([assignment, student], cwd=tmp, timeout=limit + 300,
                              module="matchbox.grader.run", TMPDIR=str(scratch))
    result["log"] = output
    if status == 2:
        result["error"] = "generate_feedback failed: " + reason(output)
    elif status != 0:
        result["error"] = "autograde failed: " + reason(output)
    if missing and "error" not in result:
        result["notes"].append("missing " + ", ".join(missing) + " (scored 0)")
    result["notes"] += deaths(tmp / DEATHS)
    result["seconds"] = time.monotonic() - started
    return result


DEATHS = "kernel-deaths.jsonl"


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
    from nbgrader.api import Gradebook, MissingEntry  # imported once, at the first merge

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


def merge(result, assignment, course, db_url):
    """Copy one student's graded files and scores into the real course (in the main thread, one
    student at a time: one writer for the real gradebook)."""
    tmp = Path(result["tmp"])
    student = result["student"]
    try:
        result["score"], result["max_score"] = merge_scores(
            f"sqlite:///{tmp / 'gradebook.db'}", db_url, assignment, student)
    except Exception as problem:  # noqa: BLE001  (reported in the table; the others go on)
        result["error"] = f"merge failed: {type(problem).__name__}: {problem}"[:300]
        return
    for kind in ("submitted", "autograded", "feedback"):
        src = tmp / kind / student / assignment
        if src.is_dir():
            dst = course / kind / student / assignment
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
    parser.add_argument("assignment")
    parser.add_argument("--submissions", type=Path, default=None,
                        help="STUDENT/ASSIGNMENT/*.ipynb folder, or a zip / flat folder of "
                             "STUDENT_NOTEBOOK.ipynb files (nbgrader zip_collect)")
    parser.add_argument("--from-exchange", action="store_true",
                        help="collect the submissions from the nbgrader exchange instead")
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
    parser.add_argument("--memory", default="2g", help="kernel memory limit (docker --memory)")
    parser.add_argument("--cpus", type=float, default=1.0, help="kernel CPUs (docker --cpus)")
    parser.add_argument("--pids", type=int, default=256, help="kernel process limit")
    parser.add_argument("--max-output-bytes", type=int, default=1_000_000, help="per cell")
    parser.add_argument("--max-lines", type=int, default=1000, help="output lines per cell")
    parser.add_argument("--csv", type=Path, default=None, help="default: COURSE/grades.csv")
    parser.add_argument("--max-file-mb", type=float, default=20,
                        help="largest file read of a submission, in MB (bigger: refused)")
    parser.add_argument("--max-submission-mb", type=float, default=50,
                        help="most read of one student's submission, in MB (the rest: refused)")
    parser.add_argument("--max-files", type=int, default=200,
                        help="most files read of one student's submission (the rest: refused)")
    return parser.parse_args(argv)


def from_exchange(assignment, course, settings, work, caps=intake.Caps()):
    """nbgrader collect from our copies of the exchange's submissions (grader/exchange.py) into a
    scratch copy of the course; its submitted/ and {student: [notes on what was left out]}."""
    scratch = Path(work) / "exchange-collect"
    scratch.mkdir()
    shutil.copy2(course / "nbgrader_config.py", scratch)
    screened, notes = exchange.screen(Path(settings["exchange"]), settings["course_id"], assignment,
                                      scratch, caps)
    status, output = nbgrader(["collect", assignment, "--update", f"--Exchange.root={screened}"],
                              cwd=scratch, timeout=600)
    if status != 0:
        raise SystemExit(f"grade: nbgrader collect failed:\n{output[-3000:]}")
    return scratch / "submitted", notes


SERVICE_SOCKET = "MATCHBOX_SANDBOX_SOCKET"


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
         size_bytes(args.memory) > size_bytes(info["max_memory"])),
        ("--cpus", args.cpus, info["max_cpus"], args.cpus > info["max_cpus"]),
        ("--pids", args.pids, info["max_pids"], args.pids > info["max_pids"]),
        ("--notebook-timeout", args.notebook_timeout, info["max_wall_s"],
         args.notebook_timeout > info["max_wall_s"]),
        ("-j", args.jobs, info["max_kernels"], args.jobs > info["max_kernels"])) if too_much]
    if over:
        raise SystemExit("grade: over the hub's sandbox service's limits: " + ", ".join(over)
                         + ". Ask for less (the hub's administrator sets the maxima: docs/room.md).")


def size_bytes(text):
    """'2g' -> bytes (docker --memory's units); unreadable sizes count as 0 here and are
    refused by whoever starts the kernel."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)b?", str(text).strip().lower())
    if not match:
        return 0
    return int(float(match.group(1)) * {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}.get(match.group(2), 1))


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


def main(argv=None):
    args = parse(argv)
    if (args.submissions is None) == (not args.from_exchange):
        raise SystemExit("grade: give --submissions PATH or --from-exchange (one of them)")
    course = args.course.resolve()
    log = lambda message: print(f"grade: {message}", file=sys.stderr, flush=True)  # noqa: E731
    settings = course_settings(course)
    source, db_url = settings["source"], settings["db_url"]
    if not (course / source / args.assignment).is_dir():
        raise SystemExit(f"grade: no {source}/{args.assignment} in {course}")
    if args.submissions is not None and not args.submissions.exists():
        raise SystemExit(f"grade: {args.submissions} does not exist")
    service_socket = sandbox_backend(args)  # before anything is written: no kernel, no grading
    ensure_assignment(course, source, db_url, args.assignment, log)
    db_path = Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None
    if db_path is None or not db_path.is_absolute():
        db_path = course / (db_path or "gradebook.db")
    run_label = uuid.uuid4().hex[:12]
    options = dict(cell_timeout=args.cell_timeout or int(settings["cell_timeout"]),
                   max_output_bytes=args.max_output_bytes, max_lines=args.max_lines,
                   image=args.image, memory=args.memory, cpus=args.cpus, pids=args.pids,
                   wall_s=args.notebook_timeout, run_label=run_label,
                   service_socket=service_socket)
    caps = intake.Caps(file_bytes=int(args.max_file_mb * intake.MB),
                       submission_bytes=int(args.max_submission_mb * intake.MB),
                       files=args.max_files)
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="matchbox-grade-") as work, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        screened = {}
        if args.from_exchange:
            submissions, screened = from_exchange(args.assignment, course, settings, work, caps)
        else:
            submissions = args.submissions.resolve()
            if submissions.is_file() or any(p.is_file() and p.suffix in (".zip", ".ipynb")
                                            for p in submissions.iterdir()):
                submissions, screened = collect_flat(submissions, args.assignment, course, source,
                                                     args.name_regexp, work, log, caps)
        students = find_submissions(submissions, args.assignment) if submissions.is_dir() else {}
        log(f"{len(students)} students, {args.jobs} at a time, kernels in {args.image}")
        futures = {pool.submit(grade_one, student, folder, args.assignment, course, source,
                               db_path, options, work, caps): student
                   for student, folder in students.items()}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as problem:  # noqa: BLE001  (one student must not stop the rest)
                    result = {"student": futures[future], "error": f"grader error: {problem!r}"}
                if "error" not in result:
                    merge(result, args.assignment, course, db_url)
                result.setdefault("notes", []).extend(screened.pop(result["student"], []))
                log(f"{result['student']}: " + (result.get("error") or
                    f"{result['score']:g}/{result['max_score']:g}") +
                    "".join(f"; {note}" for note in result.get("notes", [])) +
                    f" ({result.get('seconds', 0):.0f} s)")  # benchmarks/grading.py reads "(N s)$"
                results.append(result)
            for student, notes in screened.items():  # nothing of theirs was collected
                results.append({"student": student, "error": "nothing to grade ("
                                + "; ".join(notes) + ")"})
                log(f"{student}: {results[-1]['error']}")
        finally:
            sweep(run_label, service_socket, log)
    csv = (args.csv or course / "grades.csv").resolve()
    status, output = nbgrader(["export", f"--to={csv}"], cwd=course, timeout=300)
    if status != 0:
        log(f"nbgrader export failed:\n{output[-2000:]}")
    print_table(sorted(results, key=lambda r: r["student"]))
    failed = [r for r in results if "error" in r]
    log(f"{len(results) - len(failed)} graded, {len(failed)} failed in "
        f"{time.monotonic() - started:.0f} s; grades in {csv}")
    if not results:
        log("no submissions found")
    return 1 if failed or status != 0 or not results else 0


def print_table(results):
    width = max([len("student")] + [len(r["student"]) for r in results])
    print(f"{'student':<{width}}  result")
    for r in results:
        if "error" in r:  # notes too: a refused file can be why nothing could be graded
            note = "".join(f"; {n}" for n in r.get("notes", []))
            print(f"{r['student']:<{width}}  FAILED: {r['error']}{note}")
        else:
            note = f"  ({'; '.join(r['notes'])})" if r.get("notes") else ""
            print(f"{r['student']:<{width}}  {r['score']:g}/{r['max_score']:g}{note}")


if __name__ == "__main__":
    sys.exit(main())
