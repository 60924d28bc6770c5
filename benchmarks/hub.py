"""Hub figures: seconds from spawn request to ready for 1 and for N concurrent participants
(median, max), and the hub container's memory, with the size-capped work volumes (an ext4 file
system per participant on a loop device) and with plain Docker volumes, side by side. Starts its
own hubs with docker-compose.

    python -m benchmarks.hub [-n 10] [--lab-image matchbox:latest] [--instructor-image matchbox:instructor]

With --room 10 30: the room view instead (/services/room/), in one hub whose participants' servers
run idle with the seeded notebooks (ten assignments each, nothing released): the time of one
read of the whole room, cold (every notebook fetched) and warm (listings only, what each refresh
costs), and the hub container's CPU and memory while an instructor's page refreshes, against
the same hub with nobody watching.

(from the repository root: it uses tests.support)

Target (issue 6) on 2 cores: all 10 ready within 60 s.
"""

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.hub_swarm import measure_swarm
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


def hub_usage(hub, seconds, every=3.0):
    """(mean CPU %, largest memory in MiB) of the hub's container, sampled for `seconds`."""
    cpu, memory, until = [], [], time.monotonic() + seconds
    while time.monotonic() < until:
        line = docker("stats", "--no-stream", "--format", "{{.CPUPerc}} {{.MemUsage}}",
                      f"{hub.prefix}_hub_1").stdout.split()
        cpu.append(float(line[0].rstrip("%")))
        used = line[1]
        memory.append(float(used[:-3]) * (1024 if used.endswith("GiB") else 1))
        time.sleep(every)
    return statistics.mean(cpu), max(memory)


def room_reads(admin, seconds):
    """Read the room as the instructor's page does (every refresh) for `seconds`; the service's
    own read times (s) and the request times (s)."""
    reads, requests_s, until = [], [], time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.monotonic()
        data = admin.hub_get("/services/room/api/progress").json()
        requests_s.append(time.monotonic() - started)
        reads.append(data["read_seconds"])
        time.sleep(data["refresh_seconds"])
    return reads, requests_s, data


def measure_room(args):
    """One hub; for each size, participants added until there are that many, then the room read."""
    rows = []
    with running_hub(args.lab_image, args.instructor_image, MATCHBOX_HUB_DISK_LIMIT="0") as hub:
        admin = admin_client(hub)
        people = []
        for size in sorted(args.room):
            new = [account(hub, admin, f"room{i:02d}") for i in range(len(people), size)]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda me: me.spawn(), new))
            people += new
            time.sleep(5)
            idle_cpu, idle_memory = hub_usage(hub, 15)
            cold = admin.hub_get("/services/room/api/progress").json()
            with ThreadPoolExecutor(1) as pool:
                watching = pool.submit(room_reads, admin, 30)
                cpu, memory = hub_usage(hub, 30)
                reads, requests_s, data = watching.result()
            notebooks = sum(len(p["assignments"]) for p in data["participants"])
            rows.append((size, notebooks, cold["read_seconds"], statistics.median(reads),
                         max(requests_s), cpu, idle_cpu, memory, idle_memory))
    print(f"{'room view':<10} {'notebooks':>9} {'cold read':>10} {'warm read':>10} {'slowest page':>13}"
          f" {'hub CPU watched/idle':>21} {'hub memory watched/idle':>24}")
    for size, notebooks, cold, warm, slowest, cpu, idle_cpu, memory, idle_memory in rows:
        print(f"{size:>3} people {notebooks:>9} {cold:>9.2f}s {warm:>9.2f}s {slowest:>12.2f}s"
              f" {cpu:>9.1f}% / {idle_cpu:.1f}% {memory:>11.0f} / {idle_memory:.0f} MiB")
    if len(rows) > 1:
        (small, *_), (large, *_) = rows[0], rows[-1]
        print(f"warm read {large} vs {small} people: {rows[-1][3] / rows[0][3]:.2f}x "
              f"(refresh every {data['refresh_seconds']:g} s; the page shows a save within "
              f"refresh + read + refresh = {2 * data['refresh_seconds'] + rows[-1][3]:.1f} s at {large})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--lab-image", default="matchbox:latest")
    parser.add_argument("--instructor-image", default="matchbox:instructor")
    parser.add_argument("--disk-limit", default="2G", help="each work volume's size (the default)")
    parser.add_argument("--swarm", action="store_true",
                        help="N at once on a Docker Swarm of --nodes engines here, beside one machine "
                             "(benchmarks/hub_swarm.py)")
    parser.add_argument("--nodes", type=int, default=3, help="the swarm's nodes (with --swarm)")
    parser.add_argument("--room", type=int, nargs="+", metavar="N",
                        help="the room view's figures for these numbers of participants instead")
    args = parser.parse_args()
    if args.swarm:
        measure_swarm(args, measure)
        return
    if args.room:
        measure_room(args)
        return
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
