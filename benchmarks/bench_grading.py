"""Grading speed: `course grade` against plain `nbgrader autograde`, on one generated term.

The class has, per chapter, 60% correct notebooks, 15% untouched ones, 20% with one
realistic bug and 5% hostile ones: a fifth of those (1% of the class) an endless loop,
the rest a patch of the grader, a patch of numpy's comparisons, or a cell that reaches
for the grading folder and the network. They are made from the committed student
notebooks the way the tests make them. `course grade` grades all of them with its
defaults (time limits from the solution's own times, one slot more than the cores); plain nbgrader
(its defaults, a course folder of its own, one `nbgrader autograde`) grades every
n-th notebook, ``--sample`` per chapter. Both run in this process's environment, one after the
other. The figures are notebooks per minute and the busy core-seconds per notebook
(from /proc/stat, the whole machine), and the time a term of 300 students x 9 chapters
would take at this pace.

Usage: python benchmarks/bench_grading.py [--students 30] [--chapters ...] [--sample 4]
(--students 300 grades a whole term, 2,700 notebooks, and prints its time as measured)
"""
import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))      # the tests' notebook makers: one way to make a class

from nbtools import ASSIGNMENTS  # noqa: E402
from test_autograde import (BUGS, _appended, _nbgrader, _points, _solution_bodies,  # noqa: E402
                            _submission, _with_bug, plain_nbgrader_course)

from coursetools.grade.batch.autograde import default_jobs, grade_class  # noqa: E402

HOSTILE = {
    "endless": "while True:\n    pass",
    "patches_grader": "import nnlib.grading\nnnlib.grading.core.compare = lambda *a, **k: None",
    "patches_numpy": "import numpy\nnumpy.allclose = numpy.array_equal = lambda *a, **k: True",
    "reaches_out": ("import os, socket\nprint(os.listdir('/'))\n"
                    "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
                    "except OSError as e:\n    print('refused', e)"),
}
TERM, CHAPTERS = 2700, 9


def make_class(assignment, students):
    """{student: (answers, edit)}: 60% correct, 15% untouched, 20% one bug, 5% hostile."""
    correct = _solution_bodies(assignment)
    names = [n for n in _points(assignment) if n in BUGS]
    made, hostile_count = {}, 0
    for i in range(students):
        share = i / students
        if share < 0.60:
            kind, made_of = "correct", (correct, None)
        elif share < 0.75:
            kind, made_of = "untouched", ({}, None)
        elif share < 0.95:
            name = names[i % len(names)]
            kind = f"bug_{name}"
            made_of = ({**correct, name: _with_bug(assignment, name)}, None)
        else:
            kind = "endless" if hostile_count % 5 == 0 else \
                ["patches_grader", "patches_numpy", "reaches_out"][hostile_count % 5 % 3]
            hostile_count += 1
            made_of = (correct, _appended(HOSTILE[kind]))
        made[f"s{i:03d}_{kind}"] = made_of
    return made


def busy_seconds():
    """Core-seconds the whole machine has been busy (user, nice, system, irq)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / 100


def grade_with_course(assignment, notebooks, scratch, jobs=None):
    """(seconds in all, seconds of preparation): the solution's timing, the course folder
    and nbgrader's generate_assignment, done once per chapter whatever the class size."""
    folder = scratch / "course-submissions" / assignment
    folder.mkdir(parents=True)
    for student, (answers, edit) in notebooks.items():
        nbformat.write(_submission(assignment, answers, edit), str(folder / f"{student}.ipynb"))
    started, prepared = time.perf_counter(), []

    def out(line):
        if line.startswith("Grading ") and not prepared:
            prepared.append(time.perf_counter() - started)
    results = grade_class(ROOT, assignment, folder, scratch / "course-grading" / assignment,
                          out=out, jobs=jobs)
    failed = [r.student for r in results if r.status != "graded"]
    if failed:
        raise SystemExit(f"course grade could not grade {failed} of {assignment}")
    return time.perf_counter() - started, prepared[0]


def grade_with_plain_nbgrader(assignment, notebooks, scratch, jobs=None):
    """One `nbgrader autograde` for the sample (nbgrader grades one notebook at a time)."""
    course = scratch / "plain" / assignment
    plain_nbgrader_course(course, assignment, {})
    released = course / "release" / assignment / f"{assignment}.ipynb"
    for student, (answers, edit) in notebooks.items():     # made from its own release
        target = course / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(_submission(assignment, answers, edit, release=released),
                       str(target / f"{assignment}.ipynb"))
    started = time.perf_counter()
    _nbgrader(["autograde", assignment, "--force"], course)
    seconds = time.perf_counter() - started
    graded = len(list((course / "autograded").glob(f"*/{assignment}/{assignment}.ipynb")))
    if graded < len(notebooks):
        raise SystemExit(f"plain nbgrader graded {graded} of {len(notebooks)} notebooks; "
                         f"see {course}")
    return seconds, 0.0


def import_seconds(module, repeats=5):
    """Median wall time of a fresh interpreter that imports ``module`` (students feel it)."""
    import statistics
    import subprocess
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, help="notebooks per chapter")
    parser.add_argument("--chapters", nargs="+", default=list(ASSIGNMENTS))
    parser.add_argument("--sample", type=int, default=4,
                        help="notebooks per chapter that plain nbgrader grades too (0: none, "
                             "course grade alone)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="course grade's students side by side (default: its own)")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {default_jobs()} "
          f"cores, {args.students} notebooks per chapter, {len(args.chapters)} chapters, "
          f"course grade with {args.jobs or 'its default'} jobs")
    baseline, grading = import_seconds("numpy"), import_seconds("nnlib.grading")
    print(f"a fresh Python importing nnlib.grading: {grading:.2f} s (numpy alone: "
          f"{baseline:.2f} s; the goal is under 0.3 s)")
    totals = {"course grade": [0, 0.0, 0.0], "plain nbgrader": [0, 0.0, 0.0]}
    preparing, marginal = [], [0, 0.0]       # course grade's once-per-chapter part, the rest
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for assignment in args.chapters:
            notebooks = make_class(assignment, args.students)
            step = max(1, len(notebooks) // max(1, args.sample))   # every step-th: the same mix
            sample = dict(list(notebooks.items())[::step][:args.sample])
            for name, grade, these in (("course grade", grade_with_course, notebooks),
                                       ("plain nbgrader", grade_with_plain_nbgrader, sample)):
                if not these:
                    continue
                busy = busy_seconds()
                seconds, prepared = grade(assignment, these, scratch, args.jobs)
                cpu = busy_seconds() - busy
                total = totals[name]
                total[0] += len(these)
                total[1] += seconds
                total[2] += cpu
                print(f"{assignment:16s} {name:15s} {len(these):4d} notebooks in {seconds:7.1f} s: "
                      f"{60 * len(these) / seconds:5.1f} per minute, "
                      f"{cpu / len(these):4.2f} core-s each"
                      + (f" (of which {prepared:.1f} s preparing: "
                         f"{60 * len(these) / (seconds - prepared):5.1f} per minute after)"
                         if prepared else ""), flush=True)
                if prepared:
                    preparing.append(prepared)
                    marginal[0] += len(these)
                    marginal[1] += seconds - prepared
    rate = {name: 60 * n / s for name, (n, s, _) in totals.items() if n}
    cpu = {name: c / n for name, (n, _, c) in totals.items() if n}
    print(f"\nall chapters: course grade {rate['course grade']:.1f} notebooks per minute "
          f"({cpu['course grade']:.2f} core-s each)" + (
              f", plain nbgrader {rate['plain nbgrader']:.1f} ({cpu['plain nbgrader']:.2f} "
              f"core-s each); ratio {rate['course grade'] / rate['plain nbgrader']:.2f}"
              if "plain nbgrader" in rate else " (plain nbgrader not run)"))
    print(f"a term of {TERM:,} notebooks at this pace: {TERM / rate['course grade']:.0f} minutes "
          "with course grade" + (f", {TERM / rate['plain nbgrader']:.0f} with plain nbgrader"
                                 if "plain nbgrader" in rate else "") + " (the goal is 20)")
    graded, seconds = totals["course grade"][:2]
    if graded >= TERM:
        print(f"this run graded a whole term ({graded:,} notebooks): course grade took "
              f"{seconds / 60:.1f} minutes in all, preparations included (the goal is 20)")
    per_chapter = sum(preparing) / len(preparing)
    term = (CHAPTERS * per_chapter + TERM * marginal[1] / marginal[0]) / 60
    print(f"course grade prepares each chapter once ({per_chapter:.1f} s on average here): "
          f"{CHAPTERS} preparations and {TERM:,} notebooks at the pace after preparing take "
          f"{term:.0f} minutes")


if __name__ == "__main__":
    main()
