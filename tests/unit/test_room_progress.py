"""The room view's reading of saved notebooks (src/matchbox/hub/room): exercise states, the order
that puts stuck participants first, and the read-only page that runs nothing. No Docker here;
tests/test_hub_room.py drives the real service in a real hub."""

import copy
import datetime
import json
from html.parser import HTMLParser

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from matchbox.hub.room import progress, render
from matchbox.hub.room.snapshot import Participant, Room
from tests.support.course import HANDSON, JA_HANDSON, all_notebooks, load

NOTEBOOKS = sorted(all_notebooks(HANDSON)) + sorted(all_notebooks(JA_HANDSON))
FIRST = HANDSON / "01-matchbox" / "01-matchbox.ipynb"
T0 = datetime.datetime(2026, 12, 2, 9, 0, tzinfo=datetime.timezone.utc)


def minutes_later(n):
    return T0 + datetime.timedelta(minutes=n)


def cells_with(notebook, role):
    check = progress.is_answer if role == "answer" else progress.is_test
    return [cell for cell in notebook["cells"] if check(cell)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(HANDSON.parent)))
def test_checksum_is_nbgrader_s_and_every_handed_out_notebook_is_untouched(path):
    notebook = load(path)  # as saved: sources are lists of lines
    for cell, reference_cell in zip(notebook["cells"], nbformat.read(path, as_version=4).cells):
        if (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id"):
            reference = compute_checksum(reference_cell)
            assert progress.checksum(cell) == reference, (
                f"{path.name} {cell['metadata']['nbgrader']['grade_id']}: checksum "
                f"{progress.checksum(cell)} differs from nbgrader's {reference}")
    states = progress.exercises(notebook)
    assert states, f"{path.name}: no exercise found (expected one per autograded test cell)"
    assert set(states.values()) == {"untouched"}, f"{path.name} as handed out reads as {states}"


def test_the_japanese_edition_has_the_english_exercises():
    english = progress.exercises(load(FIRST))
    japanese = load(JA_HANDSON / "01-matchbox" / "01-matchbox.ipynb")
    assert progress.language(japanese) == "ja"
    assert list(progress.exercises(japanese)) == list(english)


def error_output():
    return {"output_type": "error", "ename": "AssertionError", "evalue": "outputs_a should be ...",
            "traceback": ["\x1b[31mAssertionError\x1b[0m: outputs_a should be four numbers"]}


def test_states_follow_what_the_participant_did():
    notebook = load(FIRST)
    first_answer, first_test = cells_with(notebook, "answer")[0], cells_with(notebook, "test")[0]
    exercise = first_test["metadata"]["nbgrader"]["grade_id"]

    edited = copy.deepcopy(notebook)
    cells_with(edited, "answer")[0]["source"] = "outputs_a = [0, 0, 0, 1]\n"
    assert progress.exercises(edited)[exercise] == "started"
    # whitespace is a change too: the participant has touched it
    touched = copy.deepcopy(notebook)
    cells_with(touched, "answer")[0]["source"] = "".join(first_answer["source"]) + "\n"
    assert progress.exercises(touched)[exercise] == "started"

    failing = copy.deepcopy(edited)
    test = cells_with(failing, "test")[0]
    test["execution_count"], test["outputs"] = 7, [error_output()]
    states = progress.exercises(failing)
    assert states[exercise] == "failing", states
    # the next exercise is untouched: one failure does not spill over
    assert list(states.values())[1] == "untouched", states

    passing = copy.deepcopy(edited)
    test = cells_with(passing, "test")[0]
    test["execution_count"], test["outputs"] = 8, [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    assert progress.exercises(passing)[exercise] == "passing"

    # a test run on the untouched stub fails (NotImplementedError): failing, not untouched
    ran_stub = copy.deepcopy(notebook)
    test = cells_with(ran_stub, "test")[0]
    test["execution_count"], test["outputs"] = 3, [error_output()]
    assert progress.exercises(ran_stub)[exercise] == "failing"


def test_an_answer_cell_without_a_recorded_checksum_counts_as_started():
    notebook = load(FIRST)
    del cells_with(notebook, "answer")[0]["metadata"]["nbgrader"]["checksum"]
    assert list(progress.exercises(notebook).values())[0] == "started"


def person(name, states, active_minutes_ago=1, now=None):
    now = now or minutes_later(30)
    return Participant(name, now - datetime.timedelta(minutes=active_minutes_ago), "running",
                       assignments={"01-matchbox": dict(states)})


def test_the_stuck_come_first_longest_failing_then_idle():
    room = Room(idle_seconds=600)
    names = lambda ordered: [p.name for p in ordered]
    # 09:00: carol fails; 09:05 dave fails too; erin idle 20 min; frank and gail work
    first = [person("carol", {"a": "failing", "b": "untouched"}, now=T0),
             person("frank", {"a": "passing", "b": "started"}, now=T0)]
    room.order(first, T0)
    now = minutes_later(5)
    later = [person("carol", {"a": "failing", "b": "untouched"}, now=now),
             person("dave", {"a": "passing", "b": "failing"}, now=now),
             person("erin", {"a": "started", "b": "untouched"}, active_minutes_ago=20, now=now),
             person("frank", {"a": "passing", "b": "started"}, now=now),
             person("gail", {"a": "passing", "b": "passing"}, now=now)]
    ordered = room.order(later, now)
    assert names(ordered) == ["carol", "dave", "erin", "frank", "gail"], [
        (p.name, p.reason) for p in ordered]
    assert ordered[0].reason == "failing a (01-matchbox) for 5 min", ordered[0].reason
    assert ordered[2].reason.startswith("idle for 20 min"), ordered[2].reason
    assert [p.as_json()["stuck"] for p in ordered] == [True, True, True, False, False]

    # carol fixes it: she leaves the top, and failing again later starts her clock afresh
    fixed = [person("carol", {"a": "passing", "b": "untouched"}, now=minutes_later(6)),
             person("dave", {"a": "passing", "b": "failing"}, now=minutes_later(6))]
    assert names(room.order(fixed, minutes_later(6))) == ["dave", "carol"]
    again = [person("carol", {"a": "failing", "b": "untouched"}, now=minutes_later(7)),
             person("dave", {"a": "passing", "b": "failing"}, now=minutes_later(7))]
    ordered = room.order(again, minutes_later(7))
    assert names(ordered) == ["dave", "carol"], [(p.name, p.reason) for p in ordered]
    assert ordered[1].reason == "failing a (01-matchbox) for 0 s"


def test_idle_is_not_stuck_when_the_whole_room_is_quiet_or_when_done():
    now = minutes_later(60)
    quiet = [person("ann", {"a": "started"}, active_minutes_ago=30, now=now),
             person("ben", {"a": "untouched"}, active_minutes_ago=40, now=now)]
    assert [p.group for p in Room(600).order(quiet, now)] == [2, 2]
    done = [person("ann", {"a": "passing"}, active_minutes_ago=30, now=now),
            person("ben", {"a": "started"}, active_minutes_ago=1, now=now)]
    ordered = Room(600).order(done, now)
    assert [p.as_json()["stuck"] for p in ordered] == [False, False]
    # fewest passing first among those not stuck
    assert [p.name for p in ordered] == ["ben", "ann"]


def test_the_json_has_the_documented_shape():
    ann = person("ann", {"test_outputs_a": "failing"})
    ann.notebooks = {"01-matchbox": {"test_outputs_a": "01-matchbox/01-matchbox.ipynb"}}
    entry = ann.as_json()
    assert set(entry) >= {"name", "last_activity", "server", "assignments"}
    assert entry["assignments"] == {"01-matchbox": {
        "exercises": {"test_outputs_a": "failing"},
        "notebook_of": {"test_outputs_a": "01-matchbox/01-matchbox.ipynb"}}}
    assert entry["last_activity"].endswith("Z")
    json.dumps(entry)


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


HOSTILE_MARKDOWN = '<img src=x onerror="alert(1)"><script>alert(2)</script>[x](javascript:alert(3))'


def test_the_read_only_page_runs_nothing_a_participant_wrote():
    notebook = load(FIRST)
    notebook["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": HOSTILE_MARKDOWN})
    test = cells_with(notebook, "test")[0]
    test["execution_count"] = 4
    test["outputs"] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": "<script>alert(4)</script>", "text/plain": "<IPython.core.display.HTML object>",
                  "application/javascript": "alert(5)", "image/svg+xml": "<svg onload='alert(6)'/>"}},
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": 'AAAA" onerror="alert(7)', "text/plain": "<Figure>"}},
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=\n"}},
        error_output(),
    ]
    page = render.page("ann", "01-matchbox", "01-matchbox/01-matchbox.ipynb", notebook, "/services/room/")
    elements = Elements()
    elements.feed(page)
    active = [(tag, attrs) for tag, attrs in elements.found
              if tag in ("script", "svg", "iframe", "object", "embed") or any(
                  name.startswith("on") or "javascript:" in (value or "") for name, value in attrs)]
    assert not active, f"the page carries active markup the participant wrote: {active}"
    images = [dict(attrs)["src"] for tag, attrs in elements.found if tag == "img"]
    assert images == ["data:image/png;base64,iVBORw0KGgo="], f"images shown: {images}"
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page, "the markdown is shown as escaped text"
    assert "&lt;IPython.core.display.HTML object&gt;" in page, "HTML output falls back to text/plain"
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page, "a real PNG is shown"
    assert "&lt;Figure&gt;" in page, "an image whose data is not base64 falls back to text/plain"
    assert "\x1b[" not in page and "AssertionError: outputs_a should be four numbers" in page
    assert "test_outputs_a: failing" in page
