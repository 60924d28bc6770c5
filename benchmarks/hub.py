"""Hub figures: seconds from spawn request to ready for 1 and for N concurrent participants
(median, max), and the hub container's memory. Starts its own hub with docker-compose.

    python benchmarks/hub.py [-n 10] [--lab-image matchbox:latest] [--instructor-image matchbox:instructor]

Target (issue 6) on 2 cores: all 10 ready within 60 s.
"""

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import docker  # noqa: E402
from hub_load import HubClient  # noqa: E402
from hubs import ADMIN, running_hub  # noqa: E402


def account(hub, admin, name):
    me = HubClient(hub.url, name, f"{name}-password-bench")
    me.signup()
    admin.approve(name)
    assert me.login().status_code == 201
    return me


def hub_memory(hub):
    name = f"{hub.prefix}_hub_1"
    return docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--lab-image", default="matchbox:latest")
    parser.add_argument("--instructor-image", default="matchbox:instructor")
    args = parser.parse_args()
    with running_hub(args.lab_image, args.instructor_image) as hub:
        print(f"hub up; memory {hub_memory(hub)}")
        admin = HubClient(hub.url, ADMIN, hub.admin_password)
        assert admin.login().status_code == 201
        solo = account(hub, admin, "solo")
        print(f"1 participant: ready {solo.spawn():.1f} s after the spawn request")
        room = [account(hub, admin, f"bench{i:02d}") for i in range(args.n)]
        started = time.monotonic()
        with ThreadPoolExecutor(args.n) as pool:
            seconds = list(pool.map(lambda me: me.spawn(), room))
        total = time.monotonic() - started
        print(f"{args.n} concurrent: median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s, "
              f"all ready {total:.1f} s after the first request (target 60 s); hub memory {hub_memory(hub)}")


if __name__ == "__main__":
    main()
