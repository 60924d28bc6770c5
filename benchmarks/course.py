"""Every solution notebook executed end to end, full mode: seconds each and in total.

Usage (from the repository root): python -m benchmarks.course [NAME ...]
(target on 2 cores: ≤ 6 min in total)
"""

import sys

from tests.support.course import SOLUTIONS, assignments, execute, notebooks


def main():
    names = sys.argv[1:] or assignments()
    total, failed = 0.0, []
    for name in names:
        for path in notebooks(SOLUTIONS / name):
            result = execute(path, timeout=600)
            total += result["seconds"]
            print(f"{path.stem:<20} {result['seconds']:6.1f} s", flush=True)
            if result["error"]:
                failed.append(f"{path.name}:\n{result['error']}")
    print(f"{'total':<20} {total:6.1f} s   (target ≤ 360 s: {'met' if total <= 360 else 'MISSED'})")
    if failed:
        sys.exit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
