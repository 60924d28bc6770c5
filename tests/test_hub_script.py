"""scripts/hub: the instructor's one command to a running hub (up, status, down), from hub images
that are not there yet, without PASSWORD; and what it says when it cannot run."""

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.containers import ARTIFACTS, ROOT, docker
from tests.support.hub_client import HubClient
from tests.support.hubs import ADMIN, Hub, approved

SCRIPT = str(ROOT / "scripts" / "hub")
# what scripts/hub needs besides Docker and compose
TOOLS = ["bash", "dirname", "sed", "grep", "awk", "cut", "head", "tail", "timeout", "sleep", "hostname"]


def run_script(*args, env=None):
    return subprocess.run([SCRIPT, *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=120)


def path_with(tmp_path, *names):
    """A PATH of one folder holding only these commands (links to this machine's)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        found = subprocess.run(["bash", "-c", f"command -v {name}"], capture_output=True, text=True).stdout.strip()
        assert found, f"{name} is not installed here"
        (folder / name).symlink_to(found)
    return str(folder)


def test_an_unknown_command_and_a_missing_docker_say_what_to_do(tmp_path):
    """A wrong command names the right ones; without Docker, its daemon or compose the script says
    which is missing and how to get it, before doing anything."""
    wrong = run_script("start")
    assert wrong.returncode != 0 and "unknown command 'start': use up, down or status" in wrong.stderr, \
        f"expected the commands named for 'start', got {wrong.returncode}:\n{wrong.stderr}"
    bare = run_script()
    assert bare.returncode != 0 and "scripts/hub up" in bare.stderr, bare.stderr
    helped = run_script("--help")
    assert helped.returncode == 0 and "scripts/hub up [--build]" in helped.stdout, helped.stdout

    no_docker = run_script("status", env={**os.environ, "PATH": path_with(tmp_path, *TOOLS)})
    assert no_docker.returncode != 0 and "Docker is not installed" in no_docker.stderr, \
        f"expected 'Docker is not installed', got:\n{no_docker.stderr}"

    no_daemon = run_script("status", env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert no_daemon.returncode != 0 and "cannot reach the Docker daemon" in no_daemon.stderr \
        and "systemctl start docker" in no_daemon.stderr, f"expected the daemon named, got:\n{no_daemon.stderr}"


@pytest.mark.docker
def test_no_compose_is_named(docker_daemon, tmp_path):
    """Docker without compose (no plugin, no docker-compose): the script says to install one."""
    env = {**os.environ, "PATH": path_with(tmp_path, *TOOLS, "docker")}
    if subprocess.run(["docker", "compose", "version"], env=env, capture_output=True).returncode == 0:
        pytest.skip("this Docker has the compose plugin: there is always a compose here")
    missing = run_script("status", env=env)
    assert missing.returncode != 0 and "no compose: install the Docker Compose plugin" in missing.stderr, \
        f"expected compose named as missing, got:\n{missing.stderr}"


@pytest.mark.docker
def test_a_missing_lab_image_of_ones_own_is_named(docker_daemon):
    """MATCHBOX_HUB_LAB_IMAGE naming an image that is not there: up stops before building or
    starting anything and says which variable to fix."""
    missing = f"matchbox-test/absent:{uuid.uuid4().hex[:8]}"
    up = run_script("-p", f"mbhubabsent{uuid.uuid4().hex[:6]}", "up",
                    env={**os.environ, "MATCHBOX_HUB_LAB_IMAGE": missing})
    assert up.returncode != 0 and f"no image {missing} here" in up.stderr \
        and "MATCHBOX_HUB_LAB_IMAGE" in up.stderr and "starting" not in up.stdout, \
        f"expected the missing {missing} named before anything started, got:\n{up.stdout}\n{up.stderr}"


def image_exists(name):
    return docker("image", "inspect", name, check=False).returncode == 0


@pytest.mark.docker
def test_hub_up_from_images_absent_then_status_and_down_keeping_the_volumes(image, instructor_image):
    """`scripts/hub up` with a fresh tag builds the three hub images in order (lab images given),
    starts the hub without PASSWORD, prints a URL that answers and an admin password that logs in;
    `status` lists the accounts and a running server; `down` stops hub and server and keeps the
    volumes, so the next `up` has the accounts and the work back and says where the password was."""
    tag = f"script-{uuid.uuid4().hex[:6]}"
    images = [f"matchbox-hub-user:{tag}", f"matchbox-hub-instructor:{tag}", f"matchbox-hub:{tag}"]
    assert not any(image_exists(name) for name in images), f"fresh images already there: {images}"
    hub = Hub(image, instructor_image, MATCHBOX_HUB_TAG=tag)
    del hub.env["MATCHBOX_HUB_ADMIN_PASSWORD"]  # the hub makes one up
    assert "PASSWORD" not in hub.env
    try:
        up = hub.script("up", timeout=1800).stdout
        built = [up.find(f"scripts/hub: built {name}") for name in images]
        assert -1 not in built and built == sorted(built), f"expected {images} built in that order:\n{up}"
        assert all(image_exists(name) for name in images), f"not all of {images} there after up"
        url = re.search(r"^The hub is up \(\d+ s\): (\S+)$", up, re.M)
        assert url and url[1] == hub.url, f"expected the URL {hub.url} printed, got:\n{up}"
        password = re.search(rf"^matchbox-hub: admin '{ADMIN}' created; its password \(shown only this "
                             r"once\):\n    (\S+)$", up, re.M)
        assert password, f"expected the generated password printed once, got:\n{up}"
        hub.admin_password = password[1]
        admin = HubClient(url[1], ADMIN, password[1])
        assert admin.login().status_code == 201, "the printed admin password did not log in"

        alice = approved(hub, admin, "alice")
        kept = alice.server("PUT", "/api/contents/kept.txt",
                            json={"type": "file", "format": "text", "content": "still here"})
        assert kept.status_code in (200, 201), kept.text
        hub.client("bob", "bob-password-1234").signup()

        status = hub.script("status").stdout
        for line in (rf"^hub: up, {re.escape(hub.url)}$", rf"^  {ADMIN} +admin ", r"^  alice +approved ",
                     r"^  bob +waiting for approval ", r"^servers \(1\):$",
                     r"^  alice +Up .* memory: [\d.]+[KMG]iB / 1GiB$"):
            assert re.search(line, status, re.M), f"expected a line like {line!r} in status:\n{status}"

        down = hub.script("down").stdout
        assert "Kept every volume" in down, down
        running = docker("ps", "-aq", "--filter", f"name=^{hub.prefix}", check=False).stdout.split()
        assert not running, f"containers left after down: {running}\n{down}"
        volumes = set(docker("volume", "ls", "-q").stdout.split())
        for volume in (f"{hub.prefix}-user-alice", f"{hub.prefix}-exchange", f"{hub.prefix}_hub-data"):
            assert volume in volumes, f"volume {volume} gone after down"
        status = hub.script("status").stdout
        assert "hub: down" in status and "servers: none" in status, status

        again = hub.script("up", timeout=600).stdout
        assert "scripts/hub: building" not in again, f"images rebuilt though there:\n{again}"
        assert "shown only this once" not in again and "printed once" in again \
            and "MATCHBOX_HUB_ADMIN_PASSWORD=" in again, f"expected where the password was, got:\n{again}"
        admin = HubClient(hub.url, ADMIN, password[1])
        assert admin.login().status_code == 201, "the admin's password did not survive down/up"
        alice.spawn()
        back = alice.server("GET", "/api/contents/kept.txt")
        assert back.status_code == 200 and back.json()["content"] == "still here", back.text
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"hub-{hub.prefix}.log").write_text(hub.logs())
        hub.remove()
        for name in images:
            docker("rmi", "-f", name, check=False)
    left = docker("ps", "-aq", "--filter", f"name=^{hub.prefix}").stdout.split() + \
        docker("volume", "ls", "-q", "--filter", f"name={hub.prefix}").stdout.split()
    assert not left and not Path(hub.disks_dir).exists(), f"left behind: {left}"
