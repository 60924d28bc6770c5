"""Grading benchmark: synthetic students x the course through scripts/grade, serial vs -j N.

    python benchmarks/grading.py [--students 30] [--assignments 00-welcome 01-matchbox ...]
                                 [--jobs 2] [--image matchbox:latest]

Each student answers every exercise from the solutions except a few left as stubs (a mix of
correct and wrong answers, deterministic per student). A fresh temporary course per mode.
Prints seconds serial and with -j N, the per-student median (all assignments of one student),
and the speed-up. Targets on 2 cores: one student's course <= 90 s, 30 students <= 20 min with
-j 2, speed-up >= 1.7.
"""

import argparse
import csv
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from tests.support.course import HANDSON, SOLUTIONS, assignments, exercises, load, notebooks, submission  # noqa: E402


def make_course(tmp, chosen):
    course = tmp / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for a in chosen:
        shutil.copytree(SOLUTIONS / a, course / "solutions" / a)
    return course


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
    per_student = defaultdict(float)
    started = time.monotonic()
    for a in chosen:
        done = subprocess.run([str(ROOT / "scripts" / "grade"), a, "--submissions", str(subs),
                               "--course", str(course), "-j", str(jobs), "--image", image],
                              capture_output=True, text=True)
        for student, seconds in re.findall(r"^grade: (\S+): .* \((\d+) s\)$", done.stderr, re.M):
            per_student[student] += float(seconds)
        if done.returncode != 0:
            print(done.stdout + done.stderr[-2000:], file=sys.stderr)
    return time.monotonic() - started, per_student


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
        total, per = results[jobs]
        print(f"-j {jobs}: {total:.0f} s for {args.students} students x {len(chosen)} assignments; "
              f"per-student median {statistics.median(per.values()):.0f} s", flush=True)
    serial, parallel = results[1][0], results[args.jobs][0]
    print(f"speed-up with -j {args.jobs}: {serial / parallel:.2f}x  (assignments: {' '.join(chosen)})")
    same = grades[1] == grades[args.jobs]
    print(f"grades.csv identical serial and -j {args.jobs}: {'yes' if same else 'NO'} "
          f"({len(grades[1])} rows)")


if __name__ == "__main__":
    main()
