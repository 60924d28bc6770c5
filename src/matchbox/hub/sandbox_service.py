"""The grading sandbox service: the one program besides the hub that holds the Docker socket.

`grade` in the instructor's server starts each student's kernel as a locked-down container of
the participant image. The instructor's server must not hold the Docker socket for that (whoever
took over the admin's account would be root on the host), so it asks this service instead, over
an HTTP API on a UNIX socket that only the instructor group may open:

    GET    /info                      the image, the maxima, the kernels running now
    POST   /kernels                   {memory, cpus, pids, wall_s, run_label} -> {id, ipc_dir, work_dir}
                                      prepares a kernel: its two folders and its container (created)
    POST   /kernels/ID/start          starts it; the caller wrote ipc_dir/kernel.json and the notebook's
                                      folder into work_dir first
    POST   /kernels/ID/wait           blocks until the container exits; its state
    GET    /kernels/ID                {status, running, oom_killed, exit_code}
    DELETE /kernels/ID                removes the container and its folders
    DELETE /kernels?run_label=X       removes every kernel of that grading run (the end-of-run sweep)

What a caller can choose is only the limits, each capped by this service's maxima. The image, the
lockdown (no network, read-only root, no capabilities, no new privileges, uid 1000, no core
dumps) and the mounts are fixed here. The two mounted folders are made by the service itself in
GRADING_DIR/kernels/ID/, under folders owned by root that the instructor group can enter but not
change: no path comes from the caller, so no symlink or rename swapped in between a check and
Docker's mount can point a kernel at the host's files. The service acts only on containers that
carry its label; anything else is refused with a JSON {"error", "reason"}. Every request is logged.

Run by the hub (a managed service in jupyterhub_config.py), as root, in the hub's container:
    python -m matchbox.hub.sandbox_service --grading-dir DIR --image IMAGE --group GID
"""

import http.server
import json
import logging
import os
import re
import shutil
import socket
import socketserver
import stat
import struct
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import docker
from traitlets import Float, Integer, Unicode
from traitlets.config import Application

# The kernel's container (lockdown, mounts, command, size units), shared with the grader's local
# `docker run`; a standard-library module: the hub has no nbgrader.
from matchbox.grader import lockdown

LABEL = "matchbox-sandbox"          # value: the service's instance (its grading dir)
RUN_LABEL = "matchbox-sandbox.run"  # value: the grading run's label
KERNEL_ID = re.compile(r"[0-9a-f]{12}")
RUN_LABEL_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# What a POST /kernels may contain, and why the usual suspects are not among them.
LIMIT_FIELDS = {"memory", "cpus", "pids", "wall_s", "run_label"}
FIXED_FIELDS = {
    "image": ("image-fixed", "the kernels' image is fixed by the sandbox service ({image})"),
    "ipc_dir": ("folders-fixed", "the sandbox service makes each kernel's folders itself"),
    "workdir": ("folders-fixed", "the sandbox service makes each kernel's folders itself"),
    "work_dir": ("folders-fixed", "the sandbox service makes each kernel's folders itself"),
    "volumes": ("folders-fixed", "the sandbox service makes each kernel's folders itself"),
    "mounts": ("folders-fixed", "the sandbox service makes each kernel's folders itself"),
    "command": ("command-fixed", "the kernel's command is fixed by the sandbox service"),
    "user": ("user-fixed", "kernels always run as the sandbox service's kernel user"),
    "network": ("network-fixed", "kernels never have a network"),
}

log = logging.getLogger("matchbox-sandbox")


class Refused(Exception):
    """A request the service will not carry out: HTTP status, a short reason code, a sentence."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def memory_bytes(text):
    """'2g' -> bytes, as docker --memory reads it; Refused when it is not a size."""
    try:
        return lockdown.size_bytes(text)
    except ValueError as problem:
        raise Refused(400, "bad-limit", f"memory {problem}") from None


class SandboxService(Application):
    """Starts grading kernels as locked-down containers, on request of the instructor group."""

    name = "matchbox-sandbox-service"
    description = __doc__.split("\n\n")[0]

    grading_dir = Unicode(
        "", help="host folder, mounted at the same path here and in the instructor's server; the "
                 "service makes it root-owned (instructor group: enter and read) and keeps its "
                 "socket and the kernels' folders in it").tag(config=True)
    socket_name = Unicode("sandbox.sock", help="the API's UNIX socket, in grading_dir").tag(config=True)
    group = Integer(2000, help="group allowed to use the socket and enter the kernels' folders "
                               "(the instructor group; participants never get it)").tag(config=True)
    image = Unicode("", help="the image every kernel runs (the participant image); callers "
                             "cannot choose another").tag(config=True)
    kernel_user = Unicode("1000:100", help="uid:gid the kernels run as").tag(config=True)
    container_prefix = Unicode("matchbox-kernel", help="kernel containers are named PREFIX-ID").tag(config=True)
    tmpfs_size = Unicode("256m", help="size of each kernel's writable /tmp").tag(config=True)
    work_size = Unicode(
        "256m", help="size of each kernel's writable work folder (a tmpfs holding a copy of the "
                     "notebook's folder); what the kernel writes there never reaches a disk").tag(config=True)
    max_memory = Unicode("4g", help="largest memory limit a caller may ask for (no swap on top)").tag(config=True)
    max_cpus = Float(2.0, help="largest CPU limit a caller may ask for").tag(config=True)
    max_pids = Integer(512, help="largest process limit a caller may ask for").tag(config=True)
    max_wall_s = Integer(3600, help="longest a kernel may live, in seconds").tag(config=True)
    max_kernels = Integer(8, help="kernels prepared or running at once (a grading run's -j "
                                  "needs one each)").tag(config=True)
    keep_exited_s = Integer(3600, help="an ended kernel nobody removed (its grader crashed) is "
                                       "removed this long after its wall clock").tag(config=True)

    aliases = {
        "grading-dir": "SandboxService.grading_dir",
        "image": "SandboxService.image",
        "group": "SandboxService.group",
        "max-memory": "SandboxService.max_memory",
        "max-cpus": "SandboxService.max_cpus",
        "max-pids": "SandboxService.max_pids",
        "max-wall-s": "SandboxService.max_wall_s",
        "max-kernels": "SandboxService.max_kernels",
        "work-size": "SandboxService.work_size",
        "log-level": "Application.log_level",
    }

    # ---- start ----------------------------------------------------------------------------

    def initialize(self, argv=None):
        super().initialize(argv)
        if not self.grading_dir or not self.image:
            self.exit_with("--grading-dir and --image are both needed")
        self.grading_dir = os.path.abspath(self.grading_dir)
        if os.path.realpath(self.grading_dir) != self.grading_dir:
            self.exit_with(f"{self.grading_dir} has a symlink in its path: give the real path "
                           f"({os.path.realpath(self.grading_dir)})")
        self.kernels_dir = os.path.join(self.grading_dir, "kernels")
        self.socket_path = os.path.join(self.grading_dir, self.socket_name)
        self.lock = threading.Lock()
        # one connection per blocked wait, and some for everything else
        self.docker = docker.from_env(timeout=120, max_pool_size=self.max_kernels + 8)
        self.max_memory_bytes = memory_bytes(self.max_memory)

    def exit_with(self, message):
        log.error("cannot start: %s", message)
        self.exit(2)

    def own_folder(self, path, mode):
        """A real folder (not a symlink) owned by root:group with this mode: the instructor group
        may enter it, only root may rename, replace or add to what is in it."""
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            # something else took the name (only root can write here, so a leftover): move it away
            os.rename(path, f"{path}.not-a-folder-{uuid.uuid4().hex[:8]}")
            os.mkdir(path, mode)
        os.chown(path, 0, self.group, follow_symlinks=False)
        os.chmod(path, mode)

    def prepare_grading_dir(self):
        """The grading dir and its kernels/ folder root-owned, group-readable, not group-writable."""
        if not os.path.isdir(self.grading_dir) or os.path.islink(self.grading_dir):
            self.exit_with(f"{self.grading_dir} is not a folder: create it (it must be mounted at "
                           "the same path here and in the instructor's server)")
        os.chown(self.grading_dir, 0, self.group)
        os.chmod(self.grading_dir, 0o750)
        self.own_folder(self.kernels_dir, 0o750)
        known = {c.labels.get("matchbox-sandbox.id") for c in self.containers()}
        for name in os.listdir(self.kernels_dir):  # folders of kernels gone while we were down
            if name not in known:
                shutil.rmtree(os.path.join(self.kernels_dir, name), ignore_errors=True)

    def start(self):
        self.prepare_grading_dir()
        try:
            self.docker.images.get(self.image)
        except docker.errors.ImageNotFound:
            log.warning("image %s is not there yet: kernels fail to start until it is built",
                        self.image)
        server = UnixHTTPServer(self.socket_path, Handler, self)
        log.info("listening on %s (group %s): kernels in %s, at most %d at once, each <= %s "
                 "memory, %g CPUs, %d processes, %d s", self.socket_path, self.group, self.image,
                 self.max_kernels, self.max_memory, self.max_cpus, self.max_pids, self.max_wall_s)
        server.serve_forever()

    # ---- kernels --------------------------------------------------------------------------

    def containers(self, run_label=None, all=True):
        """This service's containers (only those with its label), optionally of one run."""
        labels = [f"{LABEL}={self.grading_dir}"]
        if run_label:
            labels.append(f"{RUN_LABEL}={run_label}")
        return self.docker.containers.list(all=all, filters={"label": labels})

    def kernel(self, kernel_id):
        """The container of a kernel this service made; Refused for anything else."""
        if not KERNEL_ID.fullmatch(kernel_id):
            raise Refused(400, "bad-id", f"{kernel_id!r} is not a kernel id (12 hex digits)")
        try:
            container = self.docker.containers.get(f"{self.container_prefix}-{kernel_id}")
        except docker.errors.NotFound:
            raise Refused(404, "no-such-kernel", f"no kernel {kernel_id}") from None
        if container.labels.get(LABEL) != self.grading_dir:
            raise Refused(403, "not-ours", f"container {container.name} was not started by this "
                                           "sandbox service: it acts only on its own kernels")
        return container

    def info(self):
        return {"image": self.image, "max_memory": self.max_memory, "max_cpus": self.max_cpus,
                "max_pids": self.max_pids, "max_wall_s": self.max_wall_s,
                "max_kernels": self.max_kernels,
                "kernels": len([c for c in self.containers() if c.status in ("created", "running")])}

    def limits(self, body):
        """The request's limits, checked against the maxima; Refused naming the first problem."""
        if not isinstance(body, dict):
            raise Refused(400, "bad-request", "the body must be a JSON object")
        for field in body:
            if field in FIXED_FIELDS:
                reason, message = FIXED_FIELDS[field]
                raise Refused(403, reason, message.format(image=self.image))
            if field not in LIMIT_FIELDS:
                raise Refused(400, "unknown-field", f"unknown field {field!r}; a kernel takes "
                                                    + ", ".join(sorted(LIMIT_FIELDS)))
        memory = body.get("memory", "2g")
        try:
            cpus, pids, wall_s = float(body.get("cpus", 1)), int(body.get("pids", 256)), int(body.get("wall_s", 900))
        except (TypeError, ValueError):
            raise Refused(400, "bad-limit", "cpus, pids and wall_s must be numbers") from None
        run_label = str(body.get("run_label") or "adhoc")
        if not RUN_LABEL_VALUE.fullmatch(run_label):
            raise Refused(400, "bad-run-label", "run_label: 1-64 letters, digits, '.', '_' or '-'")
        over = [(name, asked, most) for name, asked, most, over in (
            ("memory", memory, self.max_memory, memory_bytes(memory) > self.max_memory_bytes),
            ("cpus", cpus, self.max_cpus, cpus > self.max_cpus),
            ("pids", pids, self.max_pids, pids > self.max_pids),
            ("wall_s", wall_s, self.max_wall_s, wall_s > self.max_wall_s)) if over]
        if over:
            name, asked, most = over[0]
            raise Refused(403, "over-limit", f"{name} {asked} is over the sandbox service's maximum "
                                             f"{most} (ask for less, or raise --max-{name.replace('_', '-')})")
        if memory_bytes(memory) < 64 * 1024 ** 2 or cpus <= 0 or pids < 16 or wall_s < 1:
            raise Refused(400, "bad-limit", "limits too small: memory >= 64m, cpus > 0, pids >= 16, wall_s >= 1")
        return dict(memory=memory_bytes(memory), cpus=cpus, pids=pids, wall_s=wall_s, run_label=run_label)

    def kernel_folders(self, kernel_id):
        """KERNELS/ID (root's) with ipc/ and work/ in it (the kernel user's, the group's)."""
        top = os.path.join(self.kernels_dir, kernel_id)
        os.mkdir(top, 0o750)
        os.chown(top, 0, self.group)
        uid = int(self.kernel_user.split(":")[0])
        folders = []
        for name in ("ipc", "work"):
            path = os.path.join(top, name)
            os.mkdir(path, 0o770)
            os.chown(path, uid, self.group)
            os.chmod(path, 0o2770)
            folders.append(path)
        return folders

    def create(self, body):
        """Prepare a kernel: its folders and its (not yet started) container."""
        limits = self.limits(body)
        with self.lock:  # count and create together: max_kernels holds under parallel requests
            self.reap()
            busy = [c for c in self.containers() if c.status in ("created", "running")]
            if len(busy) >= self.max_kernels:
                raise Refused(429, "too-many-kernels", f"{len(busy)} kernels already running, the "
                                                       f"sandbox service's maximum is {self.max_kernels}: "
                                                       "grade with a smaller -j")
            kernel_id = uuid.uuid4().hex[:12]
            ipc_dir, work_dir = self.kernel_folders(kernel_id)
            connection_file = os.path.join(ipc_dir, "kernel.json")
            try:
                settings = lockdown.container_settings(
                    memory=limits["memory"], cpus=limits["cpus"], pids=limits["pids"],
                    wall_s=limits["wall_s"], ipc_dir=ipc_dir, submission_dir=work_dir,
                    connection_file=connection_file, tmpfs_size=self.tmpfs_size,
                    work_size=self.work_size, user=self.kernel_user)
                self.docker.containers.create(
                    self.image, name=f"{self.container_prefix}-{kernel_id}",
                    labels={LABEL: self.grading_dir, RUN_LABEL: limits["run_label"],
                            "matchbox-sandbox.id": kernel_id,
                            "matchbox-sandbox.wall_s": str(limits["wall_s"])},
                    **settings)
            except docker.errors.ImageNotFound:
                shutil.rmtree(os.path.dirname(ipc_dir), ignore_errors=True)
                raise Refused(503, "no-image", f"the kernels' image {self.image} is not on this "
                                               "host: build it (docker compose --profile hub build)") from None
            except Exception:
                shutil.rmtree(os.path.dirname(ipc_dir), ignore_errors=True)
                raise
        log.info("kernel %s prepared (run %s): %d MiB, %g CPUs, %d processes, %d s", kernel_id,
                 limits["run_label"], limits["memory"] // 1024 ** 2, limits["cpus"], limits["pids"],
                 limits["wall_s"])
        return {"id": kernel_id, "ipc_dir": ipc_dir, "work_dir": work_dir,
                "connection_file": connection_file, "image": self.image}

    def reap(self):
        """Remove what crashed graders left: kernels prepared and never started (a minute is
        plenty), still running past their wall clock, or ended long ago; so that they never
        count against max_kernels for good."""
        now = time.time()
        for container in self.containers():
            age = now - created(container)
            wall_s = int(container.labels.get("matchbox-sandbox.wall_s") or self.max_wall_s)
            if ((container.status == "created" and age > 600)
                    or (container.status == "running" and age > wall_s + 120)
                    or (container.status not in ("created", "running") and age > wall_s + self.keep_exited_s)):
                log.warning("removing kernel %s left behind (%s, %d s old)", container.name,
                            container.status, age)
                self.remove(container.labels.get("matchbox-sandbox.id", ""), container)

    def start_kernel(self, kernel_id):
        container = self.kernel(kernel_id)
        if container.status != "created":
            raise Refused(409, "already-started", f"kernel {kernel_id} was started already")
        container.start()
        return state(self.kernel(kernel_id))

    def wait(self, kernel_id):
        container = self.kernel(kernel_id)
        container.wait(timeout=self.max_wall_s + 600)
        return state(self.kernel(kernel_id))

    def remove(self, kernel_id, container=None):
        """A kernel's container and its folders."""
        container = container or self.kernel(kernel_id)
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass  # removed by a concurrent request
        except docker.errors.APIError as problem:
            # 409: a removal already in progress; the kernel process and its manager both ask
            # for it at shutdown. Answer when it is gone, so that the folders go too.
            if problem.status_code != 409:
                raise
            self.wait_removed(container)
        if KERNEL_ID.fullmatch(kernel_id):
            shutil.rmtree(os.path.join(self.kernels_dir, kernel_id), ignore_errors=True)
        return {"removed": [kernel_id]}

    def wait_removed(self, container, timeout=60):
        """Until Docker no longer knows the container (a removal under way elsewhere)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                container.reload()
            except docker.errors.NotFound:
                return
            time.sleep(0.2)
        raise Refused(504, "not-removed", f"container {container.name} is still being removed")

    def sweep(self, run_label):
        """Remove every kernel of one grading run (what an interrupted run left behind)."""
        if not run_label or not RUN_LABEL_VALUE.fullmatch(run_label):
            raise Refused(400, "bad-run-label", "DELETE /kernels needs ?run_label=LABEL (1-64 letters, "
                                                "digits, '.', '_' or '-')")
        removed = []
        for container in self.containers(run_label=run_label):
            removed += self.remove(container.labels.get("matchbox-sandbox.id", ""), container)["removed"]
        return {"removed": removed}

    def handle(self, method, path, query, body):
        """Route one request; returns (status, JSON-able answer)."""
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["info"]:
            return 200, self.info()
        if parts[:1] == ["kernels"]:
            if method == "POST" and len(parts) == 1:
                return 201, self.create(body)
            if method == "DELETE" and len(parts) == 1:
                return 200, self.sweep((query.get("run_label") or [""])[0])
            if len(parts) == 2 and method == "GET":
                return 200, state(self.kernel(parts[1]))
            if len(parts) == 2 and method == "DELETE":
                return 200, self.remove(parts[1])
            if len(parts) == 3 and method == "POST" and parts[2] == "start":
                return 200, self.start_kernel(parts[1])
            if len(parts) == 3 and method == "POST" and parts[2] == "wait":
                return 200, self.wait(parts[1])
        raise Refused(404, "no-such-endpoint", f"no {method} {path} (see GET /info and the "
                                               "module's docstring)")


def created(container):
    """When Docker created the container, in epoch seconds (inspect gives ISO 8601, in UTC)."""
    stamp = container.attrs.get("Created", "")
    try:
        return datetime.fromisoformat(stamp[:19]).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return time.time()


def state(container):
    """What a caller needs to know of a kernel's container to explain its death."""
    container.reload()
    s = container.attrs["State"]
    return {"id": container.labels.get("matchbox-sandbox.id"), "status": s["Status"],
            "running": s["Running"], "oom_killed": s["OOMKilled"], "exit_code": s["ExitCode"]}


class UnixHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """HTTP on a UNIX socket (mode 0660, root:group), one thread per request (wait blocks)."""

    address_family = socket.AF_UNIX
    daemon_threads = True

    def __init__(self, path, handler, service):
        self.service = service
        if os.path.lexists(path):
            os.unlink(path)  # a socket left by an earlier run (the folder is root's)
        super().__init__(path, handler)

    def server_bind(self):
        old = os.umask(0o177)  # no moment at which others could connect
        try:
            socketserver.TCPServer.server_bind(self)
        finally:
            os.umask(old)
        os.chown(self.server_address, 0, self.service.group)
        os.chmod(self.server_address, 0o660)
        self.server_name, self.server_port = "sandbox", 0


class Handler(http.server.BaseHTTPRequestHandler):
    """JSON in, JSON out; each request logged with the caller's uid and gid."""

    protocol_version = "HTTP/1.1"

    def address_string(self):
        try:
            pid, uid, gid = struct.unpack("3i", self.connection.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            return f"uid {uid} gid {gid}"
        except OSError:
            return "unknown caller"

    def log_message(self, format, *args):  # noqa: A002  (BaseHTTPRequestHandler's signature)
        log.info("%s: %s", self.address_string(), format % args)

    def answer(self, status, data):
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def dispatch(self):
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise Refused(400, "bad-request", "the body is not JSON") from None
            status, data = self.server.service.handle(self.command, url.path, parse_qs(url.query), body)
        except Refused as refused:
            log.warning("%s: refused %s %s: %s", self.address_string(), self.command, url.path,
                        refused.message)
            status, data = refused.status, {"error": refused.message, "reason": refused.reason}
        except docker.errors.APIError as problem:
            log.exception("Docker refused %s %s", self.command, url.path)
            status, data = 502, {"error": f"Docker: {problem.explanation or problem}", "reason": "docker"}
        except Exception as problem:  # noqa: BLE001  (the caller gets an answer; the log the trace)
            log.exception("%s %s failed", self.command, url.path)
            status, data = 500, {"error": f"the sandbox service failed: {type(problem).__name__}: "
                                          f"{problem}", "reason": "internal"}
        self.answer(status, data)

    do_GET = do_POST = do_DELETE = dispatch


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s sandbox] %(message)s")
    SandboxService.launch_instance(argv)


if __name__ == "__main__":
    main()
