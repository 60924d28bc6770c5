"""The hub's spawner on a Docker Swarm (MATCHBOX_HUB_SPAWNER=swarm, docs/scale.md): each
participant's server is a swarm service, placed on the least-loaded node at its first start and
pinned there ever after (its work is a plain named volume on that node; the node is kept in the
spawner's state), with the same limits, read-only root, user and group as on one machine
(matchbox.hub.spawner), written as the service's resources and container spec.

dockerspawner's SwarmSpawner mounts every `volumes` entry as a bind (its issues 536, 537): here
a key that is an absolute path is a bind (the exchange, the grading dir: folders every node has at
that path) and any other key a named volume. Swarm's tmpfs mounts take no owner (API 1.41), and
the home must be uid 1000's: the root is not read-only here, and the home (outside the work
volume) is the container's own layer, as in the image; /tmp is still a size-capped tmpfs.
"""

import asyncio
import socket
import time

from docker.types import ContainerSpec, EndpointSpec, Mount, Placement, Resources, TaskTemplate
from dockerspawner import SwarmSpawner
from traitlets import Bool, Unicode

from matchbox.hub.spawner import MatchboxSpawner

LABEL = "matchbox.hub.participant"


def tmpfs_mount(target, options):
    """A swarm tmpfs mount from a DockerSpawner tmpfs entry ('rw,nosuid,size=128M,mode=0755')."""
    fields = dict(item.partition("=")[::2] for item in options.split(","))
    size = fields.get("size")
    units = {"k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}
    if size and size[-1].lower() in units:
        size = int(float(size[:-1]) * units[size[-1].lower()])
    return Mount(target, None, type="tmpfs", tmpfs_size=int(size) if size else None,
                 tmpfs_mode=int(fields["mode"], 8) if "mode" in fields else None)


def wait_for_name(name="hub", limit=60):
    """Wait until the swarm's DNS knows `name` (the hub's own service, which the hub's services
    and the participants' servers reach it by): it does a moment after the hub's task starts."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return socket.getaddrinfo(name, None)
        except socket.gaierror:
            if time.monotonic() > deadline:
                raise SystemExit(f"matchbox-hub: the swarm's DNS does not know '{name}' after {limit} s") from None
            time.sleep(0.5)


class MatchboxSwarmSpawner(MatchboxSpawner, SwarmSpawner):
    """A participant's server as a swarm service pinned to the node that holds its work volume."""

    node_id = Unicode(help="The swarm node this user's server runs on and their volume lives on "
                           "(kept in the spawner's state; chosen at the first start).")

    use_managers = Bool(
        True, help="Participants' servers may also run on manager nodes (the hub's own); False "
                   "keeps them on workers.",
    ).tag(config=True)

    # one placement at a time in this hub: the count per node includes the service just created
    _placing = asyncio.Lock()

    def load_state(self, state):
        super().load_state(state)
        self.node_id = state.get("node_id", "")

    def get_state(self):
        state = super().get_state()
        if self.node_id:
            state["node_id"] = self.node_id
        return state

    # clear_state (after a stop) keeps node_id: the volume stays on that node

    @property
    def mounts(self):
        mounts = []
        for source, bind in self.volumes.items():
            bind = bind if isinstance(bind, dict) else {"bind": bind, "mode": "rw"}
            source = source.format(**self.template_namespace())
            mounts.append(Mount(bind["bind"], source, type="bind" if source.startswith("/") else "volume",
                                read_only=bind.get("mode") == "ro"))
        host = self.extra_host_config
        for target, options in host.get("tmpfs", {}).items():
            if target != "/home/jovyan":
                mounts.append(tmpfs_mount(target, options))
        return mounts

    async def nodes(self):
        """{node id: hostname} of the nodes ready to take a participant."""
        found = await self.docker("nodes")
        return {n["ID"]: n["Description"]["Hostname"] for n in found
                if n["Status"]["State"] == "ready" and n["Spec"].get("Availability") == "active"
                and (self.use_managers or n["Spec"].get("Role") != "manager")}

    async def least_loaded(self, nodes):
        """The ready node with the fewest of this hub's participants' services."""
        counts = dict.fromkeys(nodes, 0)
        services = await self.docker("services", filters={"label": f"{LABEL}={self.prefix}"})
        for service in services:
            node = service["Spec"]["Labels"].get("matchbox.hub.node")
            if node in counts:
                counts[node] += 1
        return min(counts, key=lambda node: (counts[node], nodes[node]))

    def placement(self):
        if self.user.admin:
            return ["node.role == manager"]
        return [f"node.id == {self.node_id}"]

    async def create_object(self):
        """The service: image, command, environment, mounts, user and group, read-only root,
        memory, CPU and process limits, pinned to the user's node."""
        host = self.extra_host_config
        env = self.get_env()
        user = self.extra_create_kwargs.get("user")
        container = ContainerSpec(
            self.image, None, args=await self.get_command(), env=env, user=user,
            mounts=self.mounts,
            groups=[str(g) for g in host.get("group_add", [])] or None,
            workdir=self.notebook_dir or None)
        resources = Resources(
            mem_limit=self.mem_limit, mem_reservation=self.mem_guarantee,
            cpu_limit=int(self.cpu_limit * 1e9) if self.cpu_limit else None)
        if host.get("pids_limit"):
            resources.setdefault("Limits", {})["Pids"] = int(host["pids_limit"])
        async with self._placing:
            if self.user.admin:
                node_label = "manager"
            else:
                nodes = await self.nodes()
                if not self.node_id:
                    self.node_id = await self.least_loaded(nodes)
                    self.log.info("%s's server and volume go on node %s", self.user.name,
                                  nodes[self.node_id])
                elif self.node_id not in nodes:
                    raise RuntimeError(f"{self.user.name}'s work is on swarm node {self.node_id}, "
                                       "which is not ready: bring it back, or delete the user's "
                                       "server state to start afresh on another node")
                node_label = self.node_id
            task = TaskTemplate(container, resources=resources, networks=[self.network_name],
                                placement=Placement(constraints=self.placement()),
                                restart_policy={"Condition": "none"})
            service = await self.docker(
                "create_service", task, name=self.service_name,
                labels={"matchbox.hub.user": self.user.name, "matchbox.hub.node": node_label,
                        **({} if self.user.admin else {LABEL: self.prefix})},
                # the hub reaches the task by its own address (DNS round-robin), not a virtual IP
                endpoint_spec=EndpointSpec(mode="dnsrr"))
        while not await self.docker("tasks", filters={"service": self.service_name}):
            await asyncio.sleep(1)
        return service

    async def delete_forever(self):
        """The user's volume stays on their node (docs/scale.md: archive or remove it there)."""
        self.log.info("%s deleted: their volume %s stays on swarm node %s", self.user.name,
                      self.volume_name, self.node_id or "(never placed)")
