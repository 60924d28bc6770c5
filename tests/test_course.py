"""The nbgrader course: every assignment in solutions/ and its generated student version in handson/.

Generic over the assignment folders, so each notebook is covered as it lands. Everything
runs the real tools (scripts/generate, nbclient, nbgrader validate/generate/autograde) in
temporary folders. The slow work (executions, autograding, generation) is done by a pool of
MATCHBOX_TEST_JOBS (default 2) workers, started once for exactly the tests selected; each
test waits for its own job. Notebooks are timed while another job may run beside them, so
the 2x margin on the curriculum's bounds is also what absorbs that sharing of 2 cores.
"""

import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.course import (
    GENERATE, HANDSON, HELPERS, MARKERS, NBGRADER, ROOT, SOLUTIONS, all_notebooks, assignments,
    bound_s, copy_assignment, executed_cells, exercises, is_answer, is_test, load, meta,
    notebooks, run, secret_lines, stop_all, submission, text,
)

ASSIGNMENTS = assignments()
DEFAULT_BOUND_S = 150  # only for time limits of jobs whose assignment has no curriculum bound
WORKERS = int(os.environ.get("MATCHBOX_TEST_JOBS", "2"))
STUDENTS = ("solved", "untouched", "onewrong")


def job(kind):
    """Mark a test as needing the pool job `kind` (for its `assignment` parameter, if any)."""
    def mark(test):
        test.job = kind
        return test
    return mark


# ---- the jobs ---------------------------------------------------------------------------------

def job_check_clean(tmp, _):
    """scripts/generate --check on the repository itself."""
    return run([GENERATE, "--check"])


def job_check_edited(tmp, _):
    """scripts/generate --check on a release copy of the first assignment with one edited
    file and one extra file, then on an empty release folder."""
    assignment = ASSIGNMENTS[0]
    tmp = tmp.resolve()
    release = tmp / "release"
    shutil.copytree(HANDSON / assignment, release / assignment)
    edited = notebooks(release / assignment)[0]
    nb = load(edited)
    nb["cells"][0]["source"] = text(nb["cells"][0]) + "\nAn edit made by hand."
    edited.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    extra = release / assignment / "notes.txt"
    extra.write_text("not generated\n")
    changed = run([GENERATE, "--check", "--release-dir", release, assignment])
    empty = run([GENERATE, "--check", "--release-dir", tmp / "empty", assignment])
    return {"changed": changed, "empty": empty, "edited": edited, "extra": extra,
            "missing": tmp / "empty" / assignment / edited.name}


def job_refuse_outputs(tmp, _):
    """scripts/generate in a copy of the repo whose first source notebook has an output,
    then one with only an execution count left."""
    assignment = ASSIGNMENTS[0]
    repo = tmp / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(GENERATE, repo / "scripts" / "generate")
    shutil.copy2(ROOT / "nbgrader_config.py", repo)
    copy_assignment(SOLUTIONS / assignment, repo / "solutions" / assignment)
    path = notebooks(repo / "solutions" / assignment)[0]
    pristine = load(path)
    index = next(i for i, cell in enumerate(pristine["cells"]) if cell["cell_type"] == "code")
    outcomes = {}
    for case in ("output", "count"):
        nb = json.loads(json.dumps(pristine))
        cell = nb["cells"][index]
        cell["execution_count"] = 7
        if case == "output":
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["hello\n"]}]
        path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
        outcomes[case] = run([repo / "scripts" / "generate"], cwd=repo)
    return {"outcomes": outcomes, "notebook": path.relative_to(repo), "cell": index,
            "handson_created": (repo / "handson").exists()}


def job_execute(tmp, assignment):
    """Every solution notebook of the assignment, top to bottom, full mode, in a temp copy."""
    limit = 2 * (bound_s(assignment) or DEFAULT_BOUND_S)
    folder = copy_assignment(SOLUTIONS / assignment, tmp / assignment)
    results = {}
    for path in notebooks(folder):
        status, output, seconds = run([sys.executable, HELPERS, "execute", path, limit + 30],
                                      cwd=folder, timeout=limit + 90)
        line = [line for line in output.splitlines() if line.startswith("RESULT ")]
        results[path.name] = (json.loads(line[-1][7:]) if status == 0 and line else
                              {"seconds": seconds, "error": f"exit {status}:\n{output[-3000:]}"})
    return results


def job_validate(tmp, assignment):
    """nbgrader validate on a temp copy of the solution notebooks."""
    limit = 2 * (bound_s(assignment) or DEFAULT_BOUND_S)
    folder = copy_assignment(SOLUTIONS / assignment, tmp / assignment)
    paths = notebooks(folder)
    return run([NBGRADER, "validate", *paths], cwd=folder, timeout=len(paths) * limit + 60), len(paths)


def job_roundtrip(tmp, assignment):
    """A temp course: generate the assignment (gradebook), submit three notebooks per student
    notebook (solved, untouched, one exercise left undone), autograde them in one call, read
    the gradebook."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    copy_assignment(SOLUTIONS / assignment, course / "solutions" / assignment)
    db = f"sqlite:///{course}/gradebook.db"
    generated = run([NBGRADER, "generate_assignment", assignment, "--force",
                     f"--CourseDirectory.db_url={db}"], cwd=course)
    if generated[0] != 0:
        return {"error": f"generate_assignment failed:\n{generated[1][-3000:]}"}
    student_dir = HANDSON / assignment
    names = [p.name for p in notebooks(SOLUTIONS / assignment)]
    if [p.name for p in notebooks(student_dir)] != names:
        return {"error": f"{student_dir} lacks the notebooks {names}: run scripts/generate"}
    last = names[-1]
    wrong = exercises(load(SOLUTIONS / assignment / last))[-1][0]
    for student in STUDENTS:
        dest = copy_assignment(student_dir, course / "submitted" / student / assignment)
        for name in names:
            student_nb, solution_nb = load(student_dir / name), load(SOLUTIONS / assignment / name)
            if student == "untouched":
                continue
            stubs = {wrong} if student == "onewrong" and name == last else set()
            nb = submission(student_nb, solution_nb, stubs)
            (dest / name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    limit = 2 * (bound_s(assignment) or DEFAULT_BOUND_S)
    graded = run([NBGRADER, "autograde", assignment, "--force", f"--CourseDirectory.db_url={db}"],
                 cwd=course, timeout=len(STUDENTS) * len(names) * limit + 120)
    scores = run([sys.executable, HELPERS, "gradebook", db, assignment], cwd=course)
    line = [line for line in scores[1].splitlines() if line.startswith("RESULT ")]
    if graded[0] != 0 or scores[0] != 0 or not line:
        return {"error": f"autograde exit {graded[0]}:\n{graded[1][-3000:]}\n"
                         f"gradebook exit {scores[0]}:\n{scores[1][-2000:]}"}
    return {"scores": json.loads(line[-1][7:]), "wrong": f"{last[:-6]}/{wrong}", "log": graded[1]}


JOBS = {"check_clean": job_check_clean, "check_edited": job_check_edited,
        "refuse_outputs": job_refuse_outputs, "execute": job_execute,
        "validate": job_validate, "roundtrip": job_roundtrip}
COST = {"check_clean": 5, "check_edited": 10, "refuse_outputs": 1,
        "execute": 1.0, "validate": 0.5, "roundtrip": 1.5}  # seconds, or times the bound


class Jobs:
    """Runs the pool jobs the selected tests need, longest first, WORKERS at a time."""

    def __init__(self, keys, tmp_factory):
        self.tmp_factory = tmp_factory
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="course-job")
        self.futures = {}
        for key in sorted(keys, key=self.cost, reverse=True):
            self.submit(key)

    @staticmethod
    def cost(key):
        """Expected seconds; the quick jobs (under a minute) are pushed to the front."""
        kind, assignment = key
        if kind in ("execute", "validate", "roundtrip"):
            return COST[kind] * (bound_s(assignment) or DEFAULT_BOUND_S)
        return 1000 + COST[kind]

    def submit(self, key):
        if key not in self.futures:
            kind, assignment = key
            tmp = self.tmp_factory.mktemp(f"{kind}-{assignment or 'all'}")
            self.futures[key] = self.pool.submit(JOBS[kind], tmp, assignment)
        return self.futures[key]

    def result(self, kind, assignment=None):
        return self.submit((kind, assignment)).result()


@pytest.fixture(scope="session")
def jobs(request, tmp_path_factory, data_root):
    # the notebooks load MNIST: from the fetched data root (this machine may have no other)
    before = os.environ.get("MATCHBOX_DATA")
    os.environ["MATCHBOX_DATA"] = str(data_root)
    keys = set()
    for item in request.session.items:
        kind = getattr(getattr(item, "function", None), "job", None)
        if kind:
            params = getattr(item, "callspec", None)
            keys.add((kind, params.params.get("assignment") if params else None))
    pool = Jobs(keys, tmp_path_factory)
    yield pool
    pool.pool.shutdown(wait=False, cancel_futures=True)
    stop_all()  # after -x or Ctrl-C, do not wait for jobs nobody will look at
    if before is None:
        os.environ.pop("MATCHBOX_DATA", None)
    else:
        os.environ["MATCHBOX_DATA"] = before


def first_assignment():
    if not ASSIGNMENTS:
        pytest.fail("solutions/ holds no assignment")
    return ASSIGNMENTS[0]


# ---- scripts/generate -------------------------------------------------------------------------

@job("check_clean")
def test_handson_is_up_to_date_with_solutions(jobs):
    """Is handson/ exactly what scripts/generate makes from solutions/ (so also byte-stable)?"""
    status, output, _ = jobs.result("check_clean")
    assert status == 0, f"scripts/generate --check failed:\n{output}"
    assert "up to date" in output


@job("check_edited")
def test_generate_check_flags_stale_extra_and_missing_files(jobs):
    """Does scripts/generate --check go red, naming each file and the fix, when a student file
    was edited by hand, an extra file appeared, or the student version is missing?"""
    first = first_assignment()
    found = jobs.result("check_edited")
    status, output, _ = found["changed"]
    assert status == 1, f"expected exit 1 for an edited release folder, got {status}:\n{output}"
    assert f"stale   {found['edited']}" in output, output
    assert f"extra   {found['extra']}" in output, output
    assert "Fix: run scripts/generate" in output, output
    status, output, _ = found["empty"]
    assert status == 1, f"expected exit 1 for an empty release folder, got {status}:\n{output}"
    assert f"missing {found['missing']}" in output, output
    assert first in output


@job("refuse_outputs")
def test_generate_refuses_sources_with_outputs(jobs):
    """Does scripts/generate refuse (and generate nothing) when a source notebook was committed
    with an output or just an execution count, naming the notebook and the cell?"""
    first_assignment()
    found = jobs.result("refuse_outputs")
    for case, (status, output, _) in found["outcomes"].items():
        assert status == 2, f"{case}: expected exit 2, got {status}:\n{output}"
        assert str(found["notebook"]) in output and f"cell {found['cell']}" in output, output
        assert "without outputs" in output, output
    assert "outputs and an execution count" in found["outcomes"]["output"][1]
    assert "has an execution count" in found["outcomes"]["count"][1]
    assert not found["handson_created"], "scripts/generate wrote a release despite refusing"


# ---- static checks: every notebook, no execution needed -------------------------------------

@pytest.mark.parametrize("path", all_notebooks(SOLUTIONS) + all_notebooks(HANDSON),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_without_outputs(path):
    """Is this notebook free of outputs and execution counts, as committed notebooks must be?"""
    cells = executed_cells(load(path))
    assert not cells, (f"{path.relative_to(ROOT)}: code cells {cells} carry outputs or execution "
                       "counts; clear them (Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_handson_hides_solutions_and_hidden_tests(assignment):
    """Does the student version carry no solution or hidden-test marker and none of the code
    lines of the solutions and hidden tests?"""
    students = notebooks(HANDSON / assignment)
    assert [p.name for p in students] == [p.name for p in notebooks(SOLUTIONS / assignment)], \
        f"handson/{assignment} does not have the source's notebooks: run scripts/generate"
    for student in students:
        raw = student.read_text(encoding="utf-8")
        leaked = [marker for marker in MARKERS if marker in raw]
        assert not leaked, f"{student.relative_to(ROOT)} contains {leaked}"
        secrets = secret_lines(load(SOLUTIONS / assignment / student.name))
        lines = {line.strip() for cell in load(student)["cells"] for line in text(cell).splitlines()}
        shown = sorted(lines & secrets)
        assert not shown, f"{student.relative_to(ROOT)} shows solution or hidden-test lines: {shown}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_follows_the_grading_conventions(assignment):
    """Does each answer cell have its own test cells with points that the first line states,
    under the python3 kernel, with unique grade ids?"""
    for path in notebooks(SOLUTIONS / assignment):
        nb = load(path)
        where = path.relative_to(ROOT)
        assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{where}: kernel"
        found = exercises(nb)
        assert found, f"{where} has no graded exercise"
        first_answer = next(i for i, cell in enumerate(nb["cells"]) if is_answer(cell))
        assert not any(is_test(cell) for cell in nb["cells"][:first_answer]), \
            f"{where}: a test cell comes before the first answer cell"
        ids = [meta(c)["grade_id"] for c in nb["cells"] if meta(c).get("grade_id")]
        assert len(ids) == len(set(ids)), f"{where}: duplicate grade ids"
        for answer, tests in found:
            assert tests, f"{where}: answer cell {answer} has no test cell before the next answer"
            for cell in tests:
                points = meta(cell).get("points")
                first = text(cell).splitlines()[0] if text(cell) else ""
                assert points and points > 0, f"{where}: {meta(cell)['grade_id']} has no points"
                assert first.startswith("#") and f"({points:g} point" in first, (
                    f"{where}: {meta(cell)['grade_id']} should open with "
                    f"'# Tests for ... ({points:g} points)', not {first!r}")


# ---- execution --------------------------------------------------------------------------------

@job("execute")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_runs_top_to_bottom_within_twice_its_bound(jobs, assignment):
    """Does every solution notebook run without error, in full (not grading) mode, within 2x
    the curriculum's time bound?"""
    bound = bound_s(assignment)
    results = jobs.result("execute", assignment)
    for name, result in results.items():
        print(f"{assignment}/{name}: {result['seconds']:.1f} s (bound {bound} s)")
        assert result["error"] is None, f"{assignment}/{name} failed:\n{result['error']}"
    assert bound, f"{assignment} has no time bound: add it to BOUNDS_S in tests/course_helpers.py"
    for name, result in results.items():
        assert result["seconds"] <= 2 * bound, \
            f"{assignment}/{name} took {result['seconds']:.0f} s, more than 2 x {bound} s"


@job("validate")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_nbgrader_validate(jobs, assignment):
    """Does `nbgrader validate` pass every test cell of the solution notebooks?"""
    (status, output, _), count = jobs.result("validate", assignment)
    assert status == 0, output
    assert output.count("Success! Your notebook passes all the tests.") == count, output
    assert "VALIDATION FAILED" not in output and "CHANGED" not in output, output


# ---- autograde round trip -------------------------------------------------------------------

def expected_points(assignment):
    """{notebook/grade_id: points} of every graded test cell in the sources."""
    return {f"{path.stem}/{meta(cell)['grade_id']}": meta(cell)["points"]
            for path in notebooks(SOLUTIONS / assignment)
            for cell in load(path)["cells"] if is_test(cell)}


def graded(jobs, assignment, student):
    result = jobs.result("roundtrip", assignment)
    assert "error" not in result, result["error"]
    scores = result["scores"][student]
    points = expected_points(assignment)
    assert set(scores["cells"]) == set(points), \
        f"gradebook cells {sorted(scores['cells'])} differ from the source's tests {sorted(points)}"
    for key, cell in scores["cells"].items():
        assert cell["max_score"] == points[key], f"{key}: max score {cell['max_score']}, source says {points[key]}"
        assert not cell["needs_manual_grade"], f"{key} needs manual grading"
    return scores, points, result


@job("roundtrip")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_gives_a_solved_submission_full_marks(jobs, assignment):
    """Does nbgrader autograde give full marks to a submission that answers like the solution?"""
    scores, points, _ = graded(jobs, assignment, "solved")
    lost = {key: cell["score"] for key, cell in scores["cells"].items() if cell["score"] != points[key]}
    assert not lost, f"solved submission lost points in {lost}"
    assert scores["score"] == scores["max_score"] == sum(points.values())


@job("roundtrip")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_fails_every_test_of_the_untouched_student_version(jobs, assignment):
    """Does every graded test cell of the untouched student version fail (score 0), so that no
    point can be earned without doing the work?"""
    scores, _, _ = graded(jobs, assignment, "untouched")
    passed = {key: cell["score"] for key, cell in scores["cells"].items() if cell["score"] != 0}
    assert not passed, f"test cells that pass without any answer: {passed}"
    assert scores["score"] == 0


@job("roundtrip")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_takes_exactly_the_points_of_one_undone_exercise(jobs, assignment):
    """With only the last exercise left as the stub, does the submission lose exactly that
    exercise's points and keep every other point?"""
    scores, points, result = graded(jobs, assignment, "onewrong")
    wrong_nb, wrong_answer = result["wrong"].split("/")
    nb = load(SOLUTIONS / assignment / f"{wrong_nb}.ipynb")
    wrong_tests = {f"{wrong_nb}/{meta(c)['grade_id']}"
                   for answer, tests in exercises(nb) if answer == wrong_answer for c in tests}
    expected = {key: 0 if key in wrong_tests else value for key, value in points.items()}
    actual = {key: cell["score"] for key, cell in scores["cells"].items()}
    assert actual == expected, f"left undone: {wrong_answer}; scores {actual}, expected {expected}"
    assert scores["score"] == sum(points.values()) - sum(points[key] for key in wrong_tests)
