"""The hub on a Docker Swarm of three engines on this machine (deploy/swarm/stack.yml,
MATCHBOX_HUB_SPAWNER=swarm, src/matchbox/hub/swarm.py; the swarm itself: tests/support/swarm.py).

One test, in phases that each print their time: the swarm formed and the hub deployed; six
participants spread over the three nodes (least-loaded: two each) sign up, spawn, load MNIST, fetch
and submit 01-matchbox; the instructor, on the manager, collects and grades them all from the
exchange folder every node sees; a participant's file survives a stop and a respawn on the same
node; no participant reaches another's server; a worker removed (`docker rm -f`) takes only its
own participants' servers with it. Everything is removed afterwards.
"""

import time
from collections import Counter

import pytest

from tests.support.containers import docker
from tests.support.course import HANDSON, SOLUTIONS, is_test, load, meta, notebooks, submission
from tests.support.hub_client import HubError, collect_and_grade, run_room
from tests.support.hubs import ADMIN, HUB_TAG, Hub
from tests.support.swarm import swarm_hub

pytestmark = pytest.mark.docker

ASSIGNMENT = "01-matchbox"
PARTICIPANTS = 6
# another participant's server, asked directly on the swarm's network (no hub, no token)
DIRECT = """
import urllib.request, urllib.error
try:
    print(urllib.request.urlopen("http://{service}:8888/user/{user}/api/contents", timeout=10).status)
except urllib.error.HTTPError as refused:
    print(refused.code)
except OSError as unreachable:
    print("unreachable", unreachable)
"""


def hub_images(image, instructor_image):
    """matchbox-hub, -user and -instructor:HUB_TAG built from this checkout (docker-compose)."""
    Hub(image, instructor_image).compose("build", "hub", "hub-user", "hub-instructor", timeout=3600)
    return [f"matchbox-hub:{HUB_TAG}", f"matchbox-hub-instructor:{HUB_TAG}"], f"matchbox-hub-user:{HUB_TAG}"


def test_the_hub_on_a_three_node_swarm(image, instructor_image):
    started = time.monotonic()
    t = time.monotonic()
    manager_images, participant_image = hub_images(image, instructor_image)
    print(f"swarm: hub images built: {time.monotonic() - t:.1f} s")
    solved = {path.name: submission(load(HANDSON / ASSIGNMENT / path.name), load(path))
              for path in notebooks(SOLUTIONS / ASSIGNMENT)}
    points = sum(meta(cell).get("points", 0) for path in notebooks(SOLUTIONS / ASSIGNMENT)
                 for cell in load(path)["cells"] if is_test(cell))
    with swarm_hub(manager_images, participant_image, MATCHBOX_HUB_MEM_LIMIT="1G",
                   MATCHBOX_HUB_PIDS_LIMIT="256", MATCHBOX_HUB_TMP_LIMIT="128M") as swarm:
        # Six participants at once; even-numbered ones hand in worked answers.
        with swarm.phase("6 participants ready, MNIST loaded, fetched and submitted"):
            admin, results = run_room(swarm.url, ADMIN, swarm.admin_password, PARTICIPANTS,
                                      prefix="p", assignment=ASSIGNMENT,
                                      answers=lambda i: solved if i % 2 == 0 else None)
        clients = [client for client, _ in results]
        placed = swarm.placement()
        per_node = Counter(placed.values())
        print(f"swarm: nodes used: {dict(per_node)}")
        assert set(placed) == {c.name for c in clients}, f"expected a service per participant, found {placed}"
        assert sorted(per_node.values()) == [2, 2, 2], \
            f"expected the least-loaded placement to put 2 participants on each of 3 nodes, got {placed}"
        instructor = swarm.on(swarm.manager, "service", "ps", "--format", "{{.Node}}",
                              f"{swarm.prefix}-{ADMIN}").stdout.split()
        assert instructor[:1] == ["manager"], f"expected the instructor's server on the manager, got {instructor}"

        # The instructor grades from the exchange (the sandbox kernels on the manager).
        with swarm.phase("collected and graded"):
            scores, output = collect_and_grade(admin, ASSIGNMENT)
        expected = {c.name: (points if i % 2 == 0 else 0) for i, c in enumerate(clients)}
        assert scores == expected, f"expected scores {expected} from the grader, got {scores}:\n{output[-3000:]}"

        # A file survives a stop and a respawn, which lands on the same node.
        worker_clients = [c for c in clients if placed[c.name] != "manager"]
        me = worker_clients[0]
        with swarm.phase("stop and respawn"):
            r = me.server("PUT", "/api/contents/kept.txt", json={"type": "file", "format": "text",
                                                                  "content": "still here"})
            assert r.status_code in (200, 201), r.text
            service = f"{swarm.prefix}-{me.name}"
            first = swarm.on(swarm.manager, "service", "inspect", "-f", "{{.ID}}", service).stdout.strip()
            me.stop()
            assert swarm.on(swarm.manager, "service", "inspect", service, check=False).returncode != 0, \
                f"expected {me.name}'s service removed by the stop, it is still there"
            me.spawn()
            second = swarm.on(swarm.manager, "service", "inspect", "-f", "{{.ID}}", service).stdout.strip()
            assert second != first, f"expected a new service for {me.name} after the stop, got the same {first}"
        kept = me.server("GET", "/api/contents/kept.txt").json().get("content")
        assert kept == "still here", f"expected {me.name}'s file after a respawn, got {kept!r}"
        assert swarm.placement()[me.name] == placed[me.name], \
            f"expected {me.name} back on {placed[me.name]}, got {swarm.placement()[me.name]}"

        # No participant reaches another's server: 403 through the hub; asked directly on the
        # swarm's network, the server itself refuses a request without the owner's token.
        a, b = clients[0], next(c for c in clients if placed[c.name] != placed[clients[0].name])
        assert a.server("GET", "/api/contents", user=b.name).status_code == 403
        assert a.server("POST", "/api/kernels", user=b.name, json={}).status_code == 403
        status, out, error = a.execute(DIRECT.format(service=f"{swarm.prefix}-{b.name}", user=b.name))
        assert status == "ok" and out.split()[0] in ("403", "unreachable"), \
            (f"expected {b.name}'s server (on {placed[b.name]}) to refuse {a.name} "
             f"(on {placed[a.name]}), got {out!r} {error}")

        # A worker goes: its participants lose their servers, the others and the hub carry on.
        gone = next(node for node in per_node if node != "manager")
        with swarm.phase(f"{gone} removed"):
            swarm.remove_node(f"{swarm.prefix}-{gone}")
            assert swarm.admin().request_token().status_code == 201, "expected the hub up after a worker went"
            for c in clients:
                if placed[c.name] == gone:
                    answered = answers(c)
                    assert not answered, f"expected {c.name}'s server (on removed {gone}) gone, it answered"
                else:
                    status, out, error = c.execute("print(6 * 7)", limit=60)
                    assert (status, out.strip()) == ("ok", "42"), \
                        f"expected {c.name} (on {placed[c.name]}) unaffected, got {status} {out!r} {error}"
        prefix = swarm.prefix
    leftovers = [docker("ps", "-aq", "--filter", f"name={prefix}").stdout.strip(),
                 docker("network", "ls", "-q", "--filter", f"name={prefix}").stdout.strip()]
    assert leftovers == ["", ""], f"expected nothing of {prefix} left, found {leftovers}"
    print(f"swarm: whole test: {time.monotonic() - started:.1f} s")


def answers(client):
    """Whether the client's server answers through the hub."""
    try:
        return client.server("GET", "/api/status", timeout=10).status_code == 200
    except (HubError, OSError):
        return False
