"""The command-line scripts a venue uses: USB export/import, compose, the GPU dependency set."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from tests.support.containers import ROOT, docker, free_port

pytestmark = pytest.mark.docker


def run(*cmd, **kwargs):
    """Run a command from the repository root, output captured."""
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kwargs)


def test_export_and_import_round_trip(docker_daemon, tmp_path):
    """Does an exported image load again, and is a damaged copy refused before loading?"""
    tag = f"matchbox-test/usb:{uuid.uuid4().hex[:8]}"
    docker("tag", "debian:bookworm-slim", tag)
    try:
        file = tmp_path / "image.tar.gz"
        assert run("scripts/export-image", tag, str(file)).returncode == 0
        assert (tmp_path / "image.tar.gz.sha256").exists()
        docker("rmi", tag)
        loaded = run("scripts/import-image", str(file))
        assert loaded.returncode == 0, loaded.stderr
        docker("image", "inspect", tag)
        with file.open("r+b") as damaged:
            damaged.seek(1000)
            damaged.write(b"\0" * 16)
        refused = run("scripts/import-image", str(file))
        assert refused.returncode != 0 and "damaged" in refused.stderr
    finally:
        docker("rmi", "-f", tag, check=False)


def test_compose_file_validates_and_needs_a_password(image):
    """Does the compose file validate, and does its lab refuse to start with neither PASSWORD nor
    MATCHBOX_PASSWORD_FILE, saying how to give one? (Compose cannot require either of two
    variables, so start-lab does.)"""
    env = {k: v for k, v in os.environ.items() if k not in ("PASSWORD", "MATCHBOX_PASSWORD_FILE")}
    assert run("docker-compose", "config", "-q", env={**env, "PASSWORD": "x"}).returncode == 0
    assert run("docker-compose", "config", "-q", env=env).returncode == 0
    env["COMPOSE_PROJECT_NAME"] = f"matchboxtest{uuid.uuid4().hex[:6]}"
    env["MATCHBOX_PORT"] = str(free_port())
    compose = ["docker-compose", "-f", str(ROOT / "docker-compose.yml")]
    docker("tag", image, "matchbox:latest")
    try:
        assert run(*compose, "up", "-d", "--no-build", "lab", env=env, timeout=300).returncode == 0
        container = run(*compose, "ps", "-q", "lab", env=env).stdout.strip()
        deadline, logs = time.monotonic() + 60, ""
        while "set but empty" not in logs:
            assert time.monotonic() < deadline, f"the lab did not refuse to start:\n{logs}"
            time.sleep(0.5)
            logs = docker("logs", container, check=False).stderr
        assert "PASSWORD=... docker compose up" in logs and "MATCHBOX_PASSWORD_FILE=FILE" in logs, logs
        assert docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip() != "healthy"
    finally:
        run(*compose, "down", "-v", env=env, timeout=300)


def test_compose_up_brings_the_lab_to_healthy(image):
    """Does `docker-compose up -d lab` bring the lab to healthy on the chosen loopback port?"""
    project = f"matchboxtest{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {**os.environ, "PASSWORD": "compose-pass", "MATCHBOX_PORT": str(port),
           "COMPOSE_PROJECT_NAME": project}
    compose = ["docker-compose", "-f", str(ROOT / "docker-compose.yml")]
    docker("tag", image, "matchbox:latest")
    try:
        up = run(*compose, "up", "-d", "--no-build", "lab", env=env, timeout=300)
        assert up.returncode == 0, up.stderr
        container = run(*compose, "ps", "-q", "lab", env=env).stdout.strip()
        deadline = time.monotonic() + 60
        while docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip() != "healthy":
            assert time.monotonic() < deadline, "compose's lab never became healthy"
            time.sleep(0.5)
        published = docker("port", container, "8888/tcp").stdout.strip()
        assert published == f"127.0.0.1:{port}"
    finally:
        run(*compose, "down", "-v", env=env, timeout=300)


def test_gpu_variant_dependency_set_resolves(tmp_path):
    """Does requirements/gpu.txt (tensorflow[and-cuda]) resolve as a whole, without installing?"""
    report = run(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                 "--report", str(tmp_path / "report.json"), "-r", "requirements/gpu.txt", timeout=600)
    assert report.returncode == 0, report.stderr[-2000:]
    installs = json.loads((tmp_path / "report.json").read_text())["install"]
    names = {item["metadata"]["name"].lower() for item in installs}
    assert "tensorflow" in names and "nvidia-cudnn-cu12" in names
