"""JupyterHub for a room of participants: sign-up accounts, one container of the workshop image
per participant (DockerSpawner), a named volume each, limits, an idle culler, a shared nbgrader
exchange, and an instructor's server with the course, formgrader and the grader.

Every setting a room changes is a MATCHBOX_HUB_* variable declared in matchbox.hub.settings (the
table in docs/room.md); this file maps them onto JupyterHub's configuration and changes nothing
on disk: the container's start step (matchbox-hub-start, matchbox.hub.start) lays out the
exchange and the grading dir before it starts JupyterHub with this file.
"""

import os
import sys

from matchbox.hub import auth, exchange, shared_auth
from matchbox.hub.settings import load

c = get_config()  # noqa: F821  (JupyterHub provides it)
s = load()

# ---- hub and proxy ---------------------------------------------------------------------------
c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
# Participant containers reach the hub by its compose service name on the PREFIX network.
c.JupyterHub.hub_connect_url = "http://hub:8081"
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
# MATCHBOX_HUB_AUTH=signup (the default), matchbox.hub.auth: NativeAuthenticator's sign-up and
# approval with strict usernames, our own escaped pages with POST-only changes, and throttles per
# source address (never per account: nobody can lock another person out).
# MATCHBOX_HUB_AUTH=shared, matchbox.hub.shared_auth: JupyterHub's SharedPasswordAuthenticator,
# one room password for any participant name (ungraded sessions only), with the same usernames,
# login throttle and login page.
# The passwords (MATCHBOX_HUB_ADMIN_PASSWORD, MATCHBOX_HUB_ROOM_PASSWORD) are read, and removed
# from the environment, by the authenticator.
if s.auth == "shared":
    c.JupyterHub.authenticator_class = shared_auth.RoomPasswordAuthenticator
else:
    c.JupyterHub.authenticator_class = auth.MatchboxAuthenticator
c.Authenticator.admin_users = {s.admin}
# The sign-up authenticator itself refuses accounts the instructor has not approved; the shared
# one admits every valid name.
c.Authenticator.allow_all = True
c.RoomLogins.failed_logins_per_address = s.failed_logins
c.RoomLogins.address_lockout_seconds = s.lockout_seconds
c.NativeAuthenticator.open_signup = False
c.NativeAuthenticator.minimum_password_length = s.min_password
c.NativeAuthenticator.check_common_password = True
# NativeAuthenticator's per-account lockout let anyone lock anyone out: off.
c.NativeAuthenticator.allowed_failed_logins = 0
c.MatchboxAuthenticator.signups_per_address = s.signups_per_address
c.MatchboxAuthenticator.signup_window_seconds = s.signup_window_seconds
c.MatchboxAuthenticator.max_pending_signups = s.max_pending_signups

# ---- participant containers ------------------------------------------------------------------
# DockerSpawner with a size-capped work volume per participant, archived when they are deleted,
# and a group of its own for each participant's server (matchbox.hub.spawner, .exchange).
c.JupyterHub.spawner_class = "matchbox.hub.spawner.MatchboxSpawner"
c.MatchboxSpawner.disk_limit = s.disk_limit
c.MatchboxSpawner.disks_dir = s.disks_dir
WORK_VOLUME = f"{s.prefix}-user-{{username}}"  # DockerSpawner fills in {username}
c.MatchboxSpawner.work_volume = WORK_VOLUME
c.MatchboxSpawner.participant_gid_base = s.participant_gid_base
# Each participant picks the language (English or Japanese) on the start page; MATCHBOX_HUB_LANG
# is preselected (matchbox.hub.spawner: MATCHBOX_LANG of the participant's container).
c.MatchboxSpawner.default_language = s.language
c.DockerSpawner.image = s.user_image
c.DockerSpawner.prefix = s.prefix
c.DockerSpawner.network_name = s.prefix  # the network compose makes for the hub
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.cmd = ["start-singleuser"]
c.DockerSpawner.notebook_dir = "/home/jovyan/work"
c.DockerSpawner.volumes = {
    WORK_VOLUME: "/home/jovyan/work",
    # the exchange read-only, its inbound folder writable (matchbox.hub.exchange)
    s.exchange_volume: {"bind": exchange.EXCHANGE, "mode": "ro"},
    s.inbound_volume: {"bind": exchange.INBOUND, "mode": "rw"},
}
# Stopped servers' containers are removed; their volumes stay.
c.DockerSpawner.remove = True
c.DockerSpawner.environment = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = s.mem_limit
c.DockerSpawner.extra_host_config = {
    # No swap beyond the limit: past it the kernel is killed at once instead of thrashing the host.
    "memswap_limit": s.mem_limit,
    # A fork loop in one container stops at its own limit, not at the host's process table.
    # TensorFlow starts about two threads per core per kernel, and threads count.
    "pids_limit": s.pids_limit,
    # Nothing is written to the container's own layer, which lives on the host's disk without a
    # size limit: a read-only root, and size-capped tmpfs (counted in the memory limit) where
    # Jupyter and the learner's tools write outside the work volume. start-singleuser fills the
    # home from the image's copy at every start.
    "read_only": True,
    "tmpfs": {
        "/tmp": f"rw,nosuid,nodev,size={s.tmp_limit}",
        "/var/tmp": "rw,nosuid,nodev,size=64M",
        "/home/jovyan": "rw,nosuid,nodev,size=256M,uid=1000,gid=100,mode=0755",
    },
}
c.Spawner.cpu_limit = s.cpu_limit
c.Spawner.start_timeout = s.start_timeout
c.Spawner.http_timeout = s.start_timeout
# Many participants pressing "Start" at 9:00: let them all spawn at once.
c.JupyterHub.concurrent_spawn_limit = s.concurrent_spawns

# ---- the instructor's server -----------------------------------------------------------------
# The admin's server runs the instructor image (the course, formgrader, `grade`), belongs to the
# instructor group and gets the exchange writable. It holds no Docker socket (nor does any
# Jupyter server): `grade` asks the hub's sandbox service (below) to start each student's kernel,
# over a UNIX socket in the grading dir, a host folder mounted at the same path here, in that
# server and in the kernels. MATCHBOX_HUB_GRADING_DIR= (empty) turns grading in the hub off:
# then grade on the host (docs/room.md).
c.MatchboxSpawner.instructor_image = s.instructor_image
c.MatchboxSpawner.instructor_gid = s.instructor_gid
c.MatchboxSpawner.instructor_volumes = {s.exchange_volume: {"bind": exchange.EXCHANGE, "mode": "rw"}}
if s.grading_dir:
    c.MatchboxSpawner.instructor_volumes[s.grading_dir] = s.grading_dir
    c.MatchboxSpawner.instructor_environment = {
        "MATCHBOX_SANDBOX_SOCKET": os.path.join(s.grading_dir, "sandbox.sock"),
        "MATCHBOX_GRADE_IMAGE": s.user_image,
    }

# ---- services --------------------------------------------------------------------------------
c.JupyterHub.services = []
c.JupyterHub.load_roles = []
# The idle culler stops servers idle for MATCHBOX_HUB_CULL_TIMEOUT seconds; the container goes,
# the user's volume stays, and the next login starts a fresh container on the same work.
if s.cull_timeout > 0:
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={s.cull_timeout}",
                    f"--cull-every={s.cull_interval}"],
    })
    c.JupyterHub.load_roles.append({
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    })
# The grading sandbox service: the one holder of the Docker socket besides the hub, in the hub's
# container (as root): it starts grading kernels of the participant image, locked down and within
# its maxima, for whoever may open its socket (root and the instructor group: GRADING_DIR/
# sandbox.sock, mode 0660). Its API and what a caller can and cannot ask:
# src/matchbox/hub/sandbox_service.py, docs/grading.md. It calls no hub API (no token scopes).
if s.grading_dir:
    c.JupyterHub.services.append({
        "name": "sandbox",
        "command": [sys.executable, "-m", "matchbox.hub.sandbox_service",
                    f"--grading-dir={s.grading_dir}", f"--image={s.user_image}",
                    f"--group={s.instructor_gid}"],
    })

# The room view (src/matchbox/hub/room, docs/room.md): /services/room/ shows who is where in the
# current assignments and who is stuck, read from the participants' saved notebooks through the
# proxy (never by running their code). Its token may list users and read their servers' files;
# the hub's OAuth lets only admins (who hold access:services) and MATCHBOX_HUB_ROOM_GROUP in.
c.JupyterHub.services.append({
    "name": "room",
    "url": "http://127.0.0.1:10101",
    "command": [sys.executable, "-m", "matchbox.hub.room", f"--container-prefix={s.prefix}",
                f"--outbound={exchange.EXCHANGE}/{exchange.COURSE}/outbound",
                f"--refresh-seconds={s.room_refresh}", f"--idle-seconds={s.room_idle}",
                f"--assignments={s.room_assignments}",
                *([f"--RoomService.hidden_groups={s.room_group}"] if s.room_group else [])],
    "oauth_no_confirm": True,
    "display": True,
})
c.JupyterHub.load_roles.append({
    "name": "room",
    "scopes": ["list:users", "read:users", "read:users:activity", "read:servers", "access:servers"],
    "services": ["room"],
})
if s.room_group:
    c.JupyterHub.load_groups = {s.room_group: {"users": []}}
    c.JupyterHub.load_roles.append({
        "name": "room-viewer", "scopes": ["access:services!service=room"], "groups": [s.room_group],
    })

# ---- several machines: a Docker Swarm (MATCHBOX_HUB_SPAWNER=swarm, docs/scale.md) ------------
# Every server is a swarm service (matchbox.hub.swarm): a participant's on the least-loaded node
# at its first start and on that node ever after (a plain named volume there: no disk limits),
# the instructor's on the manager with the hub and its grading sandbox service. The exchange is
# MATCHBOX_HUB_EXCHANGE_DIR, a folder at the same path on every node (NFS at a venue), bound
# read-only with its inbound folder writable, as the two volumes are on one machine.
if s.spawner == "swarm":
    c.JupyterHub.spawner_class = "matchbox.hub.swarm.MatchboxSwarmSpawner"
    c.MatchboxSpawner.disk_limit = 0
    c.DockerSpawner.volumes = {
        WORK_VOLUME: "/home/jovyan/work",
        s.exchange_dir: {"bind": exchange.EXCHANGE, "mode": "ro"},
        f"{s.exchange_dir}/{exchange.COURSE}/inbound": {"bind": exchange.INBOUND, "mode": "rw"},
    }
    c.MatchboxSpawner.instructor_volumes = {
        s.exchange_dir: {"bind": exchange.EXCHANGE, "mode": "rw"},
        **({s.grading_dir: s.grading_dir} if s.grading_dir else {}),
    }
