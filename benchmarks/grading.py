"""Grading benchmark: synthetic students x the course through the grader, serial vs -j N.

    python -m benchmarks.grading [--students 30] [--assignments 00-welcome 01-matchbox ...]
                                 [--jobs 2] [--image matchbox:latest]

Run from the repository root. Each student answers every exercise from the solutions except a
few left as stubs (a mix of correct and wrong answers, deterministic per student). A fresh
temporary course per mode. The grader runs as the instructor runs it (matchbox-grade), and its
results are read from the records it writes (--json): seconds per student, scores, failures.
Prints seconds serial and with -j N, the per-student median (all assignments of one student),
and the speed-up. Targets on 2 cores: one student's course <= 90 s, 30 students <= 20 min with
-j 2, speed-up >= 1.7.
"""

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tests.support.course import HANDSON, SOLUTIONS, assignments, exercises, load, notebooks, submission
from tests.support.grading import make_course, run_grade


def make_submissions(tmp, chosen, students):
    subs = tmp / "submissions"
    for i in range(students):
        rng = random.Random(i)
        for a in chosen:
            folder = subs / f"student{i:02d}" / a
            folder.mkdir(parents=True)
            for path in notebooks(SOLUTIONS / a):
                solution = load(path)
                ids = [grade_id for grade_id, _ in exercises(solution)]
                stubs = {g for g in ids if rng.random() < 0.25}
                nb = submission(load(HANDSON / a / path.name), solution, stubs)
                (folder / path.name).write_text(json.dumps(nb), encoding="utf-8")
    return subs


def grade(course, subs, chosen, jobs, image):
    """Seconds for the whole run, {student: seconds over all assignments}, and the failures."""
    per_student, failed = defaultdict(float), []
    started = time.monotonic()
    for a in chosen:
        done = run_grade(course, subs, "-j", str(jobs), "--image", image, assignment=a,
                         timeout=24 * 3600)
        if done.records is None:
            sys.exit(f"the grader wrote no records for {a}:\n{done.stdout}{done.stderr[-2000:]}")
        for record in done.records:
            per_student[record["student"]] += record["seconds"]
            if record["error"] is not None:
                failed.append(f"{a} {record['student']}: {record['error']}")
    return time.monotonic() - started, per_student, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--image", default="matchbox:latest")
    args = parser.parse_args()
    chosen = args.assignments or [a for a in assignments() if (HANDSON / a).is_dir()]
    results, grades = {}, {}
    for jobs in (1, args.jobs):
        with tempfile.TemporaryDirectory(prefix="matchbox-bench-") as tmp:
            tmp = Path(tmp)
            course = make_course(tmp, chosen)
            subs = make_submissions(tmp, chosen, args.students)
            results[jobs] = grade(course, subs, chosen, jobs, args.image)
            with open(course / "grades.csv", newline="") as f:
                grades[jobs] = sorted((r["assignment"], r["student_id"], r["score"])
                                      for r in csv.DictReader(f))
        total, per, failed = results[jobs]
        print(f"-j {jobs}: {total:.0f} s for {args.students} students x {len(chosen)} assignments; "
              f"per-student median {statistics.median(per.values()):.0f} s; "
              f"{len(failed)} not graded", flush=True)
        for line in failed:
            print(f"  not graded: {line}")
    serial, parallel = results[1][0], results[args.jobs][0]
    print(f"speed-up with -j {args.jobs}: {serial / parallel:.2f}x  (assignments: {' '.join(chosen)})")
    same = grades[1] == grades[args.jobs]
    print(f"grades.csv identical serial and -j {args.jobs}: {'yes' if same else 'NO'} "
          f"({len(grades[1])} rows)")


if __name__ == "__main__":
    main()
