"""The nbgrader exchange the hub shares between servers: its layout (made by the hub's start
step, matchbox.hub.start) and the roster (written by the spawner at each participant's spawn).

Two volumes: PREFIX-exchange (outbound/ and feedback/) and PREFIX-inbound mounted on its
inbound/ folder. Every server runs as uid 1000, so owners cannot tell participants apart: the
folders belong to root and the instructor group (given to the instructor's server only), and
participants get the exchange read-only except inbound, where they may write but not list:
  matchbox/outbound  root:GID 2775  the instructor releases; everyone reads
  matchbox/inbound   root:GID 0773  everyone submits; only the instructor group lists and reads
  matchbox/feedback  root:GID 2771  the instructor writes; a participant opens only its own files
nbgrader names a submission STUDENT+ASSIGNMENT+TIME+RANDOM: unlisted, nobody finds another's.
Each participant's server runs as uid 1000 with a group of its own (MATCHBOX_HUB_PARTICIPANT_GID_BASE
+ the hub's user id), so a submission's group says whose server wrote it; matchbox/roster.json
(root:GID 0640) maps names to groups, and `grade --from-exchange` ignores a submission made under
someone else's name.
"""

import json
import logging
import os

import docker

from matchbox.hub import disks

EXCHANGE = "/srv/nbgrader/exchange"
COURSE = "matchbox"
INBOUND = f"{EXCHANGE}/{COURSE}/inbound"
ROSTER = f"{EXCHANGE}/{COURSE}/roster.json"


def prepare(settings):
    """Create the exchange's folders with the owners and modes above, and the inbound volume
    (as root, in the hub's container)."""
    if not os.path.ismount(EXCHANGE):
        print(f"matchbox-hub: {EXCHANGE} is not mounted: no nbgrader exchange", flush=True)
        return
    os.chmod(EXCHANGE, 0o755)
    # inbound/ here is only the mount point of the inbound volume
    for name, mode in (("", 0o2775), ("outbound", 0o2775), ("inbound", 0o755), ("feedback", 0o2771)):
        path = os.path.join(EXCHANGE, COURSE, name)
        os.makedirs(path, exist_ok=True)
        os.chown(path, 0, settings.instructor_gid)
        os.chmod(path, mode)
    if settings.spawner == "swarm":
        # on a swarm the exchange is one folder every node sees (MATCHBOX_HUB_EXCHANGE_DIR, mounted
        # here): inbound is a folder of it, with the inbound volume's owner and mode, no size cap
        os.chmod(INBOUND, 0o773)
        return
    client = docker.APIClient(version="auto")
    volume = settings.inbound_volume
    if settings.inbound_limit:
        # an ext4 filesystem in a sparse file (disks.py): submissions fill it, never the host's disk
        image = os.path.join(settings.disks_dir, f"{volume}.img")
        if not os.path.exists(image):
            disks.make_image(image, settings.inbound_limit, owner=(0, settings.instructor_gid), mode=0o773)
        disks.attach_volume(client, volume, image, logging.getLogger("matchbox-hub"))
    elif disks.inspect_volume(client, volume) is None:
        # no size limit: a plain volume, its root given the inbound owner and mode once
        client.create_volume(volume)
        disks.run_once(client, settings.user_image,
                       ["sh", "-c", f"chown 0:{settings.instructor_gid} /x && chmod 0773 /x"],
                       {volume: {"bind": "/x", "mode": "rw"}})


def enroll(name, gid, group):
    """Record name -> gid in the roster, owned by root:group (atomically; spawns call this one at
    a time). Nothing without an exchange (its course folder is made by prepare)."""
    if not os.path.isdir(os.path.dirname(ROSTER)):
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
    os.chown(ROSTER + ".new", 0, group)
    os.chmod(ROSTER + ".new", 0o640)
    os.replace(ROSTER + ".new", ROSTER)
