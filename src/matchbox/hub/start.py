"""The hub container's start step (its CMD, `matchbox-hub-start`): check the settings, lay out on
disk what the hub needs, then become JupyterHub. Loading hub/jupyterhub_config.py changes
nothing; whatever creates or changes files, volumes or devices happens here, as root, once per
start of the container:

- the loop devices the disk limits need are usable (or the hub stops here, saying what to do);
- the nbgrader exchange's folders and its inbound volume (matchbox.hub.exchange);
- the grading dir: root's, the instructor group may enter it, not change it (the sandbox
  service makes each kernel's folders in it).
"""

import os
import sys

from matchbox.hub import disks, exchange
from matchbox.hub.settings import load

CONFIG = "/etc/jupyterhub/jupyterhub_config.py"


def prepare(settings):
    if settings.disk_limit or settings.inbound_limit:
        try:
            disks.check_loop_devices()
        except disks.DiskError as problem:
            sys.exit(f"matchbox-hub: {problem}")
    exchange.prepare(settings)
    if settings.spawner == "swarm":
        from matchbox.hub.swarm import wait_for_name  # dockerspawner's swarm side, only here

        wait_for_name("hub")
    if settings.grading_dir:
        os.makedirs(settings.grading_dir, exist_ok=True)
        os.chown(settings.grading_dir, 0, settings.instructor_gid)
        os.chmod(settings.grading_dir, 0o750)


def main(argv=None):
    """Prepare, then exec JupyterHub with our config and any arguments given."""
    argv = sys.argv[1:] if argv is None else argv
    prepare(load())
    os.execvp("jupyterhub", ["jupyterhub", "-f", CONFIG, *argv])


if __name__ == "__main__":
    main()
