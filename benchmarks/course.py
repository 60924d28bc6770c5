"""Every solution notebook executed end to end, in full mode and in grading mode, side by side.

Usage (from the repository root): python -m benchmarks.course [--full-only] [--language ja] [NAME ...]

Full mode is what a participant runs; grading mode is what nbgrader runs (NBGRADER_EXECUTION set:
long trainings shrink), and so what Validate and autograde cost per notebook. Targets on 2 cores:
each notebook within its bound; day one (00-06) ≤ 6 min in total in full mode (shared/curriculum.md),
day two (07-09) ≤ 7.5 min (the sum of its bounds).
docs/workshop-plan.md quotes these figures. --language ja runs the Japanese edition (ja/solutions,
MATCHBOX_LANG=ja) and --language both prints each notebook's English and Japanese times side by side.
"""

import argparse
import os
import sys

from tests.support.course import JA_SOLUTIONS, SOLUTIONS, assignments, bound_s, execute, notebooks

EDITIONS = {"en": SOLUTIONS, "ja": JA_SOLUTIONS}

# the full-mode target of each day's notebooks, by the number their folders start with
DAYS = {"day one": (("00", "01", "02", "03", "04", "05", "06"), 360), "day two": (("07", "08", "09"), 450)}


def run(path, grading, language="en"):
    """{seconds, error} of one execution, NBGRADER_EXECUTION set only in grading mode."""
    saved = {key: os.environ.pop(key, None) for key in ("NBGRADER_EXECUTION", "MATCHBOX_LANG")}
    os.environ["MATCHBOX_LANG"] = language
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        return execute(path, timeout=600)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments (default: all in solutions/)")
    parser.add_argument("--full-only", action="store_true", help="skip grading mode")
    parser.add_argument("--language", choices=["en", "ja", "both"], default="en",
                        help="the edition to run (both: English and Japanese side by side)")
    args = parser.parse_args()
    languages = ["en", "ja"] if args.language == "both" else [args.language]
    modes = [f"{mode}{'-' + language if len(languages) > 1 else ''}" for language in languages
             for mode in ["full"] + ([] if args.full_only else ["grading"])]
    totals, failed = dict.fromkeys(modes, 0.0), []
    day_totals = {day: dict.fromkeys(modes, 0.0) for day in DAYS}
    ratio_of = "   ja/en (full)" if len(languages) > 1 else "   grading/full"
    print(f"{'notebook':<20} {'bound':>7} " + " ".join(f"{mode:>10}" for mode in modes)
          + (ratio_of if len(modes) > 1 else ""))
    for name in args.names or assignments():
        for path in notebooks(SOLUTIONS / name):
            seconds = {}
            for mode in modes:
                language = mode.split("-")[1] if "-" in mode else languages[0]
                result = run(EDITIONS[language] / name / path.name, mode.startswith("grading"), language)
                seconds[mode] = result["seconds"]
                totals[mode] += result["seconds"]
                for day, (prefixes, _) in DAYS.items():
                    if name[:2] in prefixes:
                        day_totals[day][mode] += result["seconds"]
                if result["error"]:
                    failed.append(f"{language}/{path.name} ({mode} mode):\n{result['error']}")
            bound = bound_s(name)
            ratio = ""
            if len(languages) > 1:
                ratio = f"   {seconds['full-ja'] / seconds['full-en']:.2f}"
            elif len(modes) > 1:
                ratio = f"   {seconds['grading'] / seconds['full']:.2f}"
            print(f"{path.stem:<20} {f'{bound} s' if bound else '-':>7} "
                  + " ".join(f"{seconds[mode]:8.1f} s" for mode in modes) + ratio, flush=True)
    full = [mode for mode in modes if mode.startswith("full")]
    for day, (_, target) in DAYS.items():
        if any(day_totals[day].values()):
            print(f"{day:<20} {'':>7} " + " ".join(f"{day_totals[day][mode]:8.1f} s" for mode in modes)
                  + f"   (full-mode target ≤ {target} s: "
                  + ", ".join("met" if day_totals[day][mode] <= target else "MISSED" for mode in full) + ")")
    print(f"{'total':<20} {'':>7} " + " ".join(f"{totals[mode]:8.1f} s" for mode in modes))
    if failed:
        sys.exit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
