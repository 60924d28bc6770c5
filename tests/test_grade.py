"""scripts/grade: sandboxed nbgrader autograde, real containers of the workshop image.

One grading run (-j 2) of 00-welcome over honest and crafted submissions in a temporary copy
of the course; each gets its asserted outcome, the grader survives, exits 1 because some
students could not be graded, and the course loses nothing. A student whose kernel dies is
still graded: the cells before keep their points, the rest score 0, the table says why.
Further runs check that a manual grade survives re-grading, the notebook's wall clock, a zip
from an LMS and the nbgrader exchange.
"""

import csv
import hashlib
import html as htmlmod
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import requests
from nbgrader.api import Gradebook

from tests.support.containers import Lab, docker
from tests.support.course import (
    HANDSON,
    JA_HANDSON,
    JA_SOLUTIONS,
    ROOT,
    SOLUTIONS,
    load,
    meta,
    split_blocks,
    submission,
    text,
    tool_env,
)
from tests.support.grading import ASSIGNMENT, NAME, make_course, run_grade, table

FULL = 8  # test_standardize 3 + test_select_digit 2 + test_chain_shape 3


MARKUP = ("My notes <script>document.title = 'pw' + 'ned'</script>\n\n"
          "<img src=x onerror=\"document.title = 'pwned'\">")
ACTIVE = re.compile(r"<script>document\.title|<img[^>]*onerror")  # the payload, live


def html_text(html):
    """What a reader of an HTML page sees: tags (and the spans of coloured tracebacks) removed."""
    return htmlmod.unescape(re.sub(r"<[^>]+>", "", html))


# every line of 00-welcome's hidden tests long enough to be telling, in either edition (none
# may reach feedback)
HIDDEN = {line.strip() for source in (SOLUTIONS, JA_SOLUTIONS)
          for cell in load(source / ASSIGNMENT / NAME)["cells"]
          for line in split_blocks(text(cell), "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")[0]
          if len(line.strip()) >= 20}


def first_line(source, grade_id, assignment=ASSIGNMENT):
    """The first line of a test cell in an edition (its title: '# Tests for ... (P points)')."""
    nb = load(source / assignment / f"{assignment}.ipynb")
    return text(nb["cells"][answer_index(nb, grade_id)]).splitlines()[0]


def answer_index(nb, grade_id):
    return next(i for i, cell in enumerate(nb["cells"]) if meta(cell).get("grade_id") == grade_id)


def crafted(course):
    """{student: notebook JSON text, or None for an empty folder}."""
    student_nb, solution_nb = load(HANDSON / ASSIGNMENT / NAME), load(SOLUTIONS / ASSIGNMENT / NAME)
    solved = submission(student_nb, solution_nb)
    dump = lambda nb: json.dumps(nb, indent=1)  # noqa: E731
    out = {"solved": dump(solved), "untouched": dump(student_nb)}

    nb = json.loads(dump(solved))  # the chain_shape test deleted: restored from the source
    del nb["cells"][answer_index(nb, "test_chain_shape")]
    out["deleted_test"] = dump(nb)

    nb = submission(student_nb, solution_nb, stubs={"chain_shape"})  # test edited to pass: overwritten
    nb["cells"][answer_index(nb, "test_chain_shape")]["source"] = "pass\n"
    out["edited_test"] = dump(nb)

    nb = json.loads(dump(solved))  # snooping: any leak leaves standardize undefined
    cell = nb["cells"][answer_index(nb, "standardize")]
    cell["source"] = (
        "import os, socket\n"
        f"_secrets = [{str(course / 'gradebook.db')!r}, {str(course / 'solutions')!r},\n"
        "            '../gradebook.db', '../../gradebook.db', '../../../gradebook.db',\n"
        "            '../../../source', '/srv/nbgrader/exchange/x']\n"
        "_leaks = [p for p in _secrets if os.path.exists(p)]\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=3).close()\n"
        "    _leaks.append('network')\n"
        "except OSError:\n"
        "    pass\n"
        "print('leaks:', _leaks)\n" + cell["source"] + "\nif _leaks:\n    del standardize\n")
    out["snoop"] = dump(nb)

    nb = json.loads(dump(solved))  # an endless loop in one answer: that cell times out
    cell = nb["cells"][answer_index(nb, "select_digit")]
    cell["source"] = "while True:\n    pass\n" + cell["source"]
    out["loop"] = dump(nb)

    def inject(grade_id, code, base=solved):
        nb = json.loads(dump(base))
        cell = nb["cells"][answer_index(nb, grade_id)]
        cell["source"] = code + "\n" + cell["source"]
        return nb

    # the kernel dies in an answer cell: the tests before it count, the rest score 0
    out["exit"] = dump(inject("chain_shape", "import os; os._exit(1)"))
    out["segfault"] = dump(inject("select_digit", "import ctypes; ctypes.string_at(0)"))
    out["membomb"] = dump(inject("chain_shape", "_hog = [b'x' * 2**28 for _ in range(40)]"))
    out["bigline"] = dump(inject("select_digit", "print('x' * 10**9)"))

    nb = submission(student_nb, solution_nb, stubs={"chain_shape"})  # test cell made markdown
    cell = nb["cells"][answer_index(nb, "test_chain_shape")]
    cell.update(cell_type="markdown", source="nothing to test")
    cell.pop("outputs", None), cell.pop("execution_count", None)
    out["celltype"] = dump(nb)

    nb = json.loads(dump(solved))  # another kernel asked for: nbgrader restores the kernelspec
    nb["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    out["kernelspec"] = dump(nb)

    # an impostor that equals anything passes the visible asserts, not the hidden tests
    impostor = ("class _Anything(tuple):\n    def __eq__(self, other):\n        return True\n"
                "    __hash__ = tuple.__hash__\n"
                "def chain_shape(shapes):\n"
                "    ok = all(a[1] == b[0] for a, b in zip(shapes, shapes[1:]))\n"
                "    return _Anything() if ok else None\n")
    nb = json.loads(dump(solved))
    nb["cells"][answer_index(nb, "chain_shape")]["source"] = impostor
    out["impostor"] = dump(nb)

    out["loud"] = dump(inject("chain_shape",  # 5 MB on one line, and script in an output
        "print('y' * 5_000_000)\nfrom IPython.display import HTML, Javascript, display\n"
        "_word = 'pw' + 'ned'\n"
        "display(HTML(f'<script>document.title = \"{_word}\"</script>'))\n"
        "display(Javascript(f'document.title = \"{_word}\"'))"))

    nb = json.loads(dump(solved))  # script in the student's own markdown: shown as text
    nb["cells"].insert(answer_index(nb, "standardize") + 1, {
        "cell_type": "markdown", "id": "markup", "metadata": {}, "source": MARKUP})
    out["markup"] = dump(nb)

    # the Japanese edition in the same batch: the same scores from the same English source
    ja_student, ja_solution = load(JA_HANDSON / ASSIGNMENT / NAME), load(JA_SOLUTIONS / ASSIGNMENT / NAME)
    out["ja_solved"] = dump(submission(ja_student, ja_solution))
    out["ja_untouched"] = dump(ja_student)
    nb = submission(ja_student, ja_solution, stubs={"chain_shape"})  # test edited to pass: overwritten
    nb["cells"][answer_index(nb, "test_chain_shape")]["source"] = "pass\n"
    out["ja_edited_test"] = dump(nb)

    out["renamed"] = ("00-welcome (1).ipynb", dump(solved))
    out["invalid"] = "{ this is not a notebook"
    out["empty"] = None
    return out


def nbgrader(*args, cwd):
    """Run an nbgrader command as an instructor or a student would; fail the test if it fails."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=tool_env())
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def gradebook_scores(db):
    """{student: {score, grades: {grade cell: [auto score, manual score]}}} of the gradebook."""
    with Gradebook(f"sqlite:///{db}") as gb:
        return {s.student.id: {"score": s.score,
                               "grades": {g.name: [g.auto_score, g.manual_score]
                                          for nb in s.notebooks for g in nb.grades}}
                for s in gb.find_assignment(ASSIGNMENT).submissions}


def digest(top):
    return {str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(top.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(image, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade")
    course = make_course(tmp)
    submissions = tmp / "submissions"
    for student, content in crafted(course).items():
        folder = submissions / student / ASSIGNMENT
        folder.mkdir(parents=True)
        name, content = content if isinstance(content, tuple) else (NAME, content)
        if content is not None:
            (folder / name).write_text(content, encoding="utf-8")
    before = digest(course / "solutions")
    done = run_grade(course, submissions, "-j", "2", "--image", image, "--cell-timeout", "60",
                     "--notebook-timeout", "300", "--memory", "1g", timeout=1200)
    return {"course": course, "submissions": submissions, "done": done, "before": before}


def died(score, cell, grade_id, reason):
    """The table's row for a student whose kernel died at that cell."""
    return (f"{score}/8  (kernel died at cell {cell} ({grade_id}) of 00-welcome: {reason}; "
            "later cells scored 0)")


OOM = "out of memory (over the 1g limit)"
# where the kernel dies: the answer cells' numbers (from 1) in the notebook as participants get it
CELL = {grade_id: answer_index(load(HANDSON / ASSIGNMENT / NAME), grade_id) + 1
        for grade_id in ("select_digit", "chain_shape")}
EXPECTED = {"solved": "8/8", "untouched": "0/8", "deleted_test": "8/8", "edited_test": "5/8",
            "snoop": "8/8", "loop": "6/8", "celltype": "5/8", "kernelspec": "8/8",
            "impostor": "5/8", "loud": "8/8", "markup": "8/8",
            "ja_solved": "8/8", "ja_untouched": "0/8", "ja_edited_test": "5/8",
            "renamed": "8/8  (graded 00-welcome (1).ipynb as 00-welcome.ipynb)",
            "exit": died(5, CELL["chain_shape"], "chain_shape", "exited (status 1)"),
            "segfault": died(3, CELL["select_digit"], "select_digit", "crashed (SIGSEGV)"),
            "membomb": died(5, CELL["chain_shape"], "chain_shape", OOM),
            "bigline": died(3, CELL["select_digit"], "select_digit", OOM)}
FAILED = {"invalid": "not a valid notebook", "empty": "no notebook submitted"}


def test_exit_status_and_table(graded):
    done = graded["done"]
    assert done.returncode == 1, done.stdout + done.stderr
    rows = table(done)
    assert set(rows) == set(EXPECTED) | set(FAILED), done.stdout + done.stderr
    for student, score in EXPECTED.items():
        assert rows[student] == score, (student, done.stdout, done.stderr[-4000:])
    for student, reason in FAILED.items():
        assert rows[student].startswith("FAILED") and reason in rows[student], rows[student]
    records = {r["student"]: r for r in done.records}  # --json: the same results, as data
    assert set(records) == set(rows)
    for student, score in EXPECTED.items():
        record = records[student]
        assert (record["error"], f"{record['score']:g}/{record['max_score']:g}") == (
            None, score.split()[0]), record
        assert record["assignment"] == ASSIGNMENT and record["seconds"] > 0, record
    assert all(reason in records[s]["error"] for s, reason in FAILED.items())
    assert records["renamed"]["notes"] == ["graded 00-welcome (1).ipynb as 00-welcome.ipynb"]


def test_gradebook_csv_and_feedback(graded):
    course = graded["course"]
    scores = gradebook_scores(course / "gradebook.db")
    assert {s: f"{v['score']:g}/{FULL}" for s, v in scores.items()} == {
        s: v.split()[0] for s, v in EXPECTED.items()}
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert {s: rows[s] for s in EXPECTED} == {s: float(v.split("/")[0]) for s, v in EXPECTED.items()}
    assert set(rows) == set(EXPECTED)  # the failed ones have no row: they were never graded
    with sqlite3.connect(course / "gradebook.db") as db:  # created whole, alembic version included
        assert db.execute("SELECT version_num FROM alembic_version").fetchall()
    for student in EXPECTED:
        assert (course / "feedback" / student / ASSIGNMENT / "00-welcome.html").is_file()
        assert (course / "autograded" / student / ASSIGNMENT / NAME).is_file()
        html = (course / "feedback" / student / ASSIGNMENT / "00-welcome.html").read_text()
        shown = html_text(html)
        quoted = sorted(line for line in HIDDEN if line in shown)
        assert "HIDDEN TESTS" not in html and not quoted, (student, quoted)  # hidden tests hidden
        assert "hidden tests: not shown" in html
        # feedback in the submitter's language: the test cells as their edition words them
        edition, other = (JA_SOLUTIONS, SOLUTIONS) if student.startswith("ja_") else (SOLUTIONS, JA_SOLUTIONS)
        assert htmlmod.escape(first_line(edition, "test_chain_shape"), quote=False) in html, student
        assert htmlmod.escape(first_line(other, "test_chain_shape"), quote=False) not in html, student


def test_dead_kernel_explained_in_feedback(graded):
    """Does the student whose kernel died read why, in the dying cell and the cells after it?"""
    html = (graded["course"] / "feedback" / "membomb" / ASSIGNMENT / "00-welcome.html").read_text()
    assert f"KernelDied: the kernel died running this cell: {OOM}" in html
    assert f"KernelDied: not run: the kernel died at cell {CELL['chain_shape']} ({OOM})" in html
    scores = gradebook_scores(graded["course"] / "gradebook.db")["segfault"]["grades"]
    assert {name: auto for name, (auto, _) in scores.items() if name.startswith("test_")} == {
        "test_standardize": 3.0, "test_select_digit": 0.0, "test_chain_shape": 0.0}


def test_output_capped_and_inert(graded):
    course = graded["course"]
    autograded = course / "autograded" / "loud" / ASSIGNMENT / NAME
    assert autograded.stat().st_size < 2_500_000  # 1 MB per cell kept of the 5 MB line
    assert "output truncated" in autograded.read_text()
    for path in (autograded, course / "feedback" / "loud" / ASSIGNMENT / "00-welcome.html"):
        assert "pwned" not in path.read_text(), path


RENDER = r"""
import sys
from nbconvert.exporters import HTMLExporter
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
app = FormgradeExtension()  # as the formgrader does: nbgrader's config, the formgrade template
app.initialize([])
resources = dict(assignment_id="00-welcome", notebook_id="00-welcome", submission_id="x", index=0,
                 total=1, base_url="", student="markup", first_name=None, last_name=None,
                 notebook_path="x")
sys.stdout.write(HTMLExporter(config=app.config).from_filename(sys.argv[1], resources=resources)[0])
"""


def formgrader_view(course, notebook, config_dir):
    """The HTML the formgrader serves for a submission, rendered through nbgrader's own code."""
    env = tool_env(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_CONFIG_PATH=str(config_dir))
    done = subprocess.run([sys.executable, "-c", RENDER, str(notebook)], cwd=course, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "My notes" in done.stdout
    return done.stdout


def test_formgrader_view_inert(graded, tmp_path):
    """Does script in a student's markdown stay inert in the formgrader, however it was autograded?"""
    course = graded["course"]
    plain, instructor = tmp_path / "plain", tmp_path / "instructor"
    plain.mkdir(), instructor.mkdir()
    shutil.copy2(ROOT / "image" / "nbgrader_instructor_config.py", instructor / "nbgrader_config.py")
    autograded = course / "autograded" / "markup" / ASSIGNMENT / NAME
    submitted = graded["submissions"] / "markup" / ASSIGNMENT / NAME  # as plain nbgrader leaves it
    assert ACTIVE.search(formgrader_view(course, submitted, plain))  # nbgrader alone: it runs
    assert not ACTIVE.search(formgrader_view(course, autograded, plain))  # scripts/grade's notebook
    assert not ACTIVE.search(formgrader_view(course, submitted, instructor))  # the image's config
    assert "Shown as text by the grader" in autograded.read_text()
    html = (course / "feedback" / "markup" / ASSIGNMENT / "00-welcome.html").read_text()
    assert "My notes" in html and not ACTIVE.search(html)


def test_course_untouched(graded):
    course = graded["course"]
    assert digest(course / "solutions") == graded["before"]
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", "label=matchbox-grader"],
                               capture_output=True, text=True).stdout.split()
    assert not leftovers


def test_manual_grade_survives_regrade(graded, image):
    course = graded["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # the instructor grades by hand
        gb.find_grade("test_chain_shape", NAME[:-6], ASSIGNMENT, "untouched").manual_score = 2.5
        gb.db.commit()
    only = graded["submissions"].parent / "again"
    shutil.copytree(graded["submissions"] / "untouched", only / "untouched")
    done = run_grade(course, only, "--image", image, "--notebook-timeout", "300")
    assert done.returncode == 0, done.stdout + done.stderr
    scores = gradebook_scores(course / "gradebook.db")
    assert scores["untouched"]["grades"]["test_chain_shape"] == [0.0, 2.5]
    assert scores["untouched"]["score"] == 2.5
    assert scores["solved"]["score"] == FULL


# the cells before the sleeping one (the kernel's start, numpy's import) must fit in it on a busy
# 2-core machine: 30 s did not, once
WALL_S = 75


def test_japanese_and_english_01_in_one_batch(image, tmp_path):
    """Does an honest Japanese submission of 01 get full marks through scripts/grade, in one
    batch with the English one, against the one English source; does the untouched Japanese
    version get none; and does each read its feedback in its own language?"""
    assignment = "01-matchbox"
    name = f"{assignment}.ipynb"
    course = make_course(tmp_path, assignments=(assignment,))
    editions = {"en": (HANDSON, SOLUTIONS), "ja": (JA_HANDSON, JA_SOLUTIONS)}
    submitted = {"en_solved": "en", "ja_solved": "ja", "ja_untouched": "ja"}
    for student, language in submitted.items():
        students, solutions = editions[language]
        nb = load(students / assignment / name)
        if student.endswith("solved"):
            nb = submission(nb, load(solutions / assignment / name))
        folder = tmp_path / "submissions" / student / assignment
        folder.mkdir(parents=True)
        (folder / name).write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    done = run_grade(course, tmp_path / "submissions", "-j", "2", "--image", image,
                     assignment=assignment, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    full = sum(meta(c)["points"] for c in load(SOLUTIONS / assignment / name)["cells"]
               if meta(c).get("grade") and not meta(c).get("solution"))
    assert table(done) == {"en_solved": f"{full:g}/{full:g}", "ja_solved": f"{full:g}/{full:g}",
                           "ja_untouched": f"0/{full:g}"}, done.stdout
    test_id = next(meta(c)["grade_id"] for c in load(SOLUTIONS / assignment / name)["cells"]
                   if meta(c).get("grade") and not meta(c).get("solution"))
    for student, language in submitted.items():
        html = (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
        own, other = (editions[language][1], editions["ja" if language == "en" else "en"][1])
        assert htmlmod.escape(first_line(own, test_id, assignment), quote=False) in html, student
        assert htmlmod.escape(first_line(other, test_id, assignment), quote=False) not in html, student


def test_notebook_wall_clock(image, tmp_path):
    """Is a notebook that outlives --notebook-timeout killed, graded up to there, and the reason shown?"""
    course = make_course(tmp_path)
    student_nb, solution_nb = load(HANDSON / ASSIGNMENT / NAME), load(SOLUTIONS / ASSIGNMENT / NAME)
    nb = submission(student_nb, solution_nb)
    cell = nb["cells"][answer_index(nb, "chain_shape")]
    cell["source"] = "import time; time.sleep(3600)\n" + cell["source"]
    folder = tmp_path / "submissions" / "sleeper" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NAME).write_text(json.dumps(nb), encoding="utf-8")
    started = time.monotonic()
    done = run_grade(course, folder.parent.parent, "--image", image, "--cell-timeout", "600",
                     "--notebook-timeout", str(WALL_S))
    assert done.returncode == 0, done.stdout + done.stderr
    assert table(done) == {"sleeper": died(5, CELL["chain_shape"], "chain_shape", f"over the {WALL_S} s time limit")}
    assert time.monotonic() - started < WALL_S + 150  # killed at WALL_S, not after the cell's 600 s


def test_from_the_exchange(image, tmp_path):
    """Does --from-exchange grade every student's latest submission, a re-submission included?"""
    course = make_course(tmp_path)
    exchange = tmp_path / "exchange"
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"c.CourseDirectory.course_id = 'matchbox'\nc.Exchange.root = {str(exchange)!r}\n")
    nbgrader("generate_assignment", ASSIGNMENT, cwd=course)
    nbgrader("release_assignment", ASSIGNMENT, cwd=course)
    student_nb, solution_nb = load(HANDSON / ASSIGNMENT / NAME), load(SOLUTIONS / ASSIGNMENT / NAME)
    solved = submission(student_nb, solution_nb)

    def submit(student, nb):
        home = tmp_path / "home" / student
        options = ["--course", "matchbox", f"--Exchange.root={exchange}"]
        if not home.exists():
            home.mkdir(parents=True)
            nbgrader("fetch_assignment", ASSIGNMENT, *options, cwd=home)
        assert (home / ASSIGNMENT / NAME).is_file()  # fetched from the exchange
        (home / ASSIGNMENT / NAME).write_text(json.dumps(nb), encoding="utf-8")
        nbgrader("submit", ASSIGNMENT, *options, "--student", student, cwd=home)

    submit("ada", solved)
    submit("bea", student_nb)  # nothing done yet
    first = run_grade(course, None, "--from-exchange", "-j", "2", "--image", image)
    assert first.returncode == 0, first.stdout + first.stderr
    assert table(first) == {"ada": "8/8", "bea": "0/8"}

    submit("bea", solved)  # bea re-submits, cy submits late: both graded by the next run
    submit("cy", submission(student_nb, solution_nb, stubs={"chain_shape"}))
    second = run_grade(course, None, "--from-exchange", "-j", "2", "--image", image)
    assert second.returncode == 0, second.stdout + second.stderr
    assert table(second) == {"ada": "8/8", "bea": "8/8", "cy": "5/8"}
    assert {s: v["score"] for s, v in gradebook_scores(course / "gradebook.db").items()} == {
        "ada": 8.0, "bea": 8.0, "cy": 5.0}
    assert (course / "submitted" / "bea" / ASSIGNMENT / "timestamp.txt").is_file()


def test_zip_from_an_lms(image, tmp_path):
    """A zip of STUDENT_NOTEBOOK.ipynb files goes through nbgrader zip_collect."""
    import zipfile

    course = make_course(tmp_path)
    student_nb, solution_nb = load(HANDSON / ASSIGNMENT / NAME), load(SOLUTIONS / ASSIGNMENT / NAME)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"course/ada_{NAME}", json.dumps(submission(student_nb, solution_nb)))
        z.writestr("course/readme.txt", "not a submission")
    done = run_grade(course, archive, "--image", image, "--notebook-timeout", "300")
    assert done.returncode == 0, done.stdout + done.stderr
    assert table(done) == {"ada": "8/8"}
    assert (course / "feedback" / "ada" / ASSIGNMENT / "00-welcome.html").is_file()


def test_instructor_image_has_the_course_formgrader_and_grader(instructor_image):
    """Does the instructor target have the course in the work folder, formgrader behind the login,
    and `grade` with its Docker client and the inert-markdown formgrader config?"""
    name = f"matchbox-test-{uuid.uuid4().hex[:8]}"
    token = uuid.uuid4().hex
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::8888", "-e", f"JUPYTER_TOKEN={token}",
           instructor_image)
    try:
        port = docker("port", name, "8888/tcp").stdout.split(":")[-1].strip()
        lab = Lab(name, int(port), token)
        lab.wait_healthy()
        assert lab.exec("test", "-f", f"/home/jovyan/work/solutions/{ASSIGNMENT}/{NAME}",
                        check=False).returncode == 0
        assert lab.exec("test", "-f", "/home/jovyan/work/nbgrader_config.py", check=False).returncode == 0
        assert "--from-exchange" in lab.exec("grade", "--help").stdout
        assert lab.exec("docker", "--version").stdout.startswith("Docker version")
        config = lab.exec("python", "-c", "from nbgrader.apps.baseapp import NbGrader; a = NbGrader(); "
                          "a.load_config_file(); print(a.config.HTMLExporter.preprocessors)").stdout
        assert "SafeMarkdown" in config, config
        deadline = time.monotonic() + 30
        while True:
            page = lab.api("/formgrader")
            if page.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert page.status_code == 200, page.text[:500]
        anonymous = requests.get(lab.url + "/formgrader", timeout=10, allow_redirects=False)
        assert anonymous.status_code in (302, 403), anonymous.status_code
    finally:
        docker("rm", "-f", name, check=False)
