"""Every solution notebook executed end to end, in full mode and in grading mode, side by side.

Usage (from the repository root): python -m benchmarks.course [--full-only] [NAME ...]

Full mode is what a participant runs; grading mode is what nbgrader runs (NBGRADER_EXECUTION set:
long trainings shrink), and so what Validate and autograde cost per notebook. Targets on 2 cores:
≤ 6 min in total in full mode (shared/curriculum.md), each notebook within its bound.
docs/workshop-plan.md quotes these figures.
"""

import argparse
import os
import sys

from tests.support.course import SOLUTIONS, assignments, bound_s, execute, notebooks

FULL_TARGET_S = 360


def run(path, grading):
    """{seconds, error} of one execution, NBGRADER_EXECUTION set only in grading mode."""
    saved = os.environ.pop("NBGRADER_EXECUTION", None)
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        return execute(path, timeout=600)
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
        if saved is not None:
            os.environ["NBGRADER_EXECUTION"] = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments (default: all in solutions/)")
    parser.add_argument("--full-only", action="store_true", help="skip grading mode")
    args = parser.parse_args()
    modes = ["full"] + ([] if args.full_only else ["grading"])
    totals, failed = dict.fromkeys(modes, 0.0), []
    print(f"{'notebook':<20} {'bound':>7} " + " ".join(f"{mode:>9}" for mode in modes) + "   grading/full")
    for name in args.names or assignments():
        for path in notebooks(SOLUTIONS / name):
            seconds = {}
            for mode in modes:
                result = run(path, grading=mode == "grading")
                seconds[mode] = result["seconds"]
                totals[mode] += result["seconds"]
                if result["error"]:
                    failed.append(f"{path.name} ({mode} mode):\n{result['error']}")
            bound = bound_s(name)
            ratio = f"   {seconds['grading'] / seconds['full']:.2f}" if "grading" in seconds else ""
            print(f"{path.stem:<20} {f'{bound} s' if bound else '-':>7} "
                  + " ".join(f"{seconds[mode]:7.1f} s" for mode in modes) + ratio, flush=True)
    print(f"{'total':<20} {'':>7} " + " ".join(f"{totals[mode]:7.1f} s" for mode in modes)
          + f"   (full-mode target ≤ {FULL_TARGET_S} s: {'met' if totals['full'] <= FULL_TARGET_S else 'MISSED'})")
    if failed:
        sys.exit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
