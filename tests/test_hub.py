"""The room's hub: docker-compose's `hub` profile, real JupyterHub, real participant containers.

The session's hub (the `hub` fixture, tests/support/hubs.py), started with
`docker-compose --profile hub up -d hub` from this checkout, the participant image being
`matchbox:test` (the `image` fixture) plus jupyterhub-singleuser.
"""

import json
import os
import re
import secrets
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.support.containers import ARTIFACTS, docker
from tests.support.course import HANDSON, SOLUTIONS, is_test, load, meta, notebooks, submission
from tests.support.hub_client import collect_and_grade, run_room
from tests.support.hubs import ADMIN, HUB_TAG, admin_client, approved, own_volumes, running_hub

ASSIGNMENT = "01-matchbox"
# Run in a participant's kernel: what each exchange folder lets them do.
EXCHANGE_PROBE = """
import json, os
course = "/srv/nbgrader/exchange/matchbox"
found = {}
for name, probe in (("inbound", lambda: os.listdir(course + "/inbound")),
                    ("feedback", lambda: os.listdir(course + "/feedback")),
                    ("outbound", lambda: open(course + "/outbound/01-matchbox/01-matchbox.ipynb", "a"))):
    try:
        probe()
        found[name] = "allowed"
    except OSError as problem:
        found[name] = "PermissionError" if isinstance(problem, PermissionError) else "OSError"
print(json.dumps(found))
"""
# How many participants the room test simulates at once (the figure is 10).
PARTICIPANTS = int(os.environ.get("MATCHBOX_HUB_TEST_PARTICIPANTS", "10"))


def test_admin_logs_in_and_spawns_a_lab(hub):
    assert hub.client(ADMIN, "wrong-password").request_token().status_code == 403
    admin = hub.admin()
    r = admin.request_token()
    assert r.status_code == 201, (r.status_code, r.text)
    token = admin.token
    me = admin.api("GET", "/user").json()
    assert me["name"] == ADMIN and me["admin"] is True

    seconds = admin.spawn()
    print(f"{ADMIN}'s server ready {seconds:.1f} s after the spawn request")

    # The instructor's container: the instructor image, on the hub's network, in the instructor group.
    name = f"{hub.prefix}-{ADMIN}"
    inspect = docker("inspect", "-f", "{{.Config.Image}} {{json .NetworkSettings.Networks}}", name).stdout
    assert inspect.startswith(f"matchbox-hub-instructor:{HUB_TAG} ") and f'"{hub.prefix}"' in inspect, inspect
    groups = docker("inspect", "-f", "{{json .HostConfig.GroupAdd}}", name).stdout
    assert '"2000"' in groups, groups

    # Through the hub's proxy, with the token: the Jupyter server, JupyterLab and formgrader.
    headers = {"Authorization": f"token {token}"}
    status = requests.get(f"{hub.url}/user/{ADMIN}/api/status", headers=headers, timeout=30)
    assert status.status_code == 200, (status.status_code, status.text)
    lab = requests.get(f"{hub.url}/user/{ADMIN}/lab", headers=headers, timeout=30)
    assert lab.status_code == 200 and "JupyterLab" in lab.text, lab.status_code
    formgrader = requests.get(f"{hub.url}/user/{ADMIN}/formgrader", headers=headers, timeout=60)
    assert formgrader.status_code == 200 and "nbgrader formgrade" in formgrader.text, formgrader.status_code
    listed = requests.get(f"{hub.url}/user/{ADMIN}/formgrader/api/assignments", headers=headers, timeout=60)
    assert listed.status_code == 200, (listed.status_code, listed.text[:500])
    assert ASSIGNMENT in {a["name"] for a in listed.json()}, listed.text[:1000]
    # The course was seeded into the instructor's volume: sources with hidden tests, release folder.
    contents = requests.get(f"{hub.url}/user/{ADMIN}/api/contents", headers=headers, timeout=30).json()
    names = {item["name"] for item in contents["content"]}
    assert {"solutions", "handson", "nbgrader_config.py"} <= names, names
    # Without a token: the hub sends the browser to its login page, never to the server.
    anon = requests.get(f"{hub.url}/user/{ADMIN}/api/status", timeout=30, allow_redirects=False)
    assert anon.status_code in (302, 403), anon.status_code


def test_participants_cannot_reach_each_other(hub):
    admin = admin_client(hub)
    a, b = approved(hub, admin, "alice"), approved(hub, admin, "bob")
    # A gets 403 on B's server (files, kernels) and cannot act on B through the hub's API.
    assert a.server("GET", "/api/contents", user=b.name).status_code == 403
    assert a.server("POST", "/api/kernels", user=b.name, json={}).status_code == 403
    assert a.api("GET", f"/users/{b.name}").status_code in (403, 404)
    assert a.api("POST", f"/users/{b.name}/server").status_code in (403, 404)
    assert a.api("POST", f"/users/{b.name}/tokens", json={}).status_code in (403, 404)
    assert a.api("GET", "/users").status_code in (403, 404)
    assert a.server("GET", "/api/contents").status_code == 200
    # A's container has A's volume, the exchange read-only and its inbound folder, nothing else;
    # limits are set on it, with no extra swap.
    container = f"{hub.prefix}-{a.name}"
    assert own_volumes(hub, a) == {f"{hub.prefix}-user-{a.name}": True, f"{hub.prefix}-exchange": False,
                                   f"{hub.prefix}-inbound": True}
    # uid 1000 each, with a group of their own (what tells their submissions apart).
    users = [docker("inspect", "-f", "{{.Config.User}}", f"{hub.prefix}-{x.name}").stdout.strip()
             for x in (a, b)]
    assert all(u.startswith("1000:") for u in users) and users[0] != users[1], users
    limits = docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuQuota}} "
                    "{{.HostConfig.CpuPeriod}}", container).stdout.split()
    assert [int(x) for x in limits[:2]] == [1024 ** 3] * 2, limits
    assert int(limits[2]) / int(limits[3]) == 1.0, limits


def test_a_room_of_participants_isolation_and_memory_limit(hub):
    """Can N participants at once sign up, be approved, log in, spawn, load MNIST, fetch and submit
    01-matchbox, and the instructor collect and grade them all; is A kept from B; and does A's
    memory bomb kill only A's kernel?"""
    solved = {path.name: submission(load(HANDSON / ASSIGNMENT / path.name), load(path))
              for path in notebooks(SOLUTIONS / ASSIGNMENT)}
    points = sum(meta(cell).get("points", 0) for path in notebooks(SOLUTIONS / ASSIGNMENT)
                 for cell in load(path)["cells"] if is_test(cell))
    started = time.monotonic()
    # Even-numbered participants submit worked answers, odd-numbered ones the notebook as fetched.
    admin, results = run_room(hub.url, ADMIN, hub.admin_password, PARTICIPANTS, prefix="room",
                              assignment=ASSIGNMENT, answers=lambda i: solved if i % 2 == 0 else None)
    spawns = sorted(t["spawn"] for _, t in results)
    print(f"{PARTICIPANTS} participants ready with MNIST loaded, {ASSIGNMENT} fetched and submitted "
          f"in {time.monotonic() - started:.1f} s; spawn median {spawns[len(spawns) // 2]:.1f} s, "
          f"max {spawns[-1]:.1f} s")
    a, b = results[0][0], results[1][0]

    # The exchange: A can submit but not list inbound (so never finds B's submission), and cannot
    # change what the instructor released.
    status, out, error = a.execute(EXCHANGE_PROBE)
    assert status == "ok", error
    assert json.loads(out) == {"inbound": "PermissionError", "outbound": "OSError",
                               "feedback": "PermissionError"}, out

    # A hands in A's worked answers under B's name from a terminal, after B: the newest "B"
    # submission. Its group is A's server's, so the grader must ignore it.
    forged = f"nbgrader submit {ASSIGNMENT} --student {b.name}"
    status, out, error = a.execute(f"import subprocess; print(subprocess.run({forged!r}.split()).returncode)")
    assert status == "ok" and out.strip().splitlines()[-1] == "0", (status, out, error)
    assert f"inbound/{b.name}+{ASSIGNMENT}+" in out, out

    # The instructor collects and grades in their own server (sandboxed kernels, -j 2).
    t = time.monotonic()
    scores, output = collect_and_grade(admin, ASSIGNMENT)
    print(f"collected and graded {len(scores)} submissions in {time.monotonic() - t:.1f} s")
    expected = {client.name: (points if i % 2 == 0 else 0) for i, (client, _) in enumerate(results)}
    assert scores == expected, output[-3000:]
    # "room01: 0/11  (ignored a submission from room00's server made at ...)"
    assert re.search(rf"{b.name}: 0/{points}\W+ignored a submission from {a.name}'s server", output), \
        output[-3000:]

    # A gets 403 on B's server (files, kernels) and cannot read B through the hub's API.
    assert a.server("GET", "/api/contents", user=b.name).status_code == 403
    assert a.server("POST", "/api/kernels", user=b.name, json={}).status_code == 403
    assert a.api("GET", f"/users/{b.name}").status_code in (403, 404)
    assert a.api("POST", f"/users/{b.name}/server").status_code in (403, 404)
    assert a.api("POST", f"/users/{b.name}/tokens", json={}).status_code in (403, 404)
    # A's container has A's volume and no other participant's.
    assert f"{hub.prefix}-user-{b.name}" not in own_volumes(hub, a)

    # The memory limit is set on the container, and enforced: A's kernel dies, B keeps working.
    memory = docker("inspect", "-f", "{{.HostConfig.Memory}}", f"{hub.prefix}-{a.name}").stdout.strip()
    swap = docker("inspect", "-f", "{{.HostConfig.MemorySwap}}", f"{hub.prefix}-{a.name}").stdout.strip()
    assert int(memory) == int(swap) == 1024 ** 3, (memory, swap)
    status, _, _ = a.execute("import numpy as np\nx = np.ones(3 * 1024**3 // 8)\nprint(x.sum())")
    assert status == "dead", status
    assert b.execute("print(6 * 7)")[:2] == ("ok", "42\n")
    assert docker("inspect", "-f", "{{.State.Running}}", f"{hub.prefix}-{a.name}").stdout.strip() == "true"
    assert a.execute("print(1 + 1)")[:2] == ("ok", "2\n"), "A's server cannot start a new kernel"


def test_work_survives_hub_restart_and_container_removal(hub):
    admin = admin_client(hub)
    ann = hub.client("ann", "ann-password-" + secrets.token_hex(4))
    ann.signup()
    admin.approve("ann")
    assert ann.login().status_code == 201
    ann.spawn()
    body = {"type": "file", "format": "text", "content": "kept\n"}
    assert ann.server("PUT", "/api/contents/mine.txt", json=body).status_code in (200, 201)
    # An edited hand-on notebook is never overwritten by seeding.
    welcome = ann.server("GET", "/api/contents/00-welcome").json()["content"]
    notebook = next(i["path"] for i in welcome if i["name"].endswith(".ipynb"))
    nb = ann.server("GET", f"/api/contents/{notebook}").json()
    nb["content"]["cells"][0]["source"] = "edited by ann"
    assert ann.server("PUT", f"/api/contents/{notebook}",
                      json={"type": "notebook", "content": nb["content"]}).status_code == 200

    hub.compose("restart", "hub")
    hub.wait_up()
    assert ann.login().status_code == 201  # tokens survive too, but log in as people do
    read = ann.server("GET", "/api/contents/mine.txt")
    assert read.status_code == 200 and read.json()["content"] == "kept\n"

    ann.stop()
    deadline = time.monotonic() + 60
    while docker("ps", "-aq", "--filter", f"name=^{hub.prefix}-ann$").stdout.strip():
        assert time.monotonic() < deadline, "the stopped server's container was not removed"
        time.sleep(0.5)
    ann.spawn()
    assert ann.server("GET", "/api/contents/mine.txt").json()["content"] == "kept\n"
    nb = ann.server("GET", f"/api/contents/{notebook}").json()
    assert nb["content"]["cells"][0]["source"] == "edited by ann"


@pytest.mark.browser
def test_a_participant_signs_up_and_in_with_a_browser(hub, page):
    """Can a participant sign up in headless Chromium and, once approved, sign in, start their
    server in the room's language and land in JupyterLab with the hands-on notebooks?"""
    admin = admin_client(hub)
    name, password = "carol", "carol-password-" + secrets.token_hex(4)
    page.goto(hub.url + "/hub/signup")
    page.fill("input[name=username]", name)
    page.fill("input[name=signup_password]", password)
    page.fill("input[name=signup_password_confirmation]", password)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile("sign ?up was successful|sent to the admin", re.I))).to_be_visible()
    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile("not been authorized", re.I))
           ).to_be_visible()
    admin.approve(name)

    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    # the start page asks the language; the room's default (English) is preselected
    language = page.get_by_label(re.compile("Language of the notebooks"))
    expect(language).to_have_value("en")
    page.get_by_role("button", name=re.compile("start", re.I)).click()
    files = page.locator(".jp-DirListing-content")
    expect(files.get_by_text(ASSIGNMENT, exact=True)).to_be_visible(timeout=180_000)
    assert f"/user/{name}/lab" in page.url, page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "hub-participant-in-lab.png")


CULL_TIMEOUT_S = 20


def culled(hub, admin, name, limit=120):
    """Wait until the hub's API shows no server (and nothing pending) for name; the seconds."""
    started = time.monotonic()
    while True:
        r = admin.api("GET", f"/users/{name}")
        assert r.status_code == 200, (r.status_code, r.text)
        model = r.json()
        if not model["servers"] and model["pending"] is None:
            return time.monotonic() - started
        assert time.monotonic() - started < limit, \
            f"{name}'s server still there {limit} s after its last use: {model}\n{hub.logs()[-3000:]}"
        time.sleep(1)


def test_the_idle_culler_stops_idle_servers_and_keeps_their_work(image, instructor_image):
    """Does the culler stop a server idle past its timeout (gone from the hub's API, its
    container gone), keeping the volume and its files for the next login? This hub runs without
    disk limits (plain volumes): the inbound is still writable to participants, and deleting a
    participant still archives their volume."""
    with running_hub(image, instructor_image, MATCHBOX_HUB_CULL_TIMEOUT=str(CULL_TIMEOUT_S),
                     MATCHBOX_HUB_CULL_EVERY="5", MATCHBOX_HUB_DISK_LIMIT="0",
                     MATCHBOX_HUB_INBOUND_LIMIT="0") as hub:
        admin = admin_client(hub)
        dan = approved(hub, admin, "dan")
        container, volume = f"{hub.prefix}-dan", f"{hub.prefix}-user-dan"
        body = {"type": "file", "format": "text", "content": "kept\n"}
        assert dan.server("PUT", "/api/contents/mine.txt", json=body).status_code in (200, 201)
        assert docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip() == "true"

        seconds = culled(hub, admin, "dan")
        print(f"culled {seconds:.0f} s after the last request (timeout {CULL_TIMEOUT_S} s)")
        # the culler stopped it for being idle (not something else)
        assert "Culling server dan (inactive for" in hub.logs(), hub.logs()[-3000:]
        # the container is gone (DockerSpawner.remove), the volume and the file in it are kept
        deadline = time.monotonic() + 30
        while docker("ps", "-aq", "--filter", f"name=^{container}$").stdout.strip():
            assert time.monotonic() < deadline, f"{container} still there after the cull"
            time.sleep(0.5)
        kept = docker("run", "--rm", "--entrypoint", "cat", "-v", f"{volume}:/work:ro", image,
                      "/work/mine.txt", check=False)
        assert kept.returncode == 0 and kept.stdout == "kept\n", (kept.stdout, kept.stderr)

        dan.spawn()
        assert dan.server("GET", "/api/contents/mine.txt").json()["content"] == "kept\n"
        inbound = "/srv/nbgrader/exchange/matchbox/inbound/dan-probe"
        assert dan.execute(f"open({inbound!r}, 'w').write('x'); print('written')")[:2] == ("ok", "written\n")
        dan.stop()
        while docker("ps", "-aq", "--filter", f"name=^{container}$").stdout.strip():
            time.sleep(0.5)
        assert admin.api("DELETE", "/users/dan").status_code == 204
        volumes = docker("volume", "ls", "-q", "--filter", f"name={volume}").stdout.split()
        assert len(volumes) == 1 and volumes[0].startswith(f"{volume}-deleted-"), volumes
