"""The nbgrader course: every assignment in solutions/ and its generated student version in handson/.

Generic over the assignment folders, so each notebook is covered as it lands. Everything runs
the real tools (scripts/generate, nbclient, nbgrader validate/generate/autograde) in temporary
folders. The slow work is done once per assignment by session-scoped fixtures (executed,
validated_ja, graded_course), which the assignment's tests share; pytest runs an assignment's tests
together, so each notebook is executed, validated and autograded once, one thing at a time: the
curriculum's bounds (2x) are timed with nothing else of this suite running beside them.
The checks that need no tool run are in tests/unit/test_course_files.py.
"""

import json
import shutil
import sys

import pytest

from tests.support.course import (
    GENERATE,
    HANDSON,
    JA_HANDSON,
    JA_SOLUTIONS,
    NBGRADER,
    ROOT,
    SOLUTIONS,
    assignments,
    bound_s,
    copy_assignment,
    exercises,
    is_test,
    load,
    meta,
    notebooks,
    run,
    submission,
    text,
)

ASSIGNMENTS = assignments()
DEFAULT_BOUND_S = 150  # only for time limits of assignments that have no curriculum bound
STUDENTS = ("solved", "untouched", "onewrong")
# Japanese submissions in the same batch, graded against the same English source
JA_STUDENTS = ("ja-solved", "ja-untouched")


def limit_s(assignment):
    """What one notebook of the assignment may take here before it is killed: twice its bound."""
    return 2 * (bound_s(assignment) or DEFAULT_BOUND_S)


def result_line(output):
    """The JSON a `python -m tests.support.course` command printed last, or None."""
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][7:]) if lines else None


def first_assignment():
    if not ASSIGNMENTS:
        pytest.fail("solutions/ holds no assignment")
    return ASSIGNMENTS[0]


# ---- the slow work, once per assignment --------------------------------------------------------

@pytest.fixture(scope="session", params=ASSIGNMENTS)
def assignment(request):
    """Each assignment folder of solutions/ (session-scoped, so pytest runs its tests together)."""
    return request.param


@pytest.fixture(scope="session")
def executed(assignment, tmp_path_factory, data_root):
    """{notebook: {seconds, error}}: every solution notebook of the assignment run top to bottom,
    full mode, in a temp copy (the notebooks load MNIST from the fetched data root)."""
    limit = limit_s(assignment)
    folder = copy_assignment(SOLUTIONS / assignment, tmp_path_factory.mktemp("execute") / assignment)
    results = {}
    for path in notebooks(folder):
        status, output, seconds = run([sys.executable, "-m", "tests.support.course", "execute", path,
                                       limit + 30], timeout=limit + 90, MATCHBOX_DATA=str(data_root))
        found = result_line(output) if status == 0 else None
        results[path.name] = found or {"seconds": seconds, "error": f"exit {status}:\n{output[-3000:]}"}
    return results


def validate(source, tmp_path_factory, data_root, assignment):
    """(nbgrader validate's (status, output, seconds), how many notebooks) on a temp copy."""
    folder = copy_assignment(source / assignment, tmp_path_factory.mktemp("validate") / assignment)
    paths = notebooks(folder)
    return run([NBGRADER, "validate", *paths], cwd=folder, MATCHBOX_DATA=str(data_root),
               timeout=len(paths) * limit_s(assignment) + 60), len(paths)


@pytest.fixture(scope="session")
def validated_ja(assignment, tmp_path_factory, data_root):
    """The same for the Japanese solution notebooks (ja/solutions)."""
    return validate(JA_SOLUTIONS, tmp_path_factory, data_root, assignment)


def submit(course, assignment):
    """Three submissions per student notebook in course/submitted: solved, untouched, and one
    with the last exercise left undone; returns that exercise's name (notebook/grade id)."""
    student_dir = HANDSON / assignment
    names = [p.name for p in notebooks(SOLUTIONS / assignment)]
    assert [p.name for p in notebooks(student_dir)] == names, \
        f"{student_dir} lacks the notebooks {names}: run scripts/generate"
    last = names[-1]
    wrong = exercises(load(SOLUTIONS / assignment / last))[-1][0]
    for student in STUDENTS + JA_STUDENTS:
        students, solutions = (JA_HANDSON, JA_SOLUTIONS) if student.startswith("ja-") else (HANDSON, SOLUTIONS)
        dest = copy_assignment(students / assignment, course / "submitted" / student / assignment)
        for name in names if not student.endswith("untouched") else ():
            stubs = {wrong} if student == "onewrong" and name == last else set()
            nb = submission(load(students / assignment / name), load(solutions / assignment / name), stubs)
            (dest / name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    return f"{last[:-6]}/{wrong}"


@pytest.fixture(scope="session")
def graded_course(assignment, tmp_path_factory, data_root):
    """A temp course: generate the assignment (gradebook), submit (see submit), autograde them
    all in one call, read the gradebook. {scores: per student, wrong: the undone exercise}."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    copy_assignment(SOLUTIONS / assignment, course / "solutions" / assignment)
    db = f"sqlite:///{course}/gradebook.db"
    generated = run([NBGRADER, "generate_assignment", assignment, "--force",
                     f"--CourseDirectory.db_url={db}"], cwd=course)
    assert generated[0] == 0, f"generate_assignment failed:\n{generated[1][-3000:]}"
    wrong = submit(course, assignment)
    count = len(STUDENTS + JA_STUDENTS) * len(notebooks(SOLUTIONS / assignment))
    graded = run([NBGRADER, "autograde", assignment, "--force", f"--CourseDirectory.db_url={db}"],
                 cwd=course, timeout=count * limit_s(assignment) + 120, MATCHBOX_DATA=str(data_root))
    status, output, _ = run([sys.executable, "-m", "tests.support.course", "gradebook", db, assignment])
    scores = result_line(output) if status == 0 else None
    assert graded[0] == 0 and scores, (f"autograde exit {graded[0]}:\n{graded[1][-3000:]}\n"
                                       f"gradebook exit {status}:\n{output[-2000:]}")
    return {"scores": scores, "wrong": wrong}


# ---- scripts/generate -------------------------------------------------------------------------

def test_handson_is_up_to_date_with_solutions():
    """Is handson/ exactly what scripts/generate makes from solutions/ (so also byte-stable)?"""
    status, output, _ = run([GENERATE, "--check"])
    assert status == 0, f"scripts/generate --check failed:\n{output}"
    assert "up to date" in output


def test_generate_check_flags_stale_extra_and_missing_files(tmp_path):
    """Does scripts/generate --check go red, naming each file and the fix, when a student file
    was edited by hand, an extra file appeared, or the student version is missing?"""
    first = first_assignment()
    release = tmp_path.resolve() / "release"
    shutil.copytree(HANDSON / first, release / first)
    edited = notebooks(release / first)[0]
    nb = load(edited)
    nb["cells"][0]["source"] = text(nb["cells"][0]) + "\nAn edit made by hand."
    edited.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    extra = release / first / "notes.txt"
    extra.write_text("not generated\n")

    status, output, _ = run([GENERATE, "--check", "--release-dir", release, first])
    assert status == 1, f"expected exit 1 for an edited release folder, got {status}:\n{output}"
    assert f"stale   {edited}" in output, output
    assert f"extra   {extra}" in output, output
    assert "Fix: run scripts/generate" in output, output
    empty = tmp_path.resolve() / "empty"
    status, output, _ = run([GENERATE, "--check", "--release-dir", empty, first])
    assert status == 1, f"expected exit 1 for an empty release folder, got {status}:\n{output}"
    assert f"missing {empty / first / edited.name}" in output, output
    assert first in output


@pytest.mark.parametrize("case", ["output", "count"])
def test_generate_refuses_sources_with_outputs(tmp_path, case):
    """Does scripts/generate refuse (and generate nothing) when a source notebook was committed
    with an output or just an execution count, naming the notebook and the cell?"""
    first = first_assignment()
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(GENERATE, repo / "scripts" / "generate")
    shutil.copy2(ROOT / "nbgrader_config.py", repo)
    copy_assignment(SOLUTIONS / first, repo / "solutions" / first)
    path = notebooks(repo / "solutions" / first)[0]
    nb = load(path)
    index = next(i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code")
    nb["cells"][index]["execution_count"] = 7
    if case == "output":
        nb["cells"][index]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["hello\n"]}]
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")

    status, output, _ = run([repo / "scripts" / "generate"], cwd=repo)
    assert status == 2, f"{case}: expected exit 2, got {status}:\n{output}"
    assert str(path.relative_to(repo)) in output and f"cell {index}" in output, output
    assert "without outputs" in output, output
    assert {"output": "outputs and an execution count", "count": "has an execution count"}[case] in output
    assert not (repo / "handson").exists(), "scripts/generate wrote a release despite refusing"


def test_generate_check_flags_a_translation_whose_english_changed(tmp_path):
    """Does scripts/generate build the Japanese edition from the catalogue, and does --check go
    red, naming the cell and the old and new English, when a translated English cell changed,
    and name a new cell that has no translation?"""
    from tests.support.translation import pseudo_catalogue

    first = first_assignment()
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(GENERATE, repo / "scripts" / "generate")
    shutil.copy2(ROOT / "nbgrader_config.py", repo)
    copy_assignment(SOLUTIONS / first, repo / "solutions" / first)
    source = notebooks(repo / "solutions" / first)[0]
    nb = load(source)
    pseudo_catalogue(nb, repo / "ja" / "translations" / f"{first}.po")
    generate = [sys.executable, repo / "scripts" / "generate"]
    status, output, _ = run(generate, cwd=repo)
    assert status == 0 and "incomplete" not in output, output
    japanese = load(repo / "ja" / "handson" / first / source.name)
    assert japanese["metadata"]["matchbox"] == {"language": "ja"}
    assert "【ja】" in text(japanese["cells"][0]) and "ここにあなたのコードを書きます" in json.dumps(
        japanese, ensure_ascii=False), "the Japanese student version lacks its translation or stub"
    status, output, _ = run([*generate, "--check"], cwd=repo)
    assert status == 0, output

    markdown = next(i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown")
    old = text(nb["cells"][markdown])
    nb["cells"][markdown]["source"] = old + "\nOne more sentence."
    nb["cells"].insert(markdown + 1, {"cell_type": "markdown", "id": "brand-new", "metadata": {},
                                      "source": "A new paragraph nobody translated."})
    source.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    status, output, _ = run([*generate, "--check"], cwd=repo)
    assert status == 1, output
    cell_id = nb["cells"][markdown]["id"]
    assert f"{first} cell {cell_id}: the English changed after its translation" in output, output
    assert "One more sentence." in output and " ".join(old.split())[-20:] in output, output
    assert f"{first} cell brand-new: no translation for 'A new paragraph nobody translated.'" in output, output
    assert "stale   ja/solutions" in output and "Fix: python -m matchbox.translation update ja" in output


# ---- execution --------------------------------------------------------------------------------

def test_solution_runs_top_to_bottom_within_twice_its_bound(executed, assignment):
    """Does every solution notebook run without error, in full (not grading) mode, within 2x
    the curriculum's time bound?"""
    bound = bound_s(assignment)
    for name, result in executed.items():
        print(f"{assignment}/{name}: {result['seconds']:.1f} s (bound {bound} s)")
        assert result["error"] is None, f"{assignment}/{name} failed:\n{result['error']}"
    assert bound, f"{assignment} has no time bound: add it to BOUNDS_S in tests/support/course.py"
    for name, result in executed.items():
        assert result["seconds"] <= 2 * bound, \
            f"{assignment}/{name} took {result['seconds']:.0f} s, more than 2 x {bound} s"


# The English solutions' `nbgrader validate` runs inside the participant image, offline
# (tests/test_image.py::test_solutions_validate_inside_the_image); running it here as well cost
# CI a grading-mode run per notebook and checked nothing more. The autograde round trip below
# grades the solved English submission on this machine.


def test_japanese_solution_passes_nbgrader_validate(validated_ja, assignment):
    """Does the Japanese solution notebook (ja/solutions) run and pass every test cell?"""
    (status, output, seconds), count = validated_ja
    print(f"ja/{assignment}: validated in {seconds:.1f} s")
    assert status == 0, output
    assert output.count("Success! Your notebook passes all the tests.") == count, output
    assert "VALIDATION FAILED" not in output and "CHANGED" not in output, output


# ---- autograde round trip -------------------------------------------------------------------

def expected_points(assignment):
    """{notebook/grade_id: points} of every graded test cell in the sources."""
    return {f"{path.stem}/{meta(cell)['grade_id']}": meta(cell)["points"]
            for path in notebooks(SOLUTIONS / assignment)
            for cell in load(path)["cells"] if is_test(cell)}


def graded(graded_course, assignment, student):
    result = graded_course
    scores = result["scores"][student]
    points = expected_points(assignment)
    assert set(scores["cells"]) == set(points), \
        f"gradebook cells {sorted(scores['cells'])} differ from the source's tests {sorted(points)}"
    for key, cell in scores["cells"].items():
        assert cell["max_score"] == points[key], f"{key}: max score {cell['max_score']}, source says {points[key]}"
        assert not cell["needs_manual_grade"], f"{key} needs manual grading"
    return scores, points, result


def test_autograde_gives_a_solved_submission_full_marks(graded_course, assignment):
    """Does nbgrader autograde give full marks to a submission that answers like the solution?"""
    scores, points, _ = graded(graded_course, assignment, "solved")
    lost = {key: cell["score"] for key, cell in scores["cells"].items() if cell["score"] != points[key]}
    assert not lost, f"solved submission lost points in {lost}"
    assert scores["score"] == scores["max_score"] == sum(points.values())


def test_autograde_fails_every_test_of_the_untouched_student_version(graded_course, assignment):
    """Does every graded test cell of the untouched student version fail (score 0), so that no
    point can be earned without doing the work?"""
    scores, _, _ = graded(graded_course, assignment, "untouched")
    passed = {key: cell["score"] for key, cell in scores["cells"].items() if cell["score"] != 0}
    assert not passed, f"test cells that pass without any answer: {passed}"
    assert scores["score"] == 0


def test_autograde_gives_japanese_submissions_the_english_scores(graded_course, assignment):
    """Graded in the same batch against the one English source, does the Japanese solved
    submission get exactly the solved English one's scores, cell by cell, and does every test
    of the untouched Japanese student version fail?"""
    english, _, _ = graded(graded_course, assignment, "solved")
    japanese, _, _ = graded(graded_course, assignment, "ja-solved")
    assert {k: c["score"] for k, c in japanese["cells"].items()} == \
           {k: c["score"] for k, c in english["cells"].items()}
    assert japanese["score"] == english["score"] == english["max_score"]
    untouched, _, _ = graded(graded_course, assignment, "ja-untouched")
    passed = {key: cell["score"] for key, cell in untouched["cells"].items() if cell["score"] != 0}
    assert not passed and untouched["score"] == 0, f"Japanese test cells that pass without any answer: {passed}"


def test_autograde_takes_exactly_the_points_of_one_undone_exercise(graded_course, assignment):
    """With only the last exercise left as the stub, does the submission lose exactly that
    exercise's points and keep every other point?"""
    scores, points, result = graded(graded_course, assignment, "onewrong")
    wrong_nb, wrong_answer = result["wrong"].split("/")
    nb = load(SOLUTIONS / assignment / f"{wrong_nb}.ipynb")
    wrong_tests = {f"{wrong_nb}/{meta(c)['grade_id']}"
                   for answer, tests in exercises(nb) if answer == wrong_answer for c in tests}
    expected = {key: 0 if key in wrong_tests else value for key, value in points.items()}
    actual = {key: cell["score"] for key, cell in scores["cells"].items()}
    assert actual == expected, f"left undone: {wrong_answer}; scores {actual}, expected {expected}"
    assert scores["score"] == sum(points.values()) - sum(points[key] for key in wrong_tests)
