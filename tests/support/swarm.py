"""A Docker Swarm of three engines on this one machine, and the hub deployed on it with
deploy/swarm/stack.yml (tests/test_hub_swarm.py, benchmarks/hub.py --swarm).

Each node is a container of deploy/swarm/node (Debian's docker.io on the base image) on a bridge
network made for the swarm; the first is the manager, the others join as workers. The exchange
is one host folder mounted into every node at the same path, as NFS would be at a venue. Images
reach the nodes by `docker save | docker load` (no registry): the hub's and the instructor's to
the manager only, the participants' to every node. Everything is removed by remove().
"""

import contextlib
import secrets
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.support.containers import ARTIFACTS, ROOT, docker, free_port
from tests.support.hub_client import HubClient
from tests.support.hubs import ADMIN, HUB_TAG

NODE_IMAGE = "matchbox-swarm-node"
# what --privileged would give, less CAP_SYS_RESOURCE (a machine whose own bounding set lacks a
# capability refuses --privileged); deploy/swarm/node/start-node mounts the rest
NODE_OPTIONS = ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm"]
EXCHANGE_DIR = "/srv/matchbox-hub/exchange"
GRADING_DIR = "/var/lib/matchbox-hub/grading"
STACK = "matchbox"


class Swarm:
    """Three (or `nodes`) Docker engines in containers joined into one swarm, the hub on it."""

    def __init__(self, nodes=3, log=print):
        self.prefix = f"mbswarm-{uuid.uuid4().hex[:6]}"
        self.names = [f"{self.prefix}-manager"] + [f"{self.prefix}-worker{i}" for i in range(1, nodes)]
        self.exchange = Path(f"/tmp/{self.prefix}-exchange")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_password = secrets.token_urlsafe(24)
        self.log = log
        self.timings = {}

    @property
    def manager(self):
        return self.names[0]

    def on(self, node, *args, check=True, input=None, timeout=600):
        """`docker ARGS` run by the engine of `node`."""
        result = subprocess.run(["docker", "exec", "-i", node, "docker", *args], input=input,
                                capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, (f"docker {' '.join(args)} on {node} exited "
                                            f"{result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    @contextlib.contextmanager
    def phase(self, name):
        started = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - started
        self.log(f"swarm: {name}: {self.timings[name]:.1f} s")

    # ---- the nodes ------------------------------------------------------------------------------
    def build_node_image(self):
        with self.phase("node image"):
            docker("build", "-q", "-t", NODE_IMAGE, str(ROOT / "deploy" / "swarm" / "node"), timeout=900)

    def start_nodes(self):
        with self.phase("nodes started"):
            docker("network", "create", self.prefix)
            self.exchange.mkdir()
            for name in self.names:
                publish = ["-p", f"127.0.0.1:{self.port}:8000"] if name == self.manager else []
                docker("run", "-d", "--name", name, "--hostname", name.removeprefix(self.prefix + "-"),
                       "--network", self.prefix, *NODE_OPTIONS, *publish,
                       "-v", f"{self.exchange}:{EXCHANGE_DIR}", NODE_IMAGE)
            for name in self.names:
                self.wait_engine(name)

    def wait_engine(self, name, limit=90):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.on(name, "info", "--format", "{{.ID}}", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"the engine in {name} did not start in {limit} s:\n"
                             + docker("logs", "--tail", "40", name, check=False).stderr)

    def load_images(self, manager_images, every_node_images):
        """docker save | docker load, the nodes in parallel, each image streamed once per node."""
        def load(name):
            images = (manager_images if name == self.manager else []) + every_node_images
            if not images:
                return
            save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
            done = subprocess.run(["docker", "exec", "-i", name, "docker", "load", "-q"], stdin=save.stdout,
                                  capture_output=True, text=True, timeout=900)
            save.stdout.close()
            assert save.wait() == 0 and done.returncode == 0, f"loading {images} into {name}: {done.stderr}"
        with self.phase("images loaded"), ThreadPoolExecutor(len(self.names)) as pool:
            list(pool.map(load, self.names))

    def form(self):
        """The manager inits the swarm on the nodes' network; the others join as workers."""
        with self.phase("swarm formed"):
            address = docker("inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{self.prefix}").IPAddress}}}}',
                             self.manager).stdout.strip()
            self.on(self.manager, "swarm", "init", "--advertise-addr", address)
            token = self.on(self.manager, "swarm", "join-token", "-q", "worker").stdout.strip()
            for name in self.names[1:]:
                self.on(name, "swarm", "join", "--token", token, f"{address}:2377")

    # ---- the hub --------------------------------------------------------------------------------
    def deploy(self, limit=180, **env):
        """deploy/swarm/stack.yml on the manager, with MATCHBOX_HUB_* settings `env`; waits for
        the hub's health."""
        with self.phase("hub up"):
            # the manager's folder of the grading sandbox (the stack binds it: it must exist)
            subprocess.run(["docker", "exec", self.manager, "mkdir", "-p", GRADING_DIR], check=True)
            stack = (ROOT / "deploy" / "swarm" / "stack.yml").read_text()
            settings = {"MATCHBOX_HUB_TAG": HUB_TAG, "MATCHBOX_HUB_ADMIN_PASSWORD": self.admin_password,
                        "MATCHBOX_HUB_PREFIX": self.prefix, **env}
            result = subprocess.run(
                ["docker", "exec", "-i", *[f"--env={k}={v}" for k, v in settings.items()], self.manager,
                 "docker", "stack", "deploy", "-c", "-", STACK], input=stack,
                capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"docker stack deploy: {result.stdout}\n{result.stderr}"
            started = time.monotonic()
            while time.monotonic() - started < limit:
                try:
                    if requests.get(self.url + "/hub/health", timeout=5).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                time.sleep(1)
            raise AssertionError(f"the hub on the swarm not up after {limit} s:\n{self.hub_logs()[-5000:]}")

    def hub_logs(self):
        logs = self.on(self.manager, "service", "logs", "--no-task-ids", f"{STACK}_hub", check=False)
        return logs.stdout + logs.stderr

    def client(self, name, password=None):
        return HubClient(self.url, name, password)

    def admin(self):
        return HubClient(self.url, ADMIN, self.admin_password)

    def placement(self):
        """{participant's user name: node hostname} of the servers running now."""
        services = self.on(self.manager, "service", "ls", "-q", "--filter",
                           f"label=matchbox.hub.participant={self.prefix}").stdout.split()
        found = {}
        for service in services:
            user = self.on(self.manager, "service", "inspect", "-f",
                           '{{index .Spec.Labels "matchbox.hub.user"}}', service).stdout.strip()
            nodes = self.on(self.manager, "service", "ps", "-q", "--filter", "desired-state=running",
                            "--format", "{{.Node}}", service).stdout.split()
            found[user] = nodes[0] if nodes else None
        return found

    def hub_memory(self):
        ids = self.on(self.manager, "ps", "-q", "--filter",
                      f"label=com.docker.swarm.service.name={STACK}_hub").stdout.split()
        return self.on(self.manager, "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids[:1]).stdout.strip()

    def remove_node(self, name):
        docker("rm", "-f", "-v", name)

    def remove(self):
        for name in self.names:
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", self.prefix, check=False)
        shutil.rmtree(self.exchange, ignore_errors=True)


@contextlib.contextmanager
def swarm_hub(hub_images, participant_image, nodes=3, log=print, **env):
    """A swarm of `nodes` engines with the hub deployed on it (hub_images: the hub's and the
    instructor's image, loaded into the manager; participant_image into every node)."""
    swarm = Swarm(nodes, log)
    try:
        swarm.build_node_image()
        swarm.start_nodes()
        swarm.load_images(hub_images, [participant_image])
        swarm.form()
        swarm.deploy(**env)
        yield swarm
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"hub-{swarm.prefix}.log").write_text(swarm.hub_logs())
        swarm.remove()
