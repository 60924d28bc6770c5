"""A room of participants against a running hub: N at once sign up, are approved by the
instructor, log in, spawn, load MNIST, fetch and submit an assignment; then the instructor
collects and grades the submissions. Every step is asserted and timed (tests/support/hub_client.py).

    python -m benchmarks.room --url http://127.0.0.1:8000 --admin-password ... [-n 10]

(from the repository root, like every benchmark that uses tests.support)
"""

import argparse
import statistics
import time
import uuid

from tests.support.hub_client import collect_and_grade, run_room


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--admin", default="instructor")
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--prefix", default=f"load{uuid.uuid4().hex[:4]}-")
    parser.add_argument("--assignment", default="01-matchbox",
                        help="released, fetched, submitted and graded ('' to skip)")
    args = parser.parse_args()
    started = time.monotonic()
    admin, results = run_room(args.url, args.admin, args.admin_password, args.n, args.prefix,
                              assignment=args.assignment)
    spawns = [t["spawn"] for _, t in results]
    print(f"{args.n} participants ready and MNIST loaded in {time.monotonic() - started:.1f} s; "
          f"spawn median {statistics.median(spawns):.1f} s, max {max(spawns):.1f} s")
    if args.assignment:
        t = time.monotonic()
        scores, out = collect_and_grade(admin, args.assignment)
        print(out)
        print(f"collected and graded {len(scores)} submissions in {time.monotonic() - t:.1f} s")


if __name__ == "__main__":
    main()
