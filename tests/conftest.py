"""Shared fixtures. The Docker ones build the image once per test run and start real containers."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from matchbox import data
from tests.support.containers import ARTIFACTS, IMAGE, ROOT, Lab, docker

# ---- the datasets ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def data_root():
    """A data root filled by the real fetch command (npm, apt-get, ...), reused while it verifies.
    Tests that run the notebooks on this machine point MATCHBOX_DATA at it: a fresh machine has
    no datasets anywhere else."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = cache / "matchbox" / "test-data"
    fetch = subprocess.run([sys.executable, "-m", "matchbox.data", "fetch", "--kind", "all",
                            "--dest", str(root)], capture_output=True, text=True, timeout=900)
    assert fetch.returncode == 0, f"fetch failed:\n{fetch.stdout}\n{fetch.stderr}"
    return root


@pytest.fixture
def data_isolated(monkeypatch, tmp_path):
    """matchbox.data with a fresh per-user cache (tmp_path/cache), no image data root
    (tmp_path/no-image-data), no mirrors and no Keras home from this machine."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MATCHBOX_MIRRORS", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(data, "IMAGE_DATA_DIR", tmp_path / "no-image-data")


@pytest.fixture
def cut_off(monkeypatch, tmp_path):
    """cut_off(mirrors): take away npm, apt-get, Debian's files and Keras caches; the mirrors
    (matchbox.data fetch's last source) are only those given."""
    def cut(mirrors):
        (tmp_path / "empty-bin").mkdir()
        (tmp_path / "home").mkdir()
        monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("MATCHBOX_MIRRORS", mirrors)
        monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    return cut


# ---- Docker: image and containers ------------------------------------------------------------

@pytest.fixture(scope="session")
def docker_daemon():
    """A working Docker daemon: fails under CI (it must be there), skips loudly elsewhere."""
    try:
        ok = docker("info", check=False, timeout=30).returncode == 0
    except FileNotFoundError:
        ok = False
    if not ok:
        message = "no Docker daemon: the image and container tests need one (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def image(docker_daemon):
    """The workshop image, built once per test run from this checkout (layers cached by Docker)."""
    if not os.environ.get("MATCHBOX_TEST_IMAGE"):
        started = time.monotonic()
        build = docker("build", "-t", IMAGE, str(ROOT), check=False, timeout=3600)
        log = ARTIFACTS / "docker-build.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(build.stdout + build.stderr)
        assert build.returncode == 0, f"docker build failed (log: {log}):\n{build.stderr[-3000:]}"
        print(f"image {IMAGE} built in {time.monotonic() - started:.0f} s")
    return IMAGE


@pytest.fixture(scope="session")
def instructor_image(image):
    """The instructor target (course, formgrader, grader), built once per run from this checkout."""
    tag = IMAGE.replace(":", ":instructor-") if ":" in IMAGE else IMAGE + ":instructor"
    build = docker("build", "--target", "instructor", "-t", tag, str(ROOT), check=False, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    return tag


@pytest.fixture
def start_lab(image, request):
    """Start participant containers (docker run -d ...); all removed afterwards, with their logs checked."""
    if "volume" in request.fixturenames:
        # set up before us, so torn down after our containers: Docker keeps a volume in use
        request.getfixturevalue("volume")
    started = []

    def start(*run_args, token=True, env=None, volume=None, wait=True):
        """token: True for a fresh random one, None for none (PASSWORD in env, or the lab's own)."""
        name = f"matchbox-test-{uuid.uuid4().hex[:8]}"
        token = "test-token-" + uuid.uuid4().hex if token is True else token
        args = ["run", "-d", "--name", name, "-p", "127.0.0.1::8888"]
        if token:
            args += ["-e", f"JUPYTER_TOKEN={token}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        if volume:
            args += ["-v", f"{volume}:/home/jovyan/work"]
        docker(*args, *run_args, image)
        port = docker("port", name, "8888/tcp").stdout.split(":")[-1].strip()
        lab = Lab(name, int(port), token)
        started.append(lab)
        if wait:
            lab.wait_healthy()
        return lab

    yield start
    for lab in started:
        errors = [line for line in lab.logs().splitlines() if "[E " in line or "ERROR" in line]
        docker("rm", "-f", lab.name, check=False)
        assert not errors, f"errors in the log of {lab.name}:\n" + "\n".join(errors)


@pytest.fixture
def volume(docker_daemon):
    """A fresh named Docker volume, removed afterwards."""
    name = f"matchbox-test-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", name)
    yield name
    docker("volume", "rm", "-f", name, check=False)


# ---- the browser -------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update"]


@pytest.fixture
def page():
    """A fresh Chromium page; a screenshot of it is kept under test-artifacts/ when the test ends."""
    from playwright.sync_api import sync_playwright  # only the browser tests need Playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "browser-last-page.png")
        browser.close()


# ---- the hub -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hub(image, instructor_image):
    """One hub for the session (tests/support/hubs.py), shared by the hub test modules."""
    # imported here: the hub client needs websocket-client, which `pytest tests/unit` does not
    from tests.support.hubs import running_hub

    with running_hub(image, instructor_image) as hub:
        yield hub
