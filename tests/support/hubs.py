"""A hub for tests: started by `scripts/hub up` (the instructors' one command: docker-compose's
`hub` profile from this checkout), real JupyterHub, real participant containers; one per test
session (the `hub` fixture in conftest.py), its own compose project, network, port and volume
names. The hub test modules share it; a test that needs other settings starts its own with
running_hub(...).
"""

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

from tests.support.containers import ARTIFACTS, ROOT, docker, free_port
from tests.support.hub_client import HubClient

ADMIN = "instructor"
# Tag of the hub images the tests build (matchbox-hub:TAG, matchbox-hub-user:TAG, ...): set
# MATCHBOX_TEST_HUB_TAG to keep two checkouts' test runs on one daemon apart.
HUB_TAG = os.environ.get("MATCHBOX_TEST_HUB_TAG", "test")
MEM_LIMIT = "1G"
# Each participant's work volume in the tests (the default is 2G): small enough to fill quickly.
DISK_LIMIT = "512M"
# Processes and threads per participant container in the tests (the default is 1024).
PIDS_LIMIT = 256
# Each participant container's /tmp (a tmpfs, counted in its memory; the default is 1G).
TMP_LIMIT = "128M"


class Hub:
    """A hub started by docker-compose: its containers, settings and log. Requests to it go
    through HubClient (client(), admin())."""

    def __init__(self, lab_image, instructor_image, **env):
        self.prefix = f"mbhubtest-{uuid.uuid4().hex[:6]}"
        self.grading_dir = f"/tmp/{self.prefix}-grading"
        self.disks_dir = f"/tmp/{self.prefix}-disks"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_password = secrets.token_urlsafe(24)
        self.room_password = secrets.token_urlsafe(12)  # used with MATCHBOX_HUB_AUTH=shared only
        # no PASSWORD: that is the lab's, and no hub command needs it
        self.env = {**{k: v for k, v in os.environ.items() if k != "PASSWORD"},
                    "MATCHBOX_HUB_PREFIX": self.prefix, "MATCHBOX_HUB_PORT": str(self.port),
                    "MATCHBOX_HUB_TAG": HUB_TAG, "MATCHBOX_HUB_LAB_IMAGE": lab_image,
                    "MATCHBOX_HUB_INSTRUCTOR_LAB_IMAGE": instructor_image,
                    "MATCHBOX_HUB_GRADING_DIR": self.grading_dir,
                    "MATCHBOX_HUB_DISKS_DIR": self.disks_dir,
                    "MATCHBOX_HUB_DISK_LIMIT": DISK_LIMIT, "MATCHBOX_HUB_INBOUND_LIMIT": "256M",
                    "MATCHBOX_HUB_PIDS_LIMIT": str(PIDS_LIMIT), "MATCHBOX_HUB_TMP_LIMIT": TMP_LIMIT,
                    "MATCHBOX_HUB_ADMIN_PASSWORD": self.admin_password,
                    "MATCHBOX_HUB_ROOM_PASSWORD": self.room_password,
                    "MATCHBOX_BIND": "127.0.0.1", "MATCHBOX_HUB_MEM_LIMIT": MEM_LIMIT,
                    "MATCHBOX_HUB_CPU_LIMIT": "1", **env}

    def compose(self, *args, check=True, timeout=600):
        result = subprocess.run(["docker-compose", "-p", self.prefix, "--profile", "hub", *args],
                                cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"docker-compose {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def script(self, *args, check=True, timeout=600):
        """scripts/hub COMMAND for this hub's compose project, with its environment."""
        result = subprocess.run([str(ROOT / "scripts" / "hub"), "-p", self.prefix, *args],
                                cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=timeout)
        if check:
            assert result.returncode == 0, (f"scripts/hub {' '.join(args)} exited {result.returncode}:\n"
                                            f"{result.stdout}\n{result.stderr}")
        return result

    def logs(self):
        return self.compose("logs", "--no-color", "hub", check=False).stdout

    def remove(self):
        """Remove the hub, its participants' containers and every volume it made."""
        containers = docker("ps", "-aq", "--filter", f"name=^{self.prefix}-", check=False).stdout.split()
        if containers:
            docker("rm", "-f", *containers, check=False)
        self.compose("down", "-v", check=False)
        volumes = docker("volume", "ls", "-q", "--filter", f"name={self.prefix}-", check=False).stdout.split()
        if volumes:
            docker("volume", "rm", "-f", *volumes, check=False)
        # the size-capped volumes' loop devices (unmounted by now), then their files
        for image in Path(self.disks_dir).rglob("*.img"):
            attached = subprocess.run(["losetup", "--associated", str(image), "--output", "NAME",
                                       "--noheadings"], capture_output=True, text=True).stdout.split()
            for device in attached:
                subprocess.run(["losetup", "--detach", device], check=False)
        shutil.rmtree(self.disks_dir, ignore_errors=True)
        shutil.rmtree(self.grading_dir, ignore_errors=True)

    def wait_up(self, limit=90):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                if requests.get(self.url + "/hub/health", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except (requests.ConnectionError, requests.Timeout):  # not up, or busy starting
                pass
            time.sleep(0.5)
        raise AssertionError(f"hub not up after {limit} s:\n{self.logs()[-5000:]}")

    def client(self, name, password=None):
        """A HubClient (tests/support/hub_client.py) for name on this hub: every REST, form and
        kernel call goes through it."""
        return HubClient(self.url, name, password)

    def admin(self):
        """A client for the instructor (the admin), not yet logged in."""
        return self.client(ADMIN, self.admin_password)

@contextlib.contextmanager
def running_hub(image, instructor_image, **env):
    """A hub built and started from this checkout by `scripts/hub up --build` (the hub images
    rebuilt, from Docker's cache when nothing changed; the lab images are the given ones); its log
    is kept, everything else removed."""
    hub = Hub(image, instructor_image, **env)
    try:
        hub.script("up", "--build", timeout=1800)
        yield hub
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"hub-{hub.prefix}.log").write_text(hub.logs())
        hub.remove()


def admin_client(hub):
    """The instructor, logged in (form and token)."""
    admin = hub.admin()
    assert admin.login().status_code == 201
    return admin


def approved(hub, admin, name):
    """A signed-up, approved, logged-in participant with a running server."""
    me = hub.client(name, f"{name}-password-" + secrets.token_hex(4))
    me.signup()
    admin.approve(name)
    assert me.login().status_code == 201
    me.spawn()
    return me


def own_volumes(hub, client):
    """{volume name: writable} of the client's container."""
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", f"{hub.prefix}-{client.name}").stdout)
    return {m["Name"]: m["RW"] for m in mounts if m["Type"] == "volume"}
