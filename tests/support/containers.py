"""Docker for tests and benchmarks: the docker CLI, free ports, a running lab container."""

import os
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
IMAGE = os.environ.get("MATCHBOX_TEST_IMAGE", "matchbox:test")


def free_port():
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker(*args, check=True, timeout=600, **kwargs):
    """Run the docker CLI and return the completed process (text output captured)."""
    return subprocess.run(["docker", *args], check=check, timeout=timeout, text=True,
                          capture_output=True, **kwargs)



class Lab:
    """A running participant container, reachable on a loopback port."""

    def __init__(self, name, port, token=None):
        self.name, self.port, self.token = name, port, token
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path, token=True, **kwargs):
        """GET an API path, with the token unless token=False."""
        headers = {"Authorization": f"token {self.token}"} if token and self.token else {}
        return requests.get(self.url + path, headers=headers, timeout=10, **kwargs)

    def exec(self, *cmd, check=True):
        """Run a command inside the container as its default user."""
        return docker("exec", self.name, *cmd, check=check)

    def server_pid(self):
        """PID of the Jupyter server: the one child of tini (PID 1); start-lab execs into it."""
        children = self.exec("cat", "/proc/1/task/1/children").stdout.split()
        assert len(children) == 1, children
        assert b"jupyter-lab" in self.exec("cat", f"/proc/{children[0]}/cmdline").stdout.encode()
        return children[0]

    def logs(self):
        """Everything the container printed so far."""
        out = docker("logs", self.name, check=False)
        return out.stdout + out.stderr

    def health(self):
        """Docker's health status of the container."""
        return docker("inspect", "-f", "{{.State.Health.Status}}", self.name).stdout.strip()

    def wait_healthy(self, limit=60):
        """Wait until Docker says healthy; return the seconds since the container was created."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            state = docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", self.name).stdout.split()
            if state[0] != "running":
                raise AssertionError(f"container {self.name} stopped:\n{self.logs()}")
            if state[1] == "healthy":
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"not healthy after {limit} s:\n{self.logs()}")
