"""The grading sandbox service (src/matchbox/hub/sandbox_service.py): the only holder of the
Docker socket besides the hub, which starts grading kernels for the instructor's server.

The service runs as in the hub: `python -m matchbox.hub.sandbox_service` in the hub image, as
root, with the Docker socket and a grading dir mounted at the same path; the kernels are real
containers of the workshop image, driven by grader.sandbox.SandboxKernelManager (what nbgrader
uses) through jupyter_client. The grader's local `docker run` takes the same container settings
(lockdown.py): the first tests run both ways. The last test looks at every container a real hub
starts.
"""

import asyncio
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from matchbox.grader import sandbox_client
from matchbox.grader.sandbox import SandboxKernelManager
from tests.support.containers import ARTIFACTS, ROOT, docker
from tests.support.hub_client import shell
from tests.support.hubs import ADMIN, HUB_TAG, admin_client, approved

SOCKET_NAME = "sandbox.sock"
HUB_IMAGE = f"matchbox-hub:sandbox-{HUB_TAG}"
MAX_KERNELS = 2


class Service:
    """A sandbox service in a container of the hub image; its socket, grading dir, container."""

    def __init__(self, grading_dir, container, image, group):
        self.grading_dir, self.container, self.image, self.group = grading_dir, container, image, group
        self.socket = str(grading_dir / SOCKET_NAME)

    def ask(self, method, path, body=None):
        """(HTTP status, reason) of one request: 200 and "" when it was carried out."""
        try:
            sandbox_client.request(self.socket, method, path, body)
            return 200, ""
        except sandbox_client.ServiceError as refused:
            return refused.status, refused.reason

    def kernels(self):
        """Names of the kernel containers this service has now."""
        return docker("ps", "-a", "--format", "{{.Names}}", "--filter",
                      f"label=matchbox-sandbox={self.grading_dir}").stdout.split()


@pytest.fixture(scope="module")
def hub_image(docker_daemon):
    """The hub image (where the service runs in the hub), built from this checkout."""
    build = docker("build", "-f", "hub/Dockerfile", "--target", "hub", "-t", HUB_IMAGE, str(ROOT),
                   check=False, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    return HUB_IMAGE


@pytest.fixture(scope="module")
def service(image, hub_image):
    """The service as the hub runs it (root, the socket, the grading dir at the same path).
    Its group is the test's own (2000, the instructor group, when the test runs as root)."""
    grading_dir = Path(f"/tmp/mbsbx-{uuid.uuid4().hex[:6]}")  # short: ZMQ ipc paths are limited
    grading_dir.mkdir()
    group = 2000 if os.geteuid() == 0 else os.getegid()
    name = f"mbsandbox-{uuid.uuid4().hex[:6]}"
    docker("run", "-d", "--name", name, "-v", "/var/run/docker.sock:/var/run/docker.sock",
           "-v", f"{grading_dir}:{grading_dir}", hub_image,
           "python3", "-m", "matchbox.hub.sandbox_service", f"--grading-dir={grading_dir}",
           f"--image={image}", f"--group={group}", f"--max-kernels={MAX_KERNELS}",
           "--max-memory=1g", "--max-cpus=1", "--max-pids=256", "--max-wall-s=600")
    service = Service(grading_dir, name, image, group)
    started = time.monotonic()
    while not os.path.exists(service.socket):
        assert time.monotonic() - started < 60, docker("logs", name, check=False).stderr
        time.sleep(0.2)
    try:
        yield service
    finally:
        logs = docker("logs", name, check=False)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"sandbox-service-{name}.log").write_text(logs.stdout + logs.stderr)
        docker("rm", "-f", name, check=False)
        if service.kernels():
            docker("rm", "-f", *service.kernels(), check=False)
        shutil.rmtree(grading_dir, ignore_errors=True)


def kernel_manager(service, **limits):
    """What nbgrader gets from grade in the hub: a SandboxKernelManager with service_socket. Its
    image is ignored: the service's is used."""
    return SandboxKernelManager(service_socket=service.socket, image="alpine:latest",
                                run_label=f"test-{uuid.uuid4().hex[:6]}", **limits)


async def run_cell(km, code, timeout=60):
    """Execute one cell in a started kernel; its stdout."""
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        out = []
        reply = await kc.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out)
    finally:
        kc.stop_channels()


@pytest.mark.parametrize("backend", ["service", "local docker"])
def test_a_kernel_runs_a_cell_locked_down(service, image, backend, tmp_path):
    """A notebook's folder is copied in, the cell runs in a locked-down container of the
    service's image with only the service's two folders, and shutting down removes both. The
    grader's own `docker run` (no service) gives its container the same lockdown."""
    (tmp_path / "data.txt").write_text("from the notebook's folder")
    limits = dict(memory="512m", cpus=1.0, pids=128, wall_s=120)
    km = (kernel_manager(service, **limits) if backend == "service"
          else SandboxKernelManager(image=image, run_label=f"test-{uuid.uuid4().hex[:6]}", **limits))

    async def scenario():
        await km.start_kernel(cwd=str(tmp_path))
        try:
            out = await run_cell(km, "import os, socket\n"
                                     "print(open('data.txt').read(), os.getuid(), os.getcwd())\n"
                                     "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
                                     "except OSError:\n    print('no network')\n")
            config = json.loads(docker("inspect", container_name(km)).stdout)[0]
        finally:
            await km.shutdown_kernel(now=True)
        return out, config

    started = time.monotonic()
    out, config = asyncio.run(scenario())
    print(f"{backend}: kernel started, ran a cell and was removed in {time.monotonic() - started:.1f} s")
    assert out.split("\n")[:2] == ["from the notebook's folder 1000 /home/jovyan/work", "no network"], out
    host = config["HostConfig"]
    if backend == "service":
        folder = service.grading_dir / "kernels" / km.sandbox_id
        binds = [f"{folder}/ipc:{folder}/ipc:rw", f"{folder}/work:/home/jovyan/.submission:ro"]
    else:
        folder = Path(km.ipc_dir)
        binds = [f"{folder}:{folder}:rw", f"{tmp_path}:/home/jovyan/.submission:ro"]
    assert config["Config"]["Image"] == service.image
    assert sorted(host["Binds"]) == sorted(binds), host["Binds"]
    assert (host["NetworkMode"], host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"],
            config["Config"]["User"], host["Privileged"], host["Ulimits"]) == (
        "none", True, ["ALL"], ["no-new-privileges"], "1000:100", False,
        [{"Name": "core", "Soft": 0, "Hard": 0}])
    assert (host["Memory"], host["MemorySwap"], host["NanoCpus"], host["PidsLimit"]) == (
        512 * 1024 ** 2, 512 * 1024 ** 2, 10 ** 9, 128)
    assert sorted(host["Tmpfs"]) == ["/home/jovyan/.local", "/home/jovyan/work", "/tmp"]
    assert not folder.exists()
    assert container_name(km) not in docker("ps", "-a", "--format", "{{.Names}}").stdout.split()


def container_name(km):
    """The kernel's container: named by the service (PREFIX-ID) or by the kernel manager."""
    return f"matchbox-kernel-{km.sandbox_id}" if km.service_socket else km.container


# Write until the work folder is full; the bytes written and the error.
FILL = """
import errno
written, error = 0, None
with open("fill.bin", "wb", buffering=0) as f:
    try:
        while written < 2 * 2**30:
            f.write(b"\\0" * 2**20)
            written += 2**20
    except OSError as problem:
        error = errno.errorcode[problem.errno]
print(written, error)
"""


@pytest.mark.parametrize("backend", ["service", "local docker"])
def test_a_kernel_fills_only_its_own_tmpfs(service, image, backend, tmp_path):
    """Files a student's code writes land in a capped tmpfs copy of the notebook's folder: the
    kernel gets ENOSPC at work_size (the service's, whatever the caller asks), and nothing
    reaches the grader's or the host's disk."""
    (tmp_path / "data.txt").write_text("handed in")
    limits = dict(memory="768m", wall_s=120, work_size="64m")
    km = (kernel_manager(service, **limits) if backend == "service"
          else SandboxKernelManager(image=image, run_label=f"test-{uuid.uuid4().hex[:6]}", **limits))

    async def scenario():
        await km.start_kernel(cwd=str(tmp_path))
        try:
            return await run_cell(km, "print(open('data.txt').read())\n" + FILL, timeout=120)
        finally:
            await km.shutdown_kernel(now=True)

    out = asyncio.run(scenario()).split()
    assert out[:2] == ["handed", "in"], out
    written, error = int(out[2]), out[3]
    cap = 256 if backend == "service" else 64  # the service's own work_size; ours
    print(f"{backend}: the kernel wrote {written // 2**20} MB into its {cap}m work folder, then {error}")
    assert error == "ENOSPC" and written <= cap * 2**20, (written, error)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"], list(tmp_path.iterdir())


def test_a_memory_bomb_dies_as_out_of_memory(service, tmp_path):
    """The death reason of a kernel killed at its memory limit comes back through the service."""
    km = kernel_manager(service, memory="256m", wall_s=120)

    async def scenario():
        await km.start_kernel(cwd=str(tmp_path))
        try:
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            kc.execute("hoard = b'x' * (1 << 30)")
            for _ in range(240):
                if not await km.is_alive():
                    break
                await asyncio.sleep(0.25)
            kc.stop_channels()
            return km.death()
        finally:
            await km.shutdown_kernel(now=True)

    assert asyncio.run(scenario()) == "out of memory (over the 256m limit)"


def test_what_the_service_refuses(service):
    """Anything beyond 'a kernel of the fixed image under capped limits, on its own folders'."""
    limits = {"memory": "256m", "cpus": 1, "pids": 64, "wall_s": 60, "run_label": "refusals"}
    refused = {
        "image override": ("POST", "/kernels", {**limits, "image": "alpine:latest"}),
        "folder outside the grading dir": ("POST", "/kernels", {**limits, "workdir": "/etc"}),
        "ipc folder of the caller's": ("POST", "/kernels", {**limits, "ipc_dir": str(service.grading_dir)}),
        "extra volumes": ("POST", "/kernels", {**limits, "volumes": {"/": {"bind": "/host"}}}),
        "another command": ("POST", "/kernels", {**limits, "command": ["sh"]}),
        "root": ("POST", "/kernels", {**limits, "user": "0:0"}),
        "a network": ("POST", "/kernels", {**limits, "network": "host"}),
        "unknown field": ("POST", "/kernels", {**limits, "privileged": True}),
        "memory over the maximum": ("POST", "/kernels", {**limits, "memory": "2g"}),
        "cpus over the maximum": ("POST", "/kernels", {**limits, "cpus": 4}),
        "pids over the maximum": ("POST", "/kernels", {**limits, "pids": 100000}),
        "wall clock over the maximum": ("POST", "/kernels", {**limits, "wall_s": 86400}),
        "no process limit": ("POST", "/kernels", {**limits, "pids": -1}),
        "a memory that is not a size": ("POST", "/kernels", {**limits, "memory": "lots"}),
        "a path for an id": ("DELETE", "/kernels/..%2f..%2fcontainers%2fjson", None),
        "the hub's own container": ("DELETE", "/kernels/matchbox-hub-hub-1", None),
        "a sweep without a run": ("DELETE", "/kernels", None),
        "a sweep of a crafted label": ("DELETE", "/kernels?run_label=a%3Db", None),
    }
    answers = {case: service.ask(*request) for case, request in refused.items()}
    assert answers == {
        "image override": (403, "image-fixed"),
        "folder outside the grading dir": (403, "folders-fixed"),
        "ipc folder of the caller's": (403, "folders-fixed"),
        "extra volumes": (403, "folders-fixed"),
        "another command": (403, "command-fixed"),
        "root": (403, "user-fixed"),
        "a network": (403, "network-fixed"),
        "unknown field": (400, "unknown-field"),
        "memory over the maximum": (403, "over-limit"),
        "cpus over the maximum": (403, "over-limit"),
        "pids over the maximum": (403, "over-limit"),
        "wall clock over the maximum": (403, "over-limit"),
        "no process limit": (400, "bad-limit"),
        "a memory that is not a size": (400, "bad-limit"),
        "a path for an id": (400, "bad-id"),
        "the hub's own container": (400, "bad-id"),
        "a sweep without a run": (400, "bad-run-label"),
        "a sweep of a crafted label": (400, "bad-run-label"),
    }
    assert not service.kernels(), "a refused request left a container"

    # A container it did not create, even named like its own: neither read, started nor removed.
    stranger_id = uuid.uuid4().hex[:12]
    stranger = f"matchbox-kernel-{stranger_id}"
    docker("create", "--name", stranger, service.image, "true")
    try:
        for method, action in (("GET", ""), ("POST", "start"), ("POST", "wait"), ("DELETE", "")):
            path = sandbox_client.kernel_path(stranger_id, action)
            assert service.ask(method, path) == (403, "not-ours"), (method, path)
        assert service.ask("DELETE", f"/kernels?run_label={stranger_id}") == (200, "")
        assert docker("inspect", "-f", "{{.State.Status}}", stranger).stdout.strip() == "created"
    finally:
        docker("rm", "-f", stranger, check=False)

    # At most MAX_KERNELS at once; the end-of-run sweep removes them, and only that run's.
    ids = [sandbox_client.request(service.socket, "POST", "/kernels", limits)["id"]
           for _ in range(MAX_KERNELS)]
    assert service.ask("POST", "/kernels", limits) == (429, "too-many-kernels")
    assert service.ask("DELETE", "/kernels?run_label=another-run") == (200, "")
    assert len(service.kernels()) == MAX_KERNELS
    assert service.ask("DELETE", "/kernels?run_label=refusals") == (200, "")
    assert not service.kernels()
    assert not any((service.grading_dir / "kernels" / i).exists() for i in ids)


INSTRUCTOR_PROBE = """
import json, os, sys
grading, kernel = sys.argv[1], sys.argv[2]
work = os.path.join(grading, "kernels", kernel, "work")
found = {}
def attempt(name, act):
    try:
        act()
        found[name] = "done"
    except OSError as problem:
        found[name] = type(problem).__name__
attempt("write in work", lambda: open(os.path.join(work, "notebook.ipynb"), "w").close())
attempt("symlink in work", lambda: os.symlink(sys.argv[3], os.path.join(work, "escape")))
attempt("move work away", lambda: os.rename(work, work + ".old"))
attempt("replace work", lambda: os.rmdir(work))
attempt("move the kernel's folder", lambda: os.rename(os.path.dirname(work), os.path.dirname(work) + "x"))
attempt("move kernels/", lambda: os.rename(os.path.join(grading, "kernels"), os.path.join(grading, "k2")))
attempt("add to the grading dir", lambda: os.symlink("/", os.path.join(grading, "kernels2")))
print(json.dumps(found))
"""


def test_the_instructor_cannot_swap_a_kernels_folders(service, tmp_path):
    """The instructor's server (uid 1000, group 2000, the grading dir mounted at the same path)
    fills a kernel's folders but cannot put a symlink or another folder in their place: what
    Docker mounts is what the service made. A symlink inside them is not followed when the
    service removes them. Without the instructor group (a participant is uid 1000 too), the
    socket does not open."""
    kernel = sandbox_client.request(service.socket, "POST", "/kernels",
                                    {"memory": "256m", "wall_s": 60, "run_label": "swap"})["id"]
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "precious").write_text("keep me")
    mount = ["-v", f"{service.grading_dir}:{service.grading_dir}"]
    probe = docker("run", "--rm", "--network", "none", "--user", f"1000:{service.group}", *mount, service.image,
                   "python", "-c", INSTRUCTOR_PROBE, str(service.grading_dir), kernel, str(canary),
                   check=False)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == {
        "write in work": "done", "symlink in work": "done", "move work away": "PermissionError",
        "replace work": "PermissionError", "move the kernel's folder": "PermissionError",
        "move kernels/": "PermissionError", "add to the grading dir": "PermissionError"}
    assert service.ask("DELETE", sandbox_client.kernel_path(kernel)) == (200, "")
    assert (canary / "precious").read_text() == "keep me"
    participant = docker("run", "--rm", "--network", "none", "--user", "1000:10001", *mount,
                         service.image, "python", "-c",
                         "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
                         service.socket, check=False)
    assert "PermissionError" in participant.stderr, participant.stderr


def docker_socket_exposure(container):
    """What of the host's Docker a container holds: socket mounts, the socket's group, privilege."""
    config = json.loads(docker("inspect", container).stdout)[0]
    socket_paths = {"/var/run/docker.sock", os.path.realpath("/var/run/docker.sock")}
    socket_gid = str(os.stat("/var/run/docker.sock").st_gid)
    found = []
    for mount in config["Mounts"]:
        source = mount.get("Source", "").rstrip("/") or "/"
        if any(path == source or path.startswith(source + "/") or source == "/" for path in socket_paths):
            found.append(f"mounts {mount['Source']}")
    groups = config["HostConfig"].get("GroupAdd") or []
    found += [f"group {g}" for g in groups if g in (socket_gid, "docker")]
    if config["HostConfig"].get("Privileged"):
        found.append("privileged")
    return found


def test_no_server_the_hub_starts_holds_the_docker_socket(hub):
    """The instructor's and a participant's server: no socket, no docker group; the instructor
    reaches the sandbox service instead (and its grading folders are not theirs to change)."""
    admin = admin_client(hub)
    admin.spawn()
    approved(hub, admin, "dora")
    names = docker("ps", "-a", "--format", "{{.Names}}", "--filter", f"name=^{hub.prefix}").stdout.split()
    hub_itself = [n for n in names if docker("inspect", "-f", '{{index .Config.Labels "com.docker.compose.service"}}',
                                             n).stdout.strip() == "hub"]
    assert len(hub_itself) == 1, names
    servers = {f"{hub.prefix}-{ADMIN}", f"{hub.prefix}-dora"}
    assert servers <= set(names), names
    assert {name: docker_socket_exposure(name) for name in names if name not in hub_itself} == {
        name: [] for name in names if name not in hub_itself}
    assert docker_socket_exposure(hub_itself[0])  # the check sees the socket where it is
    status, out = shell(admin, 'ls -l /var/run/docker.sock; docker ps; '
                               'python -c "import os, json; '
                               'from matchbox.grader import sandbox_client as s; '
                               'print(json.dumps(s.request('
                               '    os.environ[\'MATCHBOX_SANDBOX_SOCKET\'], \'GET\', \'/info\')))"; '
                               'touch "$(dirname "$MATCHBOX_SANDBOX_SOCKET")/mine"')
    assert "cannot access '/var/run/docker.sock': No such file or directory" in out, out
    assert "Cannot connect to the Docker daemon" in out, out
    assert f"touch: cannot touch '{hub.grading_dir}/mine': Permission denied" in out, out
    info = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert info["image"] == f"matchbox-hub-user:{HUB_TAG}", info
