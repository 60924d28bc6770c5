"""Hub figures: seconds from spawn request to ready for 1 and for N concurrent participants
(median, max), and the hub container's memory, with the size-capped work volumes (an ext4 file
system per participant on a loop device) and with plain Docker volumes, side by side. Starts its
own hubs with docker-compose.

    python -m benchmarks.hub [-n 10] [--lab-image matchbox:latest] [--instructor-image matchbox:instructor]

(from the repository root: it uses tests.support)

Target (issue 6) on 2 cores: all 10 ready within 60 s.
"""

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.containers import docker
from tests.support.hubs import admin_client, running_hub


def account(hub, admin, name):
    me = hub.client(name, f"{name}-password-bench")
    me.signup()
    admin.approve(name)
    assert me.login().status_code == 201
    return me


def hub_memory(hub):
    name = f"{hub.prefix}_hub_1"
    return docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).stdout.strip()


def measure(args, **env):
    """(1 participant's spawn seconds, N concurrent spawns' seconds, all-ready seconds, memory)."""
    with running_hub(args.lab_image, args.instructor_image, **env) as hub:
        admin = admin_client(hub)
        solo = account(hub, admin, "solo").spawn()
        room = [account(hub, admin, f"bench{i:02d}") for i in range(args.n)]
        started = time.monotonic()
        with ThreadPoolExecutor(args.n) as pool:
            seconds = list(pool.map(lambda me: me.spawn(), room))
        return solo, seconds, time.monotonic() - started, hub_memory(hub)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--lab-image", default="matchbox:latest")
    parser.add_argument("--instructor-image", default="matchbox:instructor")
    parser.add_argument("--disk-limit", default="2G", help="each work volume's size (the default)")
    args = parser.parse_args()
    runs = {f"disk limit {args.disk_limit}": measure(args, MATCHBOX_HUB_DISK_LIMIT=args.disk_limit),
            "plain volumes": measure(args, MATCHBOX_HUB_DISK_LIMIT="0")}
    print(f"{'':<18} {'1 spawn':>8} {args.n} at once: {'median':>7} {'max':>6} {'all ready':>10}  hub memory")
    for name, (solo, seconds, total, memory) in runs.items():
        print(f"{name:<18} {solo:>7.1f}s {'':>10} {statistics.median(seconds):>6.1f}s {max(seconds):>5.1f}s "
              f"{total:>9.1f}s  {memory}")
    (capped, *_), (plain, *_) = runs.values()
    print(f"ratio capped/plain: 1 spawn {capped / plain:.2f}x, median of {args.n} "
          f"{statistics.median(runs[next(iter(runs))][1]) / statistics.median(runs['plain volumes'][1]):.2f}x")


if __name__ == "__main__":
    main()
