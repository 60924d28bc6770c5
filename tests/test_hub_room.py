"""The room view (/services/room/, src/matchbox/hub/room) in the session's real hub: participants
work through their kernels and save, as JupyterLab does, and the instructor's grid in Chromium
turns each exercise from untouched to failing to passing within its refresh; participants get
403; a Japanese participant's notebook reads the same."""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.support.containers import ARTIFACTS
from tests.support.course import SOLUTIONS, is_answer, is_test, load, meta, submission
from tests.support.hub_client import HubError
from tests.support.hubs import ADMIN, admin_client, approved

pytestmark = [pytest.mark.docker, pytest.mark.browser]

ASSIGNMENT = "01-matchbox"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
EXERCISE = "test_outputs_a"
# A beginner's slip: OR's outputs for AND.
WRONG = "outputs_a = [0, 1, 1, 1]\n"
# The grid must show a change within this many seconds of the save (the figure).
WITHIN_S = 10


def progress(client):
    r = client.hub_get("/services/room/api/progress")
    assert r.status_code == 200, f"the room's API answered {r.status_code} to {client.name}: {r.text[:300]}"
    return r.json()


def mine(data, name):
    found = [p for p in data["participants"] if p["name"] == name]
    assert found, f"{name} is not in the room view; it shows {[p['name'] for p in data['participants']]}"
    return found[0]


def state(data, name, exercise=EXERCISE):
    return mine(data, name)["assignments"].get(ASSIGNMENT, {}).get("exercises", {}).get(exercise)


def spawn_in(client, language, limit=300):
    """Start the participant's server in a language (the start page's choice, through the API)."""
    r = client.api("POST", f"/users/{client.name}/server", json={"language": language})
    assert r.status_code in (201, 202), f"spawn of {client.name} in {language}: {r.status_code} {r.text}"
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if client.api("GET", f"/users/{client.name}").json().get("servers", {}).get("", {}).get("ready"):
            return
        time.sleep(0.5)
    raise HubError(f"{client.name}'s server not ready after {limit} s")


def work(client, answer):
    """What a participant does in JupyterLab: open the notebook, write an answer, run the cells
    from the top through the first exercise's test in one kernel (over its websocket), save the
    notebook with the outputs. Returns the test cell's (status, error)."""
    model = client.server("GET", f"/api/contents/{NOTEBOOK}?content=1&type=notebook")
    assert model.status_code == 200, f"{client.name}: reading {NOTEBOOK}: {model.status_code}"
    notebook = model.json()["content"]
    kernel = client.server("POST", "/api/kernels", json={"name": "python3"}).json()["id"]
    count = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        if is_answer(cell):
            cell["source"] = answer
        status, out, error = client.execute(cell["source"], kernel_id=kernel)
        count += 1
        cell["execution_count"], cell["outputs"] = count, []
        if out:
            cell["outputs"].append({"output_type": "stream", "name": "stdout", "text": out})
        if status == "error":
            name, _, value = error.partition(": ")
            cell["outputs"].append({"output_type": "error", "ename": name, "evalue": value,
                                    "traceback": [error]})
        if is_test(cell):
            break
        assert status == "ok", f"{client.name}: a cell before the test failed: {error}"
    client.server("DELETE", f"/api/kernels/{kernel}")
    saved = client.server("PUT", f"/api/contents/{NOTEBOOK}", json={"type": "notebook", "content": notebook})
    assert saved.status_code == 200, f"{client.name}: saving: {saved.status_code} {saved.text[:300]}"
    return status, error


def right_answer():
    solution = load(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    filled = submission(solution, solution)
    return next("".join(cell["source"]) for cell in filled["cells"]
                if is_answer(cell) and meta(cell)["grade_id"] == EXERCISE.removeprefix("test_"))


def log_in(page, hub):
    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", hub.admin_password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/(hub/home|hub/spawn|user/).*"), timeout=60_000)


def test_the_room_view_follows_participants_and_keeps_them_out(hub, page):
    admin = admin_client(hub)
    en = approved(hub, admin, "roomview-en")
    ja = hub.client("roomview-ja", "roomview-ja-password-1")
    ja.signup()
    admin.approve(ja.name)
    assert ja.login().status_code == 201
    spawn_in(ja, "ja")

    # participants: 403 on the page and the API, with a token or with their browser session
    for client in (en, ja):
        for path in ("/services/room/", "/services/room/api/progress",
                     f"/services/room/participant/{en.name}/{NOTEBOOK}"):
            r = client.hub_get(path, allow_redirects=False)
            assert r.status_code == 403, f"{client.name} got {r.status_code} for {path} (expected 403)"
    assert en.browser_login()
    r = en.session.get(hub.url + "/services/room/", timeout=60)
    assert r.status_code == 403 and 'id="room"' not in r.text, (
        f"{en.name}'s browser reached the room view: {r.status_code} {r.url}")

    # as handed out: every exercise untouched; the server's facts are there
    data = progress(admin)
    for name in (en.name, ja.name):
        entry = mine(data, name)
        states = entry["assignments"][ASSIGNMENT]["exercises"]
        assert states and set(states.values()) == {"untouched"}, f"{name}: {states}"
        assert entry["server"] == "running" and entry["last_activity"], entry
        assert isinstance(entry["memory"], int) and entry["memory"] > 10 * 2 ** 20, (
            f"{name}'s memory in use should be read from Docker; got {entry['memory']!r}")
    assert mine(data, ja.name)["language"] == "ja" and mine(data, en.name)["language"] == "en"
    assert list(mine(data, ja.name)["assignments"][ASSIGNMENT]["exercises"]) == list(
        mine(data, en.name)["assignments"][ASSIGNMENT]["exercises"]), "the editions' exercises differ"
    for name in ("name", "last_activity", "server", "assignments"):
        assert name in mine(data, en.name)

    # the instructor's grid in Chromium, signed in through the hub's OAuth
    log_in(page, hub)
    page.goto(hub.url + "/services/room/")
    row = page.locator(f'tr[data-name="{en.name}"]')
    cell = row.locator(f'td[data-exercise="{EXERCISE}"]')
    expect(cell).to_have_class(re.compile(r"\buntouched\b"), timeout=30_000)

    # en writes a wrong answer and runs the test: failing in the grid within WITHIN_S of the save
    status, error = work(en, WRONG)
    assert status == "error" and "AssertionError" in error, (status, error)
    saved = time.monotonic()
    expect(cell).to_have_class(re.compile(r"\bfailing\b"), timeout=WITHIN_S * 1000)
    seen = time.monotonic() - saved
    print(f"failing shown {seen:.1f} s after the save")
    first = page.locator("#room tbody tr").first
    expect(first).to_have_attribute("data-name", en.name)  # the stuck one is on top
    page.screenshot(path=ARTIFACTS / "room-view.png", full_page=True)

    # the instructor opens en's notebook read-only from the cell
    cell.locator("a").click()
    expect(page.get_by_text("test_outputs_a: failing").first).to_be_visible()
    expect(page.get_by_text(WRONG.strip()).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "room-view-notebook.png", full_page=True)
    page.go_back()

    # ja fails too; en fixes the answer: passing, and ja is now the one on top
    assert work(ja, WRONG)[0] == "error"
    status, error = work(en, right_answer())
    assert status == "ok", f"the solution's answer failed its test: {error}"
    saved = time.monotonic()
    expect(page.locator(f'tr[data-name="{en.name}"] td[data-exercise="{EXERCISE}"]')).to_have_class(
        re.compile(r"\bpassing\b"), timeout=WITHIN_S * 1000)
    print(f"passing shown {time.monotonic() - saved:.1f} s after the save")
    expect(page.locator(f'tr[data-name="{ja.name}"] td[data-exercise="{EXERCISE}"]')).to_have_class(
        re.compile(r"\bfailing\b"), timeout=WITHIN_S * 1000)
    data = progress(admin)
    names = [p["name"] for p in data["participants"]]
    assert names.index(ja.name) < names.index(en.name), f"the failing participant should come first: {names}"
    assert state(data, en.name) == "passing" and state(data, ja.name) == "failing", json.dumps(data)[:2000]
    assert re.match(rf"failing {EXERCISE} \({ASSIGNMENT}\) for \d+", mine(data, ja.name)["reason"]), mine(data, ja.name)
