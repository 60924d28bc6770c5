"""What scripts/grade reads of a submission: regular files only (grader/intake.py).

A participant writes their own submission. Each run below (real scripts/grade, kernels in
containers of the workshop image) grades honest students beside crafted ones: symbolic links to
the solution notebook and the gradebook (as the notebook, as a data file, as a folder, as the
student's folder, as the inbound submission itself), hard links, FIFOs, device files, oversized
notebooks, too many files, hostile zip members and names the hub would refuse. Each crafted
entry must be refused with its reason in that student's row, the rest graded, and nothing from
outside a submission may reach its feedback or autograded notebook.
"""

import json
import os
import stat
import zipfile

import pytest

from tests.support.course import HANDSON, SOLUTIONS, load, secret_lines, submission, text
from tests.support.grading import ASSIGNMENT, NAME, make_course, run_grade, table

SOLUTION = SOLUTIONS / ASSIGNMENT / NAME
STAMP = "2024-05-01 10:00:00.000000 UTC"
OUTSIDE = "OUTSIDE-THE-SUBMISSION-4f1c"  # the content of a file no submission may read
# files a probe cell prints, if they exist next to the notebook as it is graded
PROBED = ["answers.txt", "digits.csv", "notes.txt", "data/00-welcome.ipynb", "grades.db"]


def grade(course, submissions, image, *extra):
    return run_grade(course, submissions, "-j", "2", "--image", image, "--cell-timeout", "60",
                     "--notebook-timeout", "300", "--memory", "1g", *extra, timeout=900)


def probing(solved=True):
    """The solved notebook with a first cell that prints every probed file it can open."""
    student_nb, solution_nb = load(HANDSON / ASSIGNMENT / NAME), load(SOLUTION)
    nb = submission(student_nb, solution_nb) if solved else student_nb
    probe = ("for _name in %r:\n"
             "    try:\n"
             "        print(_name, open(_name, 'rb').read()[:400000])\n"
             "    except OSError as _problem:\n"
             "        print(_name, 'absent:', type(_problem).__name__)\n") % PROBED
    nb["cells"].insert(0, {"cell_type": "code", "id": "probe", "metadata": {}, "source": probe,
                           "outputs": [], "execution_count": None})
    return json.dumps(nb)


def hidden_lines():
    """Lines of the hidden tests (no student notebook shows them), long enough to be telling."""
    nb = load(SOLUTION)
    solution_code = {line.strip() for cell in nb["cells"] if "BEGIN SOLUTION" in text(cell)
                     for line in text(cell).splitlines()}
    return {line for line in secret_lines(nb) - solution_code if len(line) >= 25}


def leaked(course, student):
    """Telling text from outside the submission found in the student's feedback, or in what the
    probe cell printed into the autograded notebook (which holds the hidden tests by design):
    {(file, what)}."""
    needles = {"BEGIN HIDDEN TESTS", "SQLite format 3", OUTSIDE} | hidden_lines()
    found = set()
    for path in (course / "feedback" / student).rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8", errors="replace")
            found |= {(str(path), n) for n in needles
                      if n in content or json.dumps(n)[1:-1] in content}
    autograded = course / "autograded" / student / ASSIGNMENT / NAME
    probe = next(c for c in load(autograded)["cells"] if c.get("id") == "probe")
    printed = json.dumps(probe["outputs"])
    assert "absent" in printed  # the probe ran
    found |= {(str(autograded), n) for n in needles if json.dumps(n)[1:-1] in printed}
    return found


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def refused(rows, student, *reasons, graded=None):
    """Assert the student's row names every reason, and is a score (graded) or FAILED."""
    row = rows[student]
    for reason in reasons:
        assert reason in row, (student, reason, row)
    if graded is not None:
        assert row.startswith(graded), (student, row)
    else:
        assert row.startswith("FAILED"), (student, row)


@pytest.fixture(scope="module")
def folders(image, tmp_path_factory):
    """One run over STUDENT/ASSIGNMENT folders, each student a different attack."""
    tmp = tmp_path_factory.mktemp("intake")
    course = make_course(tmp)
    outside = write(tmp / "outside" / "secret.txt", OUTSIDE)
    subs = tmp / "submissions"

    def student(name):
        return subs / name / ASSIGNMENT

    write(student("solved") / NAME, probing())
    student("linked").mkdir(parents=True)  # the notebook: a link to the solution
    os.symlink(course / "solutions" / ASSIGNMENT / NAME, student("linked") / NAME)
    write(student("datalink") / NAME, probing())  # data files: links to solution and gradebook
    os.symlink(course / "solutions" / ASSIGNMENT / NAME, student("datalink") / "answers.txt")
    os.symlink(course / "gradebook.db", student("datalink") / "grades.db")
    os.symlink(course / "solutions" / ASSIGNMENT, student("datalink") / "data")  # a folder
    write(student("hardlink") / NAME, probing())
    os.link(outside, student("hardlink") / "notes.txt")
    student("hardlinked").mkdir(parents=True)  # the notebook: a hard link to the solution
    os.link(course / "solutions" / ASSIGNMENT / NAME, student("hardlinked") / NAME)
    write(student("fifo") / NAME, probing())
    os.mkfifo(student("fifo") / "digits.csv")
    devices = os.geteuid() == 0  # only root may make a device file
    if devices:
        write(student("device") / NAME, probing())
        os.mknod(student("device") / "digits.csv", stat.S_IFCHR | 0o644, os.makedev(1, 8))
    write(tmp / "elsewhere" / ASSIGNMENT / NAME, probing())
    os.symlink(tmp / "elsewhere", subs / "folderlink")  # the student's folder: a link
    big = json.loads(probing())
    big["cells"].append({"cell_type": "markdown", "id": "pad", "metadata": {}, "source": "x" * 1_500_000})
    write(student("oversized") / NAME, json.dumps(big))
    write(student("many") / NAME, probing())
    for i in range(25):
        write(student("many") / f"f{i:02}.txt", "x")
    write(subs / "with space" / ASSIGNMENT / NAME, probing())
    done = grade(course, subs, image, "--max-file-mb", "1", "--max-files", "20")
    return {"course": course, "done": done, "devices": devices}


def test_folder_attacks_refused_with_reasons(folders):
    done, course = folders["done"], folders["course"]
    rows = table(done)
    assert done.returncode == 1, done.stdout + done.stderr  # some students could not be graded
    assert rows["solved"] == "8/8", done.stdout + done.stderr[-3000:]
    refused(rows, "linked", "no notebook submitted", f"refused {NAME}: a symbolic link")
    refused(rows, "datalink", "refused answers.txt: a symbolic link", "refused grades.db: a "
            "symbolic link", "refused data: a symbolic link", graded="8/8")
    refused(rows, "hardlink", "refused notes.txt: a hard link", graded="8/8")
    refused(rows, "hardlinked", "no notebook submitted", f"refused {NAME}: a hard link")
    refused(rows, "fifo", "refused digits.csv: a FIFO", graded="8/8")
    if folders["devices"]:
        refused(rows, "device", "refused digits.csv: a device file", graded="8/8")
    refused(rows, "folderlink", "refused folderlink/: the submission itself is a symbolic link")
    refused(rows, "oversized", "no notebook submitted", "over the 1,000,000-byte limit per file")
    refused(rows, "many", "refused f19.txt: more than 20 files", graded="8/8")
    refused(rows, "with\\x20space", "refused the name with\\x20space")
    assert not (course / "autograded" / "many" / ASSIGNMENT / "f19.txt").exists()


def test_nothing_from_outside_reaches_feedback(folders):
    course = folders["course"]
    for student in ("solved", "datalink", "hardlink", "fifo", "many"):
        html = (course / "feedback" / student / ASSIGNMENT / "00-welcome.html").read_text()
        assert "digits.csv absent" in html  # the probe ran and printed what it found
        assert not leaked(course, student), student
    graded = course / "autograded" / "datalink" / ASSIGNMENT
    assert sorted(p.name for p in graded.iterdir()) == [NAME]  # no link came along
    for student in ("linked", "hardlinked", "folderlink", "oversized"):
        assert not (course / "feedback" / student).exists(), student  # never graded


@pytest.fixture(scope="module")
def flat(image, tmp_path_factory):
    """One run over a flat folder from an LMS: a zip with hostile members, a link beside it."""
    tmp = tmp_path_factory.mktemp("flat")
    course = make_course(tmp)
    download = tmp / "download"
    download.mkdir()
    solution = str(course / "solutions" / ASSIGNMENT / NAME)
    with zipfile.ZipFile(download / "moodle.zip", "w") as archive:
        archive.writestr(f"course/ada_{NAME}", probing())
        archive.writestr(f"../evil_{NAME}", probing())  # out of the folder it is extracted to
        archive.writestr(f"/abs_{NAME}", probing())
        link = zipfile.ZipInfo(f"course/lnk_{NAME}")  # a symbolic link member to the solution
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, solution)
        archive.writestr(f"course/nest_{NAME}.zip", "PK")  # an archive zip_collect would open
    write(download / f"cy_{NAME}", probing())
    os.symlink(solution, download / f"sym_{NAME}")
    done = grade(course, download, image)
    return {"course": course, "done": done, "tmp": tmp}


def test_zip_and_flat_folder_attacks(flat):
    done, course = flat["done"], flat["course"]
    rows = table(done)
    assert rows["ada"] == "8/8" and rows["cy"] == "8/8", done.stdout + done.stderr[-3000:]
    refused(rows, "evil", f"refused ../evil_{NAME}: a path out of the zip's folder (..)")
    refused(rows, "abs", f"refused /abs_{NAME}: an absolute path in the zip")
    refused(rows, "lnk", f"refused course/lnk_{NAME}: a symbolic link in the zip")
    refused(rows, "sym", f"refused sym_{NAME}: a symbolic link")
    assert "an archive inside the archive" in done.stderr  # names no student: logged
    assert not (flat["tmp"] / f"evil_{NAME}").exists() and not (course.parent / f"evil_{NAME}").exists()
    for student in ("ada", "cy"):
        assert not leaked(course, student)
    assert set(rows) == {"ada", "cy", "evil", "abs", "lnk", "sym"}


@pytest.fixture(scope="module")
def exchanged(image, tmp_path_factory):
    """One --from-exchange run over an inbound folder participants have written into."""
    tmp = tmp_path_factory.mktemp("exchange")
    course = make_course(tmp)
    exchange = tmp / "exchange"
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"c.CourseDirectory.course_id = 'matchbox'\nc.Exchange.root = {str(exchange)!r}\n")
    inbound = exchange / "matchbox" / "inbound"
    solution = course / "solutions" / ASSIGNMENT / NAME

    def entry(student, stamp=STAMP, suffix="+r4nd0m"):
        return inbound / f"{student}+{ASSIGNMENT}+{stamp}{suffix}"

    write(entry("ada") / NAME, probing())
    write(entry("ada", "2024-05-01 09:00:00.000000 UTC") / NAME, "{ an older one")
    entry("bea").mkdir(parents=True)  # the notebook: a link to the solution
    os.symlink(solution, entry("bea") / NAME)
    write(entry("cy") / NAME, probing())  # data files: links, a FIFO, a hard link
    os.symlink(solution, entry("cy") / "answers.txt")
    os.symlink(course / "gradebook.db", entry("cy") / "grades.db")
    os.mkfifo(entry("cy") / "digits.csv")
    os.link(write(tmp / "outside.txt", OUTSIDE), entry("cy") / "notes.txt")
    write(tmp / "elsewhere" / NAME, probing())
    os.symlink(tmp / "elsewhere", entry("dee"))  # the inbound submission itself: a link
    for name in ("a+b", "Ada", "a b"):  # names the hub refuses: shown, not skipped
        write(entry(name) / NAME, probing())
    write(entry("fay", stamp="not a time") / NAME, probing())  # collect cannot parse it
    done = run_grade(course, None, "--from-exchange", "-j", "2", "--image", image,
                     "--cell-timeout", "60", "--notebook-timeout", "300", timeout=900)
    return {"course": course, "done": done}


def test_exchange_attacks_refused_with_reasons(exchanged):
    done, course = exchanged["done"], exchanged["course"]
    rows = table(done)
    assert rows.get("ada") == "8/8", done.stdout + done.stderr[-3000:]  # the newest, our copy
    refused(rows, "bea", "no notebook submitted", f"refused {NAME}: a symbolic link")
    refused(rows, "cy", "refused answers.txt: a symbolic link", "refused grades.db: a symbolic "
            "link", "refused digits.csv: a FIFO", "refused notes.txt: a hard link", graded="8/8")
    refused(rows, "dee", "the submission itself is a symbolic link")
    refused(rows, "a+b", "refused the name a+b: a hub username is")
    refused(rows, "Ada", "refused the name Ada: a hub username is")
    refused(rows, "a\\x20b", "refused the name a\\x20b")
    refused(rows, "fay", "not a submission name nbgrader makes")
    assert set(rows) == {"ada", "bea", "cy", "dee", "a+b", "Ada", "a\\x20b", "fay"}
    for student in ("ada", "cy"):
        assert "digits.csv absent" in (course / "feedback" / student / ASSIGNMENT / "00-welcome.html").read_text()
        assert not leaked(course, student), student
    assert not (course / "feedback" / "bea").exists()
