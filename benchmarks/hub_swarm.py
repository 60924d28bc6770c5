"""Hub figures across machines: the all-ready time of N participants spawning at once on a Docker
Swarm of --nodes engines on this machine (tests/support/swarm.py, deploy/swarm/stack.yml), how
many went on each node, and the hub's memory; beside the same N on one machine (the single-host
hub, plain volumes) measured in the same run. Run through benchmarks/hub.py:

    python -m benchmarks.hub --swarm --nodes 3 -n 12 [--lab-image matchbox:latest]
"""

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.support.hubs import HUB_TAG
from tests.support.swarm import swarm_hub


def on_swarm(args):
    """(N spawns' seconds, all-ready seconds, {node: participants}, hub memory) on the swarm."""
    with swarm_hub([f"matchbox-hub:{HUB_TAG}", f"matchbox-hub-instructor:{HUB_TAG}"],
                   f"matchbox-hub-user:{HUB_TAG}", nodes=args.nodes,
                   MATCHBOX_HUB_MEM_LIMIT="1G", MATCHBOX_HUB_CPU_LIMIT="1") as swarm:
        admin = swarm.admin()
        assert admin.login().status_code == 201
        room = []
        for i in range(args.n):
            me = swarm.client(f"bench{i:02d}", f"bench{i:02d}-password-bench")
            me.signup()
            admin.approve(me.name)
            assert me.login().status_code == 201
            room.append(me)
        started = time.monotonic()
        with ThreadPoolExecutor(args.n) as pool:
            seconds = list(pool.map(lambda me: me.spawn(), room))
        total = time.monotonic() - started
        return seconds, total, Counter(swarm.placement().values()), swarm.hub_memory()


def measure_swarm(args, measure):
    """The single-host hub (benchmarks.hub.measure, plain volumes: it also builds the hub images),
    then the swarm; both printed."""
    _, single, single_total, single_memory = measure(args, MATCHBOX_HUB_DISK_LIMIT="0")
    seconds, total, per_node, memory = on_swarm(args)
    print(f"{args.n} at once{'':<12} {'median':>7} {'max':>6} {'all ready':>10}  hub memory")
    print(f"{'one machine':<20} {statistics.median(single):>6.1f}s {max(single):>5.1f}s "
          f"{single_total:>9.1f}s  {single_memory}")
    print(f"{f'swarm, {args.nodes} nodes':<20} {statistics.median(seconds):>6.1f}s {max(seconds):>5.1f}s "
          f"{total:>9.1f}s  {memory}")
    print("nodes used: " + ", ".join(f"{node} {count}" for node, count in sorted(per_node.items()))
          + f" ({len(per_node)} of {args.nodes})")
