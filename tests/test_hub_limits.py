"""One participant cannot starve the others on the hub's host: a process limit and a disk of
their own per container, a size-capped inbound, and a deleted participant's work archived so a
new account of the same name starts empty. The session's hub (tests/support/hubs.py)."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.containers import docker
from tests.support.hubs import DISK_LIMIT, PIDS_LIMIT, TMP_LIMIT, admin_client, approved

MB = 2 ** 20
# Fork until the kernel refuses (EAGAIN), keeping the children asleep; prints how many it got.
FORK_LOOP = """
import os, time
children = []
try:
    while len(children) < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as refused:
    print(len(children), refused.errno)
globals()["children"] = children
"""
# Try to create a file; prints the error's name, or "created".
OPEN_PROBE = """
import errno
try:
    open({path!r}, "wb").close()
    print(0, "created")
except OSError as problem:
    print(0, errno.errorcode[problem.errno])
"""
REAP = """
import os, signal
for pid in children:
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
print(len(children))
"""
# Write zeros until the filesystem is full; prints the bytes written and the error.
FILL = """
import errno, os
written, error = 0, None
with open({path!r}, "wb", buffering=0) as f:
    try:
        while written < 8 * 2**30:
            f.write(b"\\0" * 2**20)
            written += 2**20
        f.flush()
        os.fsync(f.fileno())
    except OSError as problem:
        error = errno.errorcode[problem.errno]
print(written, error)
"""


def ok(client, code, kernel_id=None):
    """Run code in a kernel of the client's (a new one unless kernel_id); its stdout (the cell
    must succeed)."""
    status, out, error = client.execute(code, kernel_id=kernel_id, limit=300)
    assert status == "ok", (client.name, status, error)
    return out


def answers_quickly(client):
    started = time.monotonic()
    assert ok(client, "print(6 * 7)") == "42\n"
    return time.monotonic() - started


@pytest.fixture(scope="module")
def pair(hub):
    admin = admin_client(hub)
    return admin, approved(hub, admin, "limann"), approved(hub, admin, "limbob")


def test_a_fork_loop_stops_at_the_containers_process_limit(hub, pair):
    _, ann, bob = pair
    limit = docker("inspect", "-f", "{{.HostConfig.PidsLimit}}", f"{hub.prefix}-{ann.name}").stdout.strip()
    assert limit == str(PIDS_LIMIT), f"participant container's PIDs limit: {limit}, expected {PIDS_LIMIT}"
    kernel = ann.server("POST", "/api/kernels", json={"name": "python3"}).json()["id"]
    forked, errno_value = ok(ann, FORK_LOOP, kernel).split()
    # EAGAIN (11) well before 5000: the container's limit, not the host's process table
    assert int(errno_value) == 11 and int(forked) < PIDS_LIMIT, (forked, errno_value)
    seconds = answers_quickly(bob)
    print(f"ann forked {forked} processes before EAGAIN; bob's kernel answered in {seconds:.2f} s")
    assert seconds < 10
    assert ok(ann, REAP, kernel).strip() == forked


def test_a_full_work_volume_is_full_for_its_owner_only(hub, pair):
    _, ann, bob = pair
    volume = json.loads(docker("volume", "inspect", f"{hub.prefix}-user-{ann.name}").stdout)[0]
    assert volume["Options"]["type"] == "ext4" and volume["Options"]["device"].startswith("/dev/loop"), volume
    written, error = ok(ann, FILL.format(path="/home/jovyan/work/fill.bin")).split()
    cap = int(DISK_LIMIT[:-1]) * MB
    print(f"ann wrote {int(written) // MB} MB into her {DISK_LIMIT} work volume, then {error}")
    assert error == "ENOSPC" and 0.8 * cap < int(written) <= cap, (written, error)
    # Bob writes and runs as before; the host's disk did not fill.
    assert ok(bob, "open('/home/jovyan/work/mine.txt', 'w').write('x' * 10**6); print('saved')") == "saved\n"
    assert answers_quickly(bob) < 10
    ok(ann, "import os; os.remove('/home/jovyan/work/fill.bin')")
    assert ok(ann, "open('/home/jovyan/work/after.txt', 'w').write('ok'); print('saved')") == "saved\n"


def test_nothing_is_written_to_the_containers_own_layer(hub, pair):
    """Outside the work volume a participant writes only to size-capped tmpfs (their memory):
    the container's own layer, on the host's disk without a limit, is read-only."""
    _, ann, bob = pair
    container = f"{hub.prefix}-{ann.name}"
    assert docker("inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", container).stdout.strip() == "true"
    # (removed in the same cell: with /tmp full, a new kernel cannot start)
    written, error = ok(ann, FILL.format(path="/tmp/fill.bin") + "os.remove('/tmp/fill.bin')").split()
    print(f"ann wrote {int(written) // MB} MB into /tmp ({TMP_LIMIT}), then {error}")
    assert error == "ENOSPC" and int(written) <= int(TMP_LIMIT[:-1]) * MB, (written, error)
    written, error = ok(ann, FILL.format(path="/home/jovyan/.fill.bin") +
                        "os.remove('/home/jovyan/.fill.bin')").split()
    assert error == "ENOSPC" and int(written) <= 256 * MB, (written, error)
    for path in ("/opt/venv/fill.bin", "/srv/fill.bin", "/var/lib/fill.bin", "/fill.bin"):
        _, error = ok(ann, OPEN_PROBE.format(path=path)).split()
        assert error in ("EROFS", "EACCES"), (path, error)
    # the image's home came along: dotfiles, and matplotlib's warm font cache
    home = ok(ann, "import os; print(sorted(os.listdir('/home/jovyan')))")
    assert ".profile" in home and ".cache" in home and "work" in home, home
    assert answers_quickly(bob) < 10


def test_inbound_is_size_capped(hub, pair):
    _, ann, _ = pair
    inbound = "/srv/nbgrader/exchange/matchbox/inbound"
    written, error = ok(ann, FILL.format(path=f"{inbound}/limann-flood.bin")).split()
    print(f"ann wrote {int(written) // MB} MB into inbound (256M), then {error}")
    assert error == "ENOSPC" and int(written) <= 256 * MB, (written, error)
    ok(ann, f"import os; os.remove('{inbound}/limann-flood.bin')")


def test_a_stale_loop_device_never_mounts_someone_elses_disk(hub, pair, tmp_path):
    """After a reboot loop devices come back in another order: the volume must follow its file."""
    admin, ann, _ = pair
    ok(ann, "open('/home/jovyan/work/ann.txt', 'w').write('ann')")
    ann.stop()
    wait_removed(hub, ann.name)
    device = json.loads(docker("volume", "inspect", f"{hub.prefix}-user-{ann.name}").stdout)[0]["Options"]["device"]
    subprocess.run(["losetup", "--detach", device], check=True)
    # another filesystem, with a file ann must never see, takes ann's old device number
    decoy = tmp_path / "decoy.img"
    subprocess.run(["truncate", "-s", "64M", str(decoy)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "root_owner=1000:100", "-d", str(make_tree(tmp_path)),
                    str(decoy)], check=True)
    subprocess.run(["losetup", device, str(decoy)], check=True)
    try:
        ann.spawn()
        listing = ok(ann, "import os; print(sorted(os.listdir('/home/jovyan/work')))")
        assert "ann.txt" in listing and "decoy-secret.txt" not in listing, listing
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def make_tree(tmp_path):
    tree = tmp_path / "decoy"
    tree.mkdir()
    (tree / "decoy-secret.txt").write_text("not ann's")
    return tree


def wait_removed(hub, name, limit=60):
    deadline = time.monotonic() + limit
    while docker("ps", "-aq", "--filter", f"name=^{hub.prefix}-{name}$").stdout.strip():
        assert time.monotonic() < deadline, f"{name}'s container was not removed"
        time.sleep(0.5)


def test_a_deleted_participants_name_starts_empty_and_their_work_is_archived(hub):
    admin = admin_client(hub)
    first = approved(hub, admin, "limreuse")
    ok(first, "open('/home/jovyan/work/private.txt', 'w').write('first owner')")
    first.stop()
    wait_removed(hub, first.name)
    r = admin.api("DELETE", f"/users/{first.name}")
    assert r.status_code == 204, (r.status_code, r.text)
    volumes = docker("volume", "ls", "-q", "--filter", f"name=^{hub.prefix}-user-{first.name}$").stdout.split()
    assert volumes == [], f"the deleted participant's volume is still in use: {volumes}"
    archived = sorted(Path(hub.disks_dir, "archive").glob(f"{hub.prefix}-user-limreuse-deleted-*.img"))
    assert len(archived) == 1, sorted(Path(hub.disks_dir).rglob("*"))
    kept = subprocess.run(["debugfs", "-R", "cat /private.txt", str(archived[0])],
                          capture_output=True, text=True).stdout
    assert kept == "first owner", kept

    second = hub.client("limreuse", "second-owner-" + "x" * 8)
    second.signup()
    admin.approve(second.name)
    assert second.login().status_code == 201
    second.spawn()
    listing = ok(second, "import os; print(sorted(os.listdir('/home/jovyan/work')))")
    assert "private.txt" not in listing and "00-welcome" in listing, listing
