"""Scores and feedback back to the participants, on the session's hub: `grade ASSIGNMENT
--from-exchange --release-feedback` in the instructor's server, then each participant's
assignment list ("Fetch Feedback", nbgrader's fetch_feedback) brings their own feedback, and no
one else's. Also the command's refusals, on a course folder here (no hub, no Docker).
"""

import html
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.support.containers import ARTIFACTS
from tests.support.course import (
    HANDSON,
    JA_HANDSON,
    JA_SOLUTIONS,
    SOLUTIONS,
    is_test,
    load,
    meta,
    submission,
    text,
)
from tests.support.hub_client import HubClient, fetched_feedback, run_room, shell
from tests.support.hubs import ADMIN, approved

ASSIGNMENT = "00-welcome"  # no other hub test submits it: this module's grading is its own
NAME = f"{ASSIGNMENT}.ipynb"
FEEDBACK = "/srv/nbgrader/exchange/matchbox/feedback"
SCORE = re.compile(r"\(Score: ([0-9.]+) / ([0-9.]+)\)")  # the feedback page's title line


@dataclass
class Room:
    """The graded and released room: A (English, solved), B (Japanese, partly solved), a
    participant whose submission is not a notebook, one who submitted nothing."""

    admin: HubClient
    a: HubClient
    b: HubClient
    broken: HubClient
    idle: HubClient
    scores: dict
    output: str


def first_test_line(edition):
    """The first line of the notebook's first test cell in an edition (its title comment)."""
    cell = next(c for c in load(edition / ASSIGNMENT / NAME)["cells"] if is_test(c))
    return html.escape(text(cell).splitlines()[0], quote=False)


def grades(admin):
    """{student: score} of the assignment in the instructor's grades.csv."""
    status, table = shell(admin, "cat grades.csv")
    assert status == 0, table
    rows = [line.split(",") for line in table.strip().splitlines()]
    header = rows[0]
    return {row[header.index("student_id")]: float(row[header.index("score")])
            for row in rows[1:] if row[header.index("assignment")] == ASSIGNMENT}


@pytest.fixture(scope="module")
def room(hub):
    solved = submission(load(HANDSON / ASSIGNMENT / NAME), load(SOLUTIONS / ASSIGNMENT / NAME))
    partly = submission(load(JA_HANDSON / ASSIGNMENT / NAME), load(JA_SOLUTIONS / ASSIGNMENT / NAME),
                        stubs=("select_digit", "chain_shape"))
    admin, results = run_room(hub.url, ADMIN, hub.admin_password, 2, prefix="fb", assignment=ASSIGNMENT,
                              answers=lambda i: {NAME: [solved, partly][i]})
    a, b = results[0][0], results[1][0]
    broken, idle = approved(hub, admin, "fbbroken"), approved(hub, admin, "fbidle")
    assert broken.assignment("fetch", ASSIGNMENT)["success"]
    r = broken.server("PUT", f"/api/contents/{ASSIGNMENT}/{NAME}",
                      json={"type": "file", "format": "text", "content": "{ not a notebook"})
    assert r.status_code in (200, 201), (r.status_code, r.text[:300])
    assert broken.assignment("submit", ASSIGNMENT)["success"]
    # graded, nothing released yet: nothing to fetch
    assert fetched_feedback(a, ASSIGNMENT) == {}, "feedback was there to fetch before any release"

    status, output = shell(admin, f"grade {ASSIGNMENT} --from-exchange --release-feedback", limit=1800)
    # 1: fbbroken could not be graded (the others were, and released)
    assert status == 1, (f"grade --release-feedback: expected exit 1 (one submission is not a notebook), "
                         f"got {status}:\n{output[-3000:]}")
    return Room(admin, a, b, broken, idle, grades(admin), output)


def test_feedback_reaches_its_own_participant_and_no_other(room):
    a, b, scores, output = room.a, room.b, room.scores, room.output
    full = sum(meta(c).get("points", 0) for c in load(SOLUTIONS / ASSIGNMENT / NAME)["cells"] if is_test(c))
    assert scores[a.name] == full and 0 < scores[b.name] < full, \
        f"expected {a.name} {full}/{full} and {b.name} in between, the gradebook says {scores}"
    for client in (a, b):
        assert f"{client.name}: feedback released ({scores[client.name]:g}/{full:g})" in output, output[-3000:]
    assert re.search(r"fbbroken: nothing released: not graded \(.*not a valid notebook", output), output[-3000:]
    assert re.search(r"nothing released for [^\n]*\bfbidle\b[^\n]*: no submission graded", output), output[-3000:]

    # A's feedback, in A's folder, with A's score; B's with B's, in B's language, never A's.
    english, japanese = first_test_line(SOLUTIONS), first_test_line(JA_SOLUTIONS)
    for client, own, other in ((a, english, japanese), (b, japanese, english)):
        pages = fetched_feedback(client, ASSIGNMENT)
        assert len(pages) == 1 and all(re.fullmatch(rf"{ASSIGNMENT}/feedback/[^/]+/{ASSIGNMENT}\.html", p)
                                       for p in pages), f"{client.name} fetched {sorted(pages)}, expected one page"
        page = next(iter(pages.values()))
        shown = [float(x) for x in SCORE.search(page).groups()]
        assert shown == [scores[client.name], full], \
            f"{client.name}'s feedback shows {shown}, the gradebook {scores[client.name]}/{full}"
        assert own in page and other not in page, \
            f"{client.name}'s feedback is not in their notebook's language (expected {own!r})"

    # B cannot list the exchange's feedback folder (the file names are the secret).
    status, out, error = b.execute(f"import os\ntry:\n    os.listdir({FEEDBACK!r})\n    print('listed')\n"
                                   "except PermissionError:\n    print('refused')")
    assert (status, out.strip()) == ("ok", "refused"), (status, out, error)
    # The released names say nothing of whose they are: nbgrader's hashes of the secrets.
    status, names = shell(room.admin, f"ls {FEEDBACK}")
    assert status == 0 and all(re.fullmatch(r"[0-9a-f]{32}\.html", n) for n in names.split()), \
        f"expected only hash-named pages in {FEEDBACK}, found:\n{names}"

    # The ungradable submission and the absent participant get nothing.
    for client in (room.broken, room.idle):
        assert fetched_feedback(client, ASSIGNMENT) == {}, f"{client.name} fetched feedback"

    # Releasing again, alone, releases what was graded (nothing to regrade).
    status, again = shell(room.admin, f"grade {ASSIGNMENT} --release-feedback")
    assert status == 0, again[-3000:]
    assert f"{a.name}: feedback released" in again and f"{b.name}: feedback released" in again, again
    assert re.search(r"nothing released for [^\n]*\bfbbroken\b", again), again


@pytest.mark.browser
def test_a_participant_fetches_feedback_in_jupyterlab(hub, room, page):
    """B, in JupyterLab: the assignment list, Fetch Feedback, view feedback, the page with the score."""
    b = room.b
    status, out = shell(b, f"rm -rf {ASSIGNMENT}/feedback")  # what the other test fetched
    assert status == 0, out
    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", b.name)
    page.fill("input[name=password]", b.password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/user/{b.name}/"), timeout=120_000)
    page.goto(f"{hub.url}/user/{b.name}/lab")
    page.locator("#jp-menu-panel").get_by_text("Nbgrader", exact=True).click(timeout=120_000)
    page.get_by_text("Assignment List", exact=True).click()
    fetch = page.get_by_role("button", name="Fetch Feedback")
    expect(fetch).to_be_visible(timeout=60_000)
    fetch.click()
    view = page.get_by_text("(view feedback)")
    expect(view).to_be_visible(timeout=60_000)
    view.click()
    page.locator(".jp-DirListing-content").get_by_text(f"{ASSIGNMENT}.html").dblclick()
    shown = f"(Score: {room.scores[b.name]:.1f} / "
    frame = page.frame_locator(".jp-HTMLViewer iframe")
    expect(frame.get_by_text(shown, exact=False).first).to_be_visible(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "hub-participant-feedback.png")


# ---- refusals, on a course folder here ----------------------------------------------------------

def grade_here(course, *args):
    return subprocess.run([sys.executable, "-m", "matchbox.grader", *args, "--course", str(course)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def course(tmp_path):
    (tmp_path / "course" / "source" / ASSIGNMENT).mkdir(parents=True)
    config = (f"c.CourseDirectory.course_id = 'matchbox'\n"
              f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n")
    (tmp_path / "course" / "nbgrader_config.py").write_text(config, encoding="utf-8")
    return tmp_path / "course"


def test_release_refusals_name_the_fix(course, tmp_path):
    (tmp_path / "subs").mkdir()
    done = grade_here(course, ASSIGNMENT, "--submissions", str(tmp_path / "subs"), "--release-feedback")
    assert done.returncode != 0 and "grade with --from-exchange --release-feedback" in done.stderr, done.stderr
    done = grade_here(course, ASSIGNMENT, "--release-feedback")
    assert done.returncode != 0 and "no nbgrader exchange" in done.stderr and "c.Exchange.root" in done.stderr, \
        done.stderr
    done = grade_here(course, "--release-feedback")
    assert done.returncode != 0 and "name the assignment" in done.stderr, done.stderr
    (tmp_path / "exchange" / "matchbox").mkdir(parents=True)
    done = grade_here(course, ASSIGNMENT, "--release-feedback")
    assert done.returncode != 0 and "grade it first" in done.stderr, done.stderr


def test_release_of_feedback_graded_from_a_folder_is_held_back(course, tmp_path):
    """Feedback without the submission's secret (graded from a folder) is named, not released;
    the one with it is released byte for byte (a Japanese page stays Japanese)."""
    from nbgrader.utils import notebook_hash

    (tmp_path / "exchange" / "matchbox").mkdir(parents=True)
    page = "<h4>00-welcome (Score: 3.0 / 8.0)</h4><pre># standardize のテスト</pre>"
    for student, secret in (("ja", "s3cret"), ("folder", None)):
        folder = course / "feedback" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.html").write_text(page, encoding="utf-8")
        (folder / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 UTC", encoding="utf-8")
        if secret:
            (folder / "submission_secret.txt").write_text(secret, encoding="utf-8")
    done = grade_here(course, ASSIGNMENT, "--release-feedback")
    assert done.returncode == 1, done.stderr
    assert "folder: nothing released: its feedback has no submission_secret.txt" in done.stderr, done.stderr
    released = sorted((tmp_path / "exchange" / "matchbox" / "feedback").iterdir())
    assert [p.name for p in released] == [notebook_hash(secret="s3cret", notebook_id=ASSIGNMENT) + ".html"], released
    assert released[0].read_text(encoding="utf-8") == page
    assert done.stderr.count("feedback released (") == 1, done.stderr
