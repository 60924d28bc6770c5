"""JupyterHub for a room of participants: sign-up accounts, one container of the workshop image
per participant (DockerSpawner), a named volume each, limits, an idle culler, a shared nbgrader
exchange, and an instructor's server with the course, formgrader and the grader.

Everything a room needs to change comes from the environment (docker-compose.yml, docs/room.md).
"""

import json
import logging
import os
import sys

import docker
from jupyterhub.traitlets import ByteSpecification

from matchbox.hub import auth, disks


c = get_config()  # noqa: F821  (JupyterHub provides it)
env = os.environ.get

# Names of everything the hub creates in Docker: <prefix>-<user> containers, <prefix>-user-<user>
# volumes; compose creates the <prefix> network and the <prefix>-exchange and <prefix>-inbound volumes.
PREFIX = env("MATCHBOX_HUB_PREFIX", "matchbox-hub")
ADMIN = env("MATCHBOX_HUB_ADMIN", "instructor")

# ---- hub and proxy ---------------------------------------------------------------------------
c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
# Participant containers reach the hub by its compose service name on the shared network.
c.JupyterHub.hub_connect_url = f"http://{env('MATCHBOX_HUB_HOSTNAME', 'hub')}:8081"
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/jupyterhub_cookie_secret"
# Servers keep running when the hub restarts (docker compose restart hub): work is not interrupted.
c.JupyterHub.cleanup_servers = False
# Our templates first (src/matchbox/hub/templates: the sign-up, login and approval pages), then
# JupyterHub's pages whose inline scripts carry the CSP nonce (made at image build:
# matchbox.hub.csp_templates); a Content-Security-Policy on every response that runs no inline
# script or event handler but those (matchbox.hub.auth.ContentSecurityPolicy).
c.JupyterHub.template_paths = [auth.TEMPLATES, os.path.join(sys.prefix, "share", "matchbox-hub", "templates")]
c.JupyterHub.template_vars = {"csp_nonce": auth.NONCE_MARKER}
c.JupyterHub.tornado_settings = {"transforms": [auth.ContentSecurityPolicy]}

# ---- accounts --------------------------------------------------------------------------------
# matchbox.hub.auth: NativeAuthenticator's sign-up and approval with strict usernames (NFKC, lower
# case, [a-z0-9][a-z0-9_-]{0,31}), our own escaped pages with POST-only changes, and throttles
# per source address (never per account: nobody can lock another person out).
c.JupyterHub.authenticator_class = auth.MatchboxAuthenticator
c.Authenticator.admin_users = {ADMIN}
# The authenticator itself refuses accounts the instructor has not approved.
c.Authenticator.allow_all = True
c.NativeAuthenticator.open_signup = False
c.NativeAuthenticator.minimum_password_length = int(env("MATCHBOX_HUB_MIN_PASSWORD", "8"))
c.NativeAuthenticator.check_common_password = True
# NativeAuthenticator's per-account lockout let anyone lock anyone out: off.
c.NativeAuthenticator.allowed_failed_logins = 0
# After this many failed logins from one source address within that many seconds, that address
# (only) is refused until the oldest failure is that old.
c.MatchboxAuthenticator.failed_logins_per_address = int(env("MATCHBOX_HUB_FAILED_LOGINS", "5"))
c.MatchboxAuthenticator.address_lockout_seconds = int(env("MATCHBOX_HUB_LOCKOUT_SECONDS", "120"))
# Sign-up attempts per source address per window (a room behind one NAT shares an address: keep
# it well above the room's size), and a cap on sign-ups waiting for approval (docs/room.md).
c.MatchboxAuthenticator.signups_per_address = int(env("MATCHBOX_HUB_SIGNUPS_PER_ADDRESS", "100"))
c.MatchboxAuthenticator.signup_window_seconds = int(env("MATCHBOX_HUB_SIGNUP_WINDOW_SECONDS", "600"))
c.MatchboxAuthenticator.max_pending_signups = int(env("MATCHBOX_HUB_MAX_PENDING_SIGNUPS", "200"))

# ---- the nbgrader exchange -------------------------------------------------------------------
# Two volumes: <prefix>-exchange (outbound/ and feedback/) and <prefix>-inbound mounted on its
# inbound/ folder. Every server runs as uid 1000, so owners cannot tell participants apart: the
# folders belong to root and the instructor group (given to the instructor's server only), and
# participants get the exchange read-only except inbound, where they may write but not list:
#   matchbox/outbound  root:GID 2775  the instructor releases; everyone reads
#   matchbox/inbound   root:GID 0773  everyone submits; only the instructor group lists and reads
#   matchbox/feedback  root:GID 2771  the instructor writes; a participant opens only its own files
# nbgrader names a submission STUDENT+ASSIGNMENT+TIME+RANDOM: unlisted, nobody finds another's.
# Each participant's server runs as uid 1000 with a group of its own (PARTICIPANT_GID_BASE + the
# hub's user id), so a submission's group says whose server wrote it; matchbox/roster.json
# (root:GID 0640, written at each spawn) maps names to groups, and `grade --from-exchange`
# ignores a submission made under someone else's name.
EXCHANGE = "/srv/nbgrader/exchange"
COURSE = "matchbox"
INBOUND = f"{EXCHANGE}/{COURSE}/inbound"
ROSTER = f"{EXCHANGE}/{COURSE}/roster.json"
INSTRUCTOR_GID = int(env("MATCHBOX_HUB_INSTRUCTOR_GID", "2000"))
PARTICIPANT_GID_BASE = int(env("MATCHBOX_HUB_PARTICIPANT_GID_BASE", "10000"))


# inbound/ is a volume of its own, capped in size (MATCHBOX_HUB_INBOUND_LIMIT): an ext4
# filesystem in a sparse file (src/matchbox/hub/disks.py), so submissions can fill it but never
# the host's disk. The hub defines it (its root: root:GID 0773) before any server mounts it.
INBOUND_VOLUME = f"{PREFIX}-inbound"


def size(variable, default):
    """Bytes from a size in the environment ('2G', '512M'); 0 (no limit) for '0' or ''."""
    value = env(variable, default).strip()
    return 0 if value in ("", "0") else ByteSpecification().validate(None, value)


INBOUND_LIMIT = size("MATCHBOX_HUB_INBOUND_LIMIT", "4G")
DISK_LIMIT = size("MATCHBOX_HUB_DISK_LIMIT", "2G")
DISKS_DIR = env("MATCHBOX_HUB_DISKS_DIR", "/var/lib/matchbox-hub/disks")
EXCHANGE_MOUNTED = os.path.ismount(EXCHANGE)


def prepare_exchange():
    """Create the exchange's folders with the owners and modes above (the hub runs as root)."""
    if not EXCHANGE_MOUNTED:
        print(f"matchbox-hub: {EXCHANGE} is not mounted: no nbgrader exchange", flush=True)
        return
    os.chmod(EXCHANGE, 0o755)
    # inbound/ here is only the mount point of the inbound volume
    for name, mode in (("", 0o2775), ("outbound", 0o2775), ("inbound", 0o755), ("feedback", 0o2771)):
        path = os.path.join(EXCHANGE, COURSE, name)
        os.makedirs(path, exist_ok=True)
        os.chown(path, 0, INSTRUCTOR_GID)
        os.chmod(path, mode)
    client = docker.APIClient(version="auto")
    if INBOUND_LIMIT:
        image = os.path.join(DISKS_DIR, f"{INBOUND_VOLUME}.img")
        if not os.path.exists(image):
            disks.make_image(image, INBOUND_LIMIT, owner=(0, INSTRUCTOR_GID), mode=0o773)
        disks.attach_volume(client, INBOUND_VOLUME, image, logging.getLogger("matchbox-hub"))
    elif disks.inspect_volume(client, INBOUND_VOLUME) is None:
        # no size limit: a plain volume, its root given the inbound owner and mode once
        client.create_volume(INBOUND_VOLUME)
        disks.run_once(client, c.DockerSpawner.image,
                       ["sh", "-c", f"chown 0:{INSTRUCTOR_GID} /x && chmod 0773 /x"],
                       {INBOUND_VOLUME: {"bind": "/x", "mode": "rw"}})


def enroll(name, gid):
    """Record name -> group in the roster (atomically; spawn hooks run one at a time)."""
    if not EXCHANGE_MOUNTED:
        return
    try:
        with open(ROSTER, encoding="utf-8") as f:
            roster = json.load(f)
    except FileNotFoundError:
        roster = {}
    if roster.get(name) == gid:
        return
    roster[name] = gid
    with open(ROSTER + ".new", "w", encoding="utf-8") as f:
        json.dump(roster, f, indent=1, sort_keys=True)
    os.chown(ROSTER + ".new", 0, INSTRUCTOR_GID)
    os.chmod(ROSTER + ".new", 0o640)
    os.replace(ROSTER + ".new", ROSTER)

# ---- the instructor's server -----------------------------------------------------------------
# The admin's server runs the instructor image (the course, formgrader, `grade`) and belongs to
# the instructor group. It holds no Docker socket (nor any Jupyter server does): `grade` asks the
# hub's sandbox service (below) to start each student's kernel, over a UNIX socket in the
# grading dir, a host folder mounted at the same path here, in that server and in the kernels.
# The folder is root's (the instructor group may enter it, not change it): the service makes
# each kernel's folders in it. MATCHBOX_HUB_GRADING_DIR= (empty) turns grading in the hub off:
# then grade on the host (docs/room.md).
INSTRUCTOR_IMAGE = env("MATCHBOX_HUB_INSTRUCTOR_IMAGE", "matchbox-hub-instructor:latest")
GRADING_DIR = env("MATCHBOX_HUB_GRADING_DIR", "")
SANDBOX_SOCKET = os.path.join(GRADING_DIR, "sandbox.sock")
if GRADING_DIR:
    os.makedirs(GRADING_DIR, exist_ok=True)
    os.chown(GRADING_DIR, 0, INSTRUCTOR_GID)
    os.chmod(GRADING_DIR, 0o750)


def per_user(spawner):
    """A participant's server gets its own group; the admin's the instructor image, the
    instructor group and (optionally) the grading dir with the sandbox service's socket."""
    if not spawner.user.admin:
        gid = PARTICIPANT_GID_BASE + spawner.user.id
        enroll(spawner.user.name, gid)
        spawner.extra_create_kwargs = {**spawner.extra_create_kwargs, "user": f"1000:{gid}"}
        return
    spawner.image = INSTRUCTOR_IMAGE
    spawner.cpu_limit = None  # grading runs nbgrader here (the kernels have their own limits)
    groups = [str(INSTRUCTOR_GID)]
    volumes = {**spawner.volumes, f"{PREFIX}-exchange": {"bind": EXCHANGE, "mode": "rw"}}
    environment = dict(spawner.environment)
    if GRADING_DIR:
        volumes[GRADING_DIR] = GRADING_DIR
        environment.update(MATCHBOX_SANDBOX_SOCKET=SANDBOX_SOCKET,
                           MATCHBOX_GRADE_IMAGE=c.DockerSpawner.image)
    spawner.volumes = volumes
    spawner.environment = environment
    # grading keeps each student's private course copy in /tmp: room for -j 4 of a big course
    tmpfs = {**spawner.extra_host_config.get("tmpfs", {}), "/tmp": "rw,nosuid,nodev,size=4G"}
    spawner.extra_host_config = {**spawner.extra_host_config, "group_add": groups, "tmpfs": tmpfs}


c.Spawner.pre_spawn_hook = per_user

# ---- participant containers ------------------------------------------------------------------
# DockerSpawner with a size-capped work volume per participant, archived when they are deleted.
c.JupyterHub.spawner_class = "matchbox.hub.spawner.MatchboxSpawner"
c.MatchboxSpawner.disk_limit = DISK_LIMIT
c.MatchboxSpawner.disks_dir = DISKS_DIR
WORK_VOLUME = f"{PREFIX}-user-{{username}}"  # DockerSpawner fills in {username}
c.MatchboxSpawner.work_volume = WORK_VOLUME
if DISK_LIMIT or INBOUND_LIMIT:
    try:
        disks.check_loop_devices()
    except disks.DiskError as problem:
        sys.exit(f"matchbox-hub: {problem}")
c.DockerSpawner.image = env("MATCHBOX_HUB_USER_IMAGE", "matchbox-hub-user:latest")
c.DockerSpawner.prefix = PREFIX
c.DockerSpawner.network_name = env("MATCHBOX_HUB_NETWORK", PREFIX)
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.cmd = ["start-singleuser"]
c.DockerSpawner.notebook_dir = "/home/jovyan/work"
c.DockerSpawner.volumes = {
    WORK_VOLUME: "/home/jovyan/work",
    # the exchange read-only, its inbound folder writable (see "the nbgrader exchange" below)
    f"{PREFIX}-exchange": {"bind": EXCHANGE, "mode": "ro"},
    f"{PREFIX}-inbound": {"bind": INBOUND, "mode": "rw"},
}
# Stopped servers' containers are removed; their volumes stay.
c.DockerSpawner.remove = True
c.DockerSpawner.environment = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = size("MATCHBOX_HUB_MEM_LIMIT", "3G")
c.DockerSpawner.extra_host_config = {
    # No swap beyond the limit: past it the kernel is killed at once instead of thrashing the host.
    "memswap_limit": c.Spawner.mem_limit,
    # A fork loop in one container stops at its own limit, not at the host's process table.
    # TensorFlow starts about two threads per core per kernel, and threads count.
    "pids_limit": int(env("MATCHBOX_HUB_PIDS_LIMIT", "1024")),
    # Nothing is written to the container's own layer, which lives on the host's disk without a
    # size limit: a read-only root, and size-capped tmpfs (counted in the memory limit) where
    # Jupyter and the learner's tools write outside the work volume. start-singleuser fills the
    # home from the image's copy at every start.
    "read_only": True,
    "tmpfs": {
        "/tmp": f"rw,nosuid,nodev,size={env('MATCHBOX_HUB_TMP_LIMIT', '1G')}",
        "/var/tmp": "rw,nosuid,nodev,size=64M",
        "/home/jovyan": "rw,nosuid,nodev,size=256M,uid=1000,gid=100,mode=0755",
    },
}
c.Spawner.cpu_limit = float(env("MATCHBOX_HUB_CPU_LIMIT", "1"))
c.Spawner.start_timeout = int(env("MATCHBOX_HUB_START_TIMEOUT", "180"))
c.Spawner.http_timeout = int(env("MATCHBOX_HUB_START_TIMEOUT", "180"))
# Many participants pressing "Start" at 9:00: let them all spawn at once.
c.JupyterHub.concurrent_spawn_limit = int(env("MATCHBOX_HUB_CONCURRENT_SPAWNS", "40"))

# The exchange's folders and the inbound volume, now that the participant image is known.
prepare_exchange()

# ---- idle culler -----------------------------------------------------------------------------
# Stops servers idle for MATCHBOX_HUB_CULL_TIMEOUT seconds (default 1 hour); the container goes,
# the user's volume stays, and the next login starts a fresh container on the same work.
CULL_TIMEOUT = int(env("MATCHBOX_HUB_CULL_TIMEOUT", "3600"))
if CULL_TIMEOUT > 0:
    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL_TIMEOUT}",
                    f"--cull-every={env('MATCHBOX_HUB_CULL_EVERY', str(max(CULL_TIMEOUT // 6, 10)))}"],
    }]
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]

# ---- the grading sandbox service -------------------------------------------------------------
# The one holder of the Docker socket besides the hub, in the hub's container (as root): it starts
# grading kernels of the participant image, locked down and within its maxima, for whoever may
# open its socket (root and the instructor group: GRADING_DIR/sandbox.sock, mode 0660). Its API
# and what a caller can and cannot ask: src/matchbox/hub/sandbox_service.py, docs/grading.md.
# It calls no hub API (no token scopes).
if GRADING_DIR:
    c.JupyterHub.services.append({
        "name": "sandbox",
        "command": [sys.executable, "-m", "matchbox.hub.sandbox_service",
                    f"--grading-dir={GRADING_DIR}", f"--image={c.DockerSpawner.image}",
                    f"--group={INSTRUCTOR_GID}"],
    })
