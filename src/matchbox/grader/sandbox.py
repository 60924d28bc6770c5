"""The sandbox: a jupyter_client kernel manager whose kernel is a `docker run` of the workshop image.

nbgrader's autograde executes each notebook with nbclient; nbclient starts a kernel through
a kernel manager. SandboxKernelManager starts that kernel as

    docker run --network none --memory M --cpus C --pids-limit P --read-only
        --tmpfs /tmp --user 1000:100 --cap-drop ALL --security-opt no-new-privileges
        --tmpfs /home/jovyan/work (a copy of WORKDIR, mounted read-only at /home/jovyan/.submission)
        -v IPC:IPC -v WORKDIR:/home/jovyan/.submission:ro IMAGE
        timeout -s KILL WALL python -m ipykernel_launcher -f IPC/kernel.json

(the settings and the command come from lockdown.py, which the hub's sandbox service uses too)

and talks to it over ZMQ `ipc` (Unix domain) sockets in IPC, a fresh private folder mounted at
the same path inside and outside. The kernel sees only its own notebook's folder (the
autograded copy of the submission), never the course, the gradebook or the source notebooks.

nbgrader's Execute preprocessor passes kernel_manager_class=AsyncKernelManager to nbclient as
a keyword, which beats any configuration, so SandboxExecute (put in place of Execute in
Autograde.autograde_preprocessors) passes ours instead. It also caps each cell's output in
bytes while it arrives (LimitOutput only counts lines, after everything was held in memory).

A kernel that dies (os._exit, a segfault, the memory limit, the notebook's wall clock) does not
fail the student: the cells that ran keep their outputs, the dying cell and every code cell
after it get a KernelDied error (so their tests score 0), and the reason, read from the
container's state (`docker inspect`: OOMKilled, exit code), is written to deaths_file for the
closing table. The container is therefore not started with --rm; it is removed on shutdown.

On the hub the instructor's server holds no Docker socket: with service_socket set, the hub's
sandbox service (src/matchbox/hub/sandbox_service.py) makes the kernel's two folders and its
container, with the same lockdown and its own image; the kernel process here is
`python -m matchbox.grader.sandbox_client SOCKET ID` (start, wait, exit with the container's status), the
notebook's folder is copied into the service's work folder before the start, and death() and the
removal ask the service.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, Unicode

from matchbox.grader import lockdown, sandbox_client

LABEL = "matchbox-grader"


class SandboxKernelManager(AsyncKernelManager):
    """A kernel in a throw-away container: no network, bounded memory, CPU, processes, time."""

    image = Unicode("matchbox:latest", help="workshop image the kernel runs in").tag(config=True)
    memory = Unicode("2g", help="docker --memory (and --memory-swap: no swap)").tag(config=True)
    cpus = Float(1.0, help="docker --cpus").tag(config=True)
    pids = Integer(256, help="docker --pids-limit").tag(config=True)
    tmpfs_size = Unicode("256m", help="size of the writable /tmp").tag(config=True)
    work_size = Unicode("256m", help="size of the kernel's writable work folder (a tmpfs "
                                     "holding a copy of the notebook's folder)").tag(config=True)
    wall_s = Integer(900, help="seconds the kernel (one notebook) may live").tag(config=True)
    max_message_bytes = Integer(
        64_000_000, help="largest ZMQ message accepted from the kernel (bigger: dropped)").tag(config=True)
    run_label = Unicode("", help="value of the matchbox-grader label, to find leftovers").tag(config=True)
    service_socket = Unicode(
        "", help="UNIX socket of the hub's sandbox service: kernels are started through it (in "
                 "its image, under its maxima) instead of by `docker run` here; empty: `docker "
                 "run` with the local Docker").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.sandbox_id = None  # the service's id of the kernel (service_socket set)
        self.sandbox_removed = False
        if self.service_socket:
            return  # the folders come from the service, when the kernel is prepared
        self.use_ipc_dir(tempfile.mkdtemp(prefix="matchbox-ipc-"))
        os.chmod(self.ipc_dir, 0o777)  # the kernel (uid 1000) creates its sockets here
        self.container = f"matchbox-kernel-{uuid.uuid4().hex[:12]}"

    def use_ipc_dir(self, ipc_dir):
        """The folder of the kernel's connection file and ZMQ sockets (same path inside)."""
        self.ipc_dir = ipc_dir
        self.connection_file = os.path.join(ipc_dir, "kernel.json")
        self.ip = os.path.join(ipc_dir, "k")

    def ask_service(self, method, path, body=None, timeout=120):
        return sandbox_client.request(self.service_socket, method, path, body, timeout=timeout)

    def prepare_in_service(self):
        """The service makes the kernel's folders and container (not started yet)."""
        kernel = self.ask_service("POST", "/kernels", {
            "memory": self.memory, "cpus": self.cpus, "pids": self.pids, "wall_s": self.wall_s,
            "run_label": self.run_label or "adhoc"})
        self.sandbox_id, self.work_dir = kernel["id"], kernel["work_dir"]
        self.sandbox_removed = False
        self.container = kernel["id"]
        self.use_ipc_dir(kernel["ipc_dir"])

    async def _async_pre_start_kernel(self, **kw):
        if self.service_socket:
            await asyncio.get_running_loop().run_in_executor(None, self.prepare_in_service)
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        # the kernel runs as uid 1000: let it read the key (the folder is this kernel's alone)
        if os.geteuid() == 0:
            os.chown(self.connection_file, 1000, 100)
        else:
            os.chmod(self.connection_file, 0o644)

    def format_kernel_cmd(self, extra_arguments=None):
        if self.service_socket:
            # the standard library only: a quick start, once per notebook
            return [sys.executable, "-m", "matchbox.grader.sandbox_client", self.service_socket,
                    self.sandbox_id]
        cwd = (self._launch_args or {}).get("cwd") or os.getcwd()
        try:
            os.chmod(cwd, 0o755)  # the kernel (uid 1000) reads it; it writes to its tmpfs copy
        except OSError:
            pass
        settings = lockdown.container_settings(
            memory=self.memory, cpus=self.cpus, pids=self.pids, wall_s=self.wall_s,
            ipc_dir=self.ipc_dir, submission_dir=cwd, connection_file=self.connection_file,
            tmpfs_size=self.tmpfs_size, work_size=self.work_size)
        return ["docker", "run", "--interactive", "--name", self.container,
                "--label", f"{LABEL}={self.run_label or 'adhoc'}",
                *lockdown.docker_run_args(settings), self.image, *settings["command"]]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.service_socket:
            # the kernel sees a copy of its notebook's folder, in the folder the service made
            cwd = (self._launch_args or {}).get("cwd") or os.getcwd()
            shutil.copytree(cwd, self.work_dir, symlinks=True, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self.started = time.monotonic()
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def death(self):
        """Why the kernel's container ended, in words for the instructor and the student."""
        state = ""
        for _ in range(40):  # the container may take a moment to be reported as exited
            state = self.container_state()
            if len(state) != 3 or state[0] == "false":
                break
            time.sleep(0.25)
        if len(state) != 3 or state[0] != "false":
            return "stopped answering"
        oom, code = state[1] == "true", int(state[2])
        lived = time.monotonic() - getattr(self, "started", time.monotonic())
        if oom:
            return f"out of memory (over the {self.memory} limit)"
        if code == 128 + signal.SIGKILL and lived >= self.wall_s - 2:
            return f"over the {self.wall_s} s time limit"
        if code > 128:
            try:
                name = signal.Signals(code - 128).name
            except ValueError:
                name = f"signal {code - 128}"
            return f"crashed ({name})"
        return f"exited (status {code})"

    def container_state(self):
        """["true"/"false" running, "true"/"false" OOM-killed, exit code], or [] if unknown."""
        if not self.service_socket:
            return subprocess.run(
                ["docker", "inspect", "-f", "{{.State.Running}} {{.State.OOMKilled}} {{.State.ExitCode}}",
                 self.container], capture_output=True, text=True, timeout=60).stdout.split()
        try:
            s = self.ask_service("GET", sandbox_client.kernel_path(self.sandbox_id))
        except sandbox_client.ServiceError:
            return []
        return [str(s["running"]).lower(), str(s["oom_killed"]).lower(), str(s["exit_code"])]

    def client(self, **kwargs):
        """The client, its sockets refusing messages over max_message_bytes (a 1 GB print)."""
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        return kc

    def _remove_container(self):
        if not self.service_socket:
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, timeout=60)
            return
        if self.sandbox_id and not self.sandbox_removed:  # kill and cleanup both come here
            try:  # the container and both its folders
                self.ask_service("DELETE", sandbox_client.kernel_path(self.sandbox_id))
                self.sandbox_removed = True
            except sandbox_client.ServiceError as problem:
                self.sandbox_removed = problem.status == 404
                if problem.status != 404:
                    self.log.warning("sandbox kernel %s not removed: %s", self.sandbox_id, problem.message)

    async def _async_kill_kernel(self, restart=False):
        await asyncio.get_running_loop().run_in_executor(None, self._remove_container)
        await super()._async_kill_kernel(restart=restart)

    async def _async_send_kernel_sigterm(self, restart=False):
        await asyncio.get_running_loop().run_in_executor(None, self._remove_container)
        await super()._async_send_kernel_sigterm(restart=restart)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        await asyncio.get_running_loop().run_in_executor(None, self._remove_container)
        if not self.service_socket:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)


class SandboxExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel and a byte cap on each cell's output."""

    max_output_bytes = Integer(
        1_000_000, help="bytes of output kept per cell; the rest is dropped").tag(config=True)
    deaths_file = Unicode(
        "", help="JSON lines file: one {notebook, cell, grade_id, reason} per dead kernel").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        """Execute one notebook (fresh byte counts, no death yet)."""
        self._matchbox_bytes, self._death = {}, None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        """Run the cell; once the kernel has died, the cell fails without running."""
        if self._death is None:
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self._death = (index + 1, self.record_death(cell, index, resources))
                cell.outputs.append(died(f"the kernel died running this cell: {self._death[1]}"))
        elif cell.cell_type == "code" and cell.source.strip():
            at, reason = self._death
            cell.outputs = [died(f"not run: the kernel died at cell {at} ({reason})")]
        return cell, self.resources

    def record_death(self, cell, index, resources):
        """The reason the kernel died, logged and appended to deaths_file."""
        reason = self.km.death()
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        notebook = (resources or {}).get("unique_key", "notebook")
        self.log.warning("Kernel died at cell %d of %s: %s", index + 1, notebook, reason)
        if self.deaths_file:
            with open(self.deaths_file, "a", encoding="utf-8") as out:
                out.write(json.dumps({"notebook": notebook, "cell": index + 1,
                                      "grade_id": grade_id, "reason": reason}) + "\n")
        return reason

    def output(self, outs, msg, display_id, cell_index):
        """Keep a cell's outputs under max_output_bytes; beyond it, one truncation notice."""
        content = msg.get("content", {})
        size = sum(len(str(v)) for v in (content.get("text"), content.get("data"),
                                         content.get("traceback")) if v)
        used = self._bytes_used.get(cell_index, 0)
        if used >= self.max_output_bytes:
            return None
        if used + size > self.max_output_bytes:
            self._bytes_used[cell_index] = self.max_output_bytes
            notice = new_output("stream", name="stderr",
                                text=f"... output truncated: over {self.max_output_bytes} bytes ...\n")
            outs.append(notice)
            return notice
        self._bytes_used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    @property
    def _bytes_used(self):
        if not hasattr(self, "_matchbox_bytes"):
            self._matchbox_bytes = {}
        return self._matchbox_bytes


def died(text):
    """An error output that makes a test cell score 0 and tells the student why."""
    return new_output("error", ename="KernelDied", evalue=text, traceback=[f"KernelDied: {text}"])
