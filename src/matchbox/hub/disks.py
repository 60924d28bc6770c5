"""Size-capped Docker volumes: an ext4 filesystem in a sparse file, attached to a loop device,
mounted by Docker's own `local` volume driver (type=ext4, device=/dev/loopN).

Docker's local volumes share the host's disk and have no size option; overlay2 quotas need XFS
with project quotas. A filesystem of its own per participant is a hard cap on any host: a full
volume is full for its owner only (ENOSPC), never for the host or anyone else.

The image files live in one folder (MatchboxSpawner.disks_dir, a host folder mounted into the
hub); a loop device keeps a reference to its file, so attaching works from inside the hub's
container (it needs CAP_SYS_ADMIN, the loop devices in its device cgroup and the host's /dev:
docker-compose.yml). Loop devices do not survive a reboot and may come back in another order, so
every spawn checks that the volume names the device its own file is attached to (attach_volume).
"""

import os
import subprocess
import threading

import docker

# One attach at a time: two `losetup --find` at once can pick the same free device.
_attach_lock = threading.Lock()


class DiskError(RuntimeError):
    """A disk operation failed; the message says what and how to fix it."""


def _run(*cmd):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise DiskError(f"{' '.join(cmd)} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def make_image(path, size, owner=(1000, 100), mode=None):
    """A sparse file of `size` bytes holding an empty ext4 filesystem whose root belongs to
    `owner` (and has `mode`, if given); no lost+found in a learner's file browser."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.truncate(size)
    # -m 0: no blocks reserved for root (the owner may use all of it); lazy init: stays sparse
    _run("mkfs.ext4", "-q", "-F", "-m", "0", "-L", "matchbox",
         "-E", f"root_owner={owner[0]}:{owner[1]},lazy_itable_init=1,lazy_journal_init=1", partial)
    _run("debugfs", "-w", "-R", "rmdir lost+found", partial)
    if mode is not None:
        _run("debugfs", "-w", "-R", f"sif <2> mode 0{0o40000 | mode:o}", partial)  # octal: leading 0
    _run("e2fsck", "-f", "-n", partial)  # a filesystem Docker will mount, or an error here
    os.rename(partial, path)


def attached_device(path):
    """The loop device `path` is attached to, or None."""
    out = _run("losetup", "--associated", path, "--output", "NAME", "--noheadings")
    devices = out.split()
    return devices[0] if devices else None


def attach(path):
    """The loop device of `path`, attaching it first if needed."""
    with _attach_lock:
        device = attached_device(path)
        if device:
            return device
        try:
            return _run("losetup", "--find", "--show", path).strip()
        except DiskError as problem:
            raise DiskError(
                f"cannot attach {path} to a loop device ({problem}). The hub's container needs "
                "cap_add SYS_ADMIN, device_cgroup_rules 'b 7:* rmw' and 'c 10:237 rmw' and the "
                "host's /dev (docker-compose.yml does this); or set MATCHBOX_HUB_DISK_LIMIT=0 "
                "to run without disk limits") from None


def detach(path):
    """Detach `path` from its loop device, if attached (Docker must have unmounted it)."""
    with _attach_lock:
        device = attached_device(path)
        if device:
            _run("losetup", "--detach", device)


def check_loop_devices():
    """Raise DiskError unless this process can attach loop devices."""
    try:
        _run("losetup", "--find")
    except (DiskError, FileNotFoundError) as problem:
        raise DiskError(
            f"loop devices are not usable here ({problem}): the disk limits need them. Give the "
            "hub's container cap_add SYS_ADMIN, device_cgroup_rules 'b 7:* rmw' and "
            "'c 10:237 rmw' and the host's /dev (as docker-compose.yml does), or set "
            "MATCHBOX_HUB_DISK_LIMIT=0 to run without disk limits") from None


def attach_volume(client, volume, image, log, labels=None):
    """Make the Docker volume `volume` mount `image` (attached first); returns the device.

    A volume made before disk limits existed (no device option) is left as it is, uncapped,
    with a warning. A volume naming another device (after a reboot) is defined again: the data
    is in the image file, the volume is only its mount description."""
    device = attach(image)
    existing = inspect_volume(client, volume)
    if existing is not None:
        options = existing.get("Options") or {}
        if not options.get("device"):
            log.warning("volume %s has no size limit (made before disk limits): left as it is", volume)
            return None
        if options.get("device") == device and options.get("type") == "ext4":
            return device
        log.info("volume %s named %s; %s is now on %s: defining it again", volume,
                 options.get("device"), image, device)
        client.remove_volume(volume)
    client.create_volume(volume, driver="local", labels=labels or {},
                         driver_opts={"type": "ext4", "device": device})
    return device


def inspect_volume(client, volume):
    """Docker's description of the volume, or None if there is none."""
    try:
        return client.inspect_volume(volume)
    except docker.errors.NotFound:
        return None


def run_once(client, image, command, binds):
    """Run `command` as root in a throw-away container of `image` with no network and the given
    volume binds ({volume: {"bind": path, "mode": mode}}); raise DiskError unless it exits 0."""
    container = client.create_container(
        image, command, user="0:0", network_disabled=True,
        host_config=client.create_host_config(binds=binds))
    try:
        client.start(container)
        status = client.wait(container, timeout=600)["StatusCode"]
    finally:
        client.remove_container(container, force=True)
    if status != 0:
        raise DiskError(f"{' '.join(command)} in {image} over {', '.join(binds)} failed "
                        f"(status {status})")
