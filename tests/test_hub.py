"""The room's hub: docker-compose's `hub` profile, real JupyterHub, real participant containers.

One hub per test module (its own compose project, network, port and volume names), started with
`docker-compose --profile hub up -d hub` from this checkout, the participant image being
`matchbox:test` (the `image` fixture) plus jupyterhub-singleuser.
"""

import os
import re
import secrets
import socket
import subprocess
import time
import uuid

import pytest
import requests

from conftest import ROOT, docker

ADMIN = "instructor"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A hub started by docker-compose, and a REST client for it."""

    def __init__(self, lab_image):
        self.prefix = f"mbhubtest-{uuid.uuid4().hex[:6]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_password = secrets.token_urlsafe(24)
        self.env = {**os.environ, "PASSWORD": "unused-by-the-hub",
                    "MATCHBOX_HUB_PREFIX": self.prefix, "MATCHBOX_HUB_PORT": str(self.port),
                    "MATCHBOX_HUB_TAG": "test", "MATCHBOX_HUB_LAB_IMAGE": lab_image,
                    "MATCHBOX_HUB_ADMIN_PASSWORD": self.admin_password,
                    "MATCHBOX_BIND": "127.0.0.1"}

    def compose(self, *args, check=True, timeout=600):
        result = subprocess.run(["docker-compose", "-p", self.prefix, "--profile", "hub", *args],
                                cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"docker-compose {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def logs(self):
        return self.compose("logs", "--no-color", "hub", check=False).stdout

    def wait_up(self, limit=90):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                if requests.get(self.url + "/hub/health", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"hub not up after {limit} s:\n{self.logs()[-5000:]}")

    def token(self, name, password):
        """Log in through the REST API (username and password in the body) and get an API token."""
        r = requests.post(f"{self.url}/hub/api/users/{name}/tokens", timeout=30,
                          json={"auth": {"username": name, "password": password}, "expires_in": 3600})
        return r

    def api(self, method, path, token, **kwargs):
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=30,
                                headers={"Authorization": f"token {token}"}, **kwargs)

    def spawn(self, name, token, limit=180):
        """Ask for the user's server and wait until the hub says it is ready; return the seconds."""
        started = time.monotonic()
        r = self.api("POST", f"/users/{name}/server", token)
        assert r.status_code in (201, 202), (r.status_code, r.text)
        while time.monotonic() - started < limit:
            model = self.api("GET", f"/users/{name}", token).json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return time.monotonic() - started
            assert model.get("pending") == "spawn" or server, f"spawn failed: {model}\n{self.logs()[-5000:]}"
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server not ready after {limit} s:\n{self.logs()[-5000:]}")


@pytest.fixture(scope="module")
def hub(image):
    hub = Hub(image)
    hub.compose("build", "hub-user", "hub", timeout=1800)
    hub.compose("up", "-d", "hub")
    try:
        hub.wait_up()
        yield hub
    finally:
        log = hub.logs()
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / f"hub-{hub.prefix}.log").write_text(log)
        containers = docker("ps", "-aq", "--filter", f"name=^{hub.prefix}-", check=False).stdout.split()
        if containers:
            docker("rm", "-f", *containers, check=False)
        hub.compose("down", "-v", check=False)
        volumes = docker("volume", "ls", "-q", "--filter", f"name={hub.prefix}-", check=False).stdout.split()
        if volumes:
            docker("volume", "rm", "-f", *volumes, check=False)


def test_admin_logs_in_and_spawns_a_lab(hub):
    r = hub.token(ADMIN, "wrong-password")
    assert r.status_code == 403, (r.status_code, r.text)
    r = hub.token(ADMIN, hub.admin_password)
    assert r.status_code == 201, (r.status_code, r.text)
    token = r.json()["token"]
    me = hub.api("GET", "/user", token).json()
    assert me["name"] == ADMIN and me["admin"] is True

    seconds = hub.spawn(ADMIN, token)
    print(f"{ADMIN}'s server ready {seconds:.1f} s after the spawn request")

    # The participant container: on the hub's network, from the hub's participant image.
    name = f"{hub.prefix}-{ADMIN}"
    inspect = docker("inspect", "-f", "{{.Config.Image}} {{json .NetworkSettings.Networks}}", name).stdout
    assert inspect.startswith("matchbox-hub-user:test ") and f'"{hub.prefix}"' in inspect, inspect

    # Through the hub's proxy, with the token: the Jupyter server and JupyterLab.
    headers = {"Authorization": f"token {token}"}
    status = requests.get(f"{hub.url}/user/{ADMIN}/api/status", headers=headers, timeout=30)
    assert status.status_code == 200, (status.status_code, status.text)
    lab = requests.get(f"{hub.url}/user/{ADMIN}/lab", headers=headers, timeout=30)
    assert lab.status_code == 200 and "JupyterLab" in lab.text, lab.status_code
    # The hands-on notebooks were seeded into the user's volume.
    contents = requests.get(f"{hub.url}/user/{ADMIN}/api/contents", headers=headers, timeout=30).json()
    names = {item["name"] for item in contents["content"]}
    assert "00-welcome" in names, names
    # Without a token: the hub sends the browser to its login page, never to the server.
    anon = requests.get(f"{hub.url}/user/{ADMIN}/api/status", timeout=30, allow_redirects=False)
    assert anon.status_code in (302, 403), anon.status_code
