"""The grading kernel's container, written once: its lockdown, its start command, its size units.

Two programs start grading kernels: the grader itself with a local Docker (`docker run`, in
sandbox.py) and the hub's sandbox service (Docker's API through docker-py, in
src/matchbox/hub/sandbox_service.py). Both take the container from container_settings(), as the
keyword arguments of docker-py's `containers.create`; docker_run_args() renders the same settings
as `docker run` flags, and refuses a setting it does not know, so that nothing added here can be
silently left out of one of the two.

The standard library only: the hub image installs the distribution without its dependencies
(no nbgrader, no traitlets) and imports this module.
"""

import re

WORKDIR = "/home/jovyan/work"
# The notebook's folder as handed in, read-only; the kernel works on a copy in a capped tmpfs at
# WORKDIR, so what a student's code writes lands in its memory, never on the grader's disk.
SUBMISSION = "/home/jovyan/.submission"
KERNEL_USER = "1000:100"  # jovyan:users, as in the image

UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgt]?)i?b?", re.IGNORECASE)


def size_bytes(text):
    """'512m', '2g', '1.5G', '2gb', '1024' -> bytes, in docker --memory's (binary) units;
    ValueError naming the text when it is not such a size."""
    match = SIZE.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 512m or 2g")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def kernel_command(wall_s, connection_file):
    """ipykernel under the notebook's wall clock, on a tmpfs copy of the notebook's folder, with
    a writable matplotlib folder (a copy of the image's warm font cache) and no history file."""
    return ["sh", "-c", f'cp -a {SUBMISSION}/. {WORKDIR}/ 2>/dev/null; '
                        'umask 000; mkdir -p /tmp/matplotlib && '
                        'cp /home/jovyan/.cache/matplotlib/* /tmp/matplotlib/ 2>/dev/null; '
                        'export MPLCONFIGDIR=/tmp/matplotlib; '
                        'exec timeout -s KILL "$0" python -m ipykernel_launcher '
                        '-f "$1" --HistoryManager.hist_file=:memory:',
            str(wall_s), connection_file]


def container_settings(*, memory, cpus, pids, wall_s, ipc_dir, submission_dir, connection_file,
                       tmpfs_size="256m", work_size="256m", user=KERNEL_USER):
    """docker-py `containers.create` keyword arguments (all but image, name and labels) for one
    kernel: no network, memory without swap, CPUs, processes, a read-only root, no capabilities,
    no new privileges, no core dumps, the kernel user, two mounts (the ipc folder at the same
    path, the notebook's folder read-only) and capped tmpfs folders for everything it writes."""
    memory = size_bytes(memory)
    uid, gid = user.split(":")
    return {
        "command": kernel_command(wall_s, connection_file),
        "network_mode": "none",
        "mem_limit": memory, "memswap_limit": memory,
        "nano_cpus": int(float(cpus) * 1e9), "pids_limit": int(pids),
        "read_only": True, "user": user, "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": [{"name": "core", "soft": 0, "hard": 0}],
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={tmpfs_size}",
                  "/home/jovyan/.local": "rw,nosuid,nodev,size=16m",
                  WORKDIR: f"rw,nosuid,nodev,size={work_size},uid={uid},gid={gid}"},
        "environment": {"MPLBACKEND": "Agg", "IPYTHONDIR": "/tmp/ipython",
                        "NBGRADER_EXECUTION": "autograde"},
        "volumes": {ipc_dir: {"bind": ipc_dir, "mode": "rw"},
                    submission_dir: {"bind": SUBMISSION, "mode": "ro"}},
        "working_dir": WORKDIR,
    }


# docker-py keyword -> how `docker run` says it (the command goes after the image)
FLAGS = {
    "network_mode": lambda v: ["--network", v],
    "mem_limit": lambda v: ["--memory", str(v)],
    "memswap_limit": lambda v: ["--memory-swap", str(v)],
    "nano_cpus": lambda v: ["--cpus", f"{v / 1e9:g}"],
    "pids_limit": lambda v: ["--pids-limit", str(v)],
    "read_only": lambda v: ["--read-only"] if v else [],
    "user": lambda v: ["--user", v],
    "cap_drop": lambda v: [f"--cap-drop={c}" for c in v],
    "security_opt": lambda v: [f"--security-opt={o}" for o in v],
    "ulimits": lambda v: [f"--ulimit={u['name']}={u['soft']}:{u['hard']}" for u in v],
    "tmpfs": lambda v: [f"--tmpfs={path}:{options}" for path, options in v.items()],
    "environment": lambda v: [f"--env={key}={value}" for key, value in v.items()],
    "volumes": lambda v: [f"--volume={src}:{m['bind']}:{m['mode']}" for src, m in v.items()],
    "working_dir": lambda v: ["--workdir", v],
}


def docker_run_args(settings):
    """`docker run` flags for container_settings(), without the command; KeyError for a setting
    with no flag here (so a new part of the lockdown cannot be left out of `docker run`)."""
    unknown = set(settings) - set(FLAGS) - {"command"}
    if unknown:
        raise KeyError(f"no docker run flag for {sorted(unknown)}: add it to lockdown.FLAGS")
    return [arg for key, value in settings.items() if key != "command" for arg in FLAGS[key](value)]
