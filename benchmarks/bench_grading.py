"""Grading speed: `course grade` against plain `nbgrader autograde`, on the same generated class.

The class mixes, per chapter, 60% correct notebooks, 15% untouched ones, 20% with one
realistic bug and 5% hostile ones (a fifth of those an endless loop, the rest a patch
of the grader), made from the committed student notebooks the way the tests make them.
`course grade` grades all of them; plain nbgrader (nbgrader's defaults, in a course
folder of its own, one `nbgrader autograde` for the whole sample) grades the first
``--sample`` of each chapter. Both run in this process's environment, one after the
other, and the figures are notebooks per minute.

Usage: python benchmarks/bench_grading.py [--students 20] [--chapters 01_dot_product 07_train_loop]
       [--sample 8] [--cell-timeout 10]
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

from test_autograde import (BUGS, _nbgrader, _points, _solution_bodies, _submission,  # noqa: E402
                            _with_bug, plain_nbgrader_course)

from coursetools.autograde import grade_class  # noqa: E402

HOSTILE = {
    "endless": "while True:\n    pass",
    "patches_grader": "import nnlib.grading\nnnlib.grading.core.compare = lambda *a, **k: None",
}


def make_class(assignment, students):
    """{student: answers}: 60% correct, 15% untouched, 20% one bug, 5% hostile."""
    correct = _solution_bodies(assignment)
    names = [n for n in _points(assignment) if n in BUGS]
    first = names[0]
    made, hostile_count = {}, 0
    for i in range(students):
        share = i / students
        if share < 0.60:
            kind, answers = "correct", correct
        elif share < 0.75:
            kind, answers = "untouched", {}
        elif share < 0.95:
            name = names[i % len(names)]
            kind, answers = f"bug_{name}", {**correct, name: _with_bug(assignment, name)}
        else:
            hostile = "endless" if hostile_count % 5 == 0 else "patches_grader"
            hostile_count += 1
            kind, answers = hostile, {**correct, first: correct[first] + "\n" + HOSTILE[hostile]}
        made[f"s{i:03d}_{kind}"] = answers
    return made


def grade_with_course(assignment, answers, scratch, cell_timeout):
    folder = scratch / "course-submissions" / assignment
    folder.mkdir(parents=True)
    for student, given in answers.items():
        nbformat.write(_submission(assignment, given), str(folder / f"{student}.ipynb"))
    started = time.perf_counter()
    grade_class(ROOT, assignment, folder, scratch / "course-grading" / assignment, cell_timeout,
                submission_timeout=max(60, 20 * cell_timeout), out=lambda line: None)
    return time.perf_counter() - started


def grade_with_plain_nbgrader(assignment, answers, scratch, cell_timeout):
    course = scratch / "plain" / assignment
    plain_nbgrader_course(course, assignment, answers, f"c.Execute.timeout = {cell_timeout}\n")
    started = time.perf_counter()
    _nbgrader(["autograde", assignment, "--force"], course)
    seconds = time.perf_counter() - started
    graded = len(list((course / "autograded").glob(f"*/{assignment}/{assignment}.ipynb")))
    if graded != len(answers):
        raise SystemExit(f"plain nbgrader graded {graded} of {len(answers)} notebooks; see {course}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20, help="notebooks per chapter")
    parser.add_argument("--chapters", nargs="+", default=["01_dot_product", "07_train_loop"])
    parser.add_argument("--sample", type=int, default=8,
                        help="notebooks per chapter that plain nbgrader grades too")
    parser.add_argument("--cell-timeout", type=int, default=10)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{args.students} notebooks per chapter, chapters {', '.join(args.chapters)}")
    totals = {"course grade": [0, 0.0], "plain nbgrader": [0, 0.0]}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for assignment in args.chapters:
            answers = make_class(assignment, args.students)
            sample = dict(list(answers.items())[:args.sample])
            for name, grade, these in (("course grade", grade_with_course, answers),
                                       ("plain nbgrader", grade_with_plain_nbgrader, sample)):
                seconds = grade(assignment, these, scratch, args.cell_timeout)
                totals[name][0] += len(these)
                totals[name][1] += seconds
                print(f"{assignment:16s} {name:15s} {len(these):4d} notebooks in {seconds:7.1f} s: "
                      f"{60 * len(these) / seconds:5.1f} per minute")
    rate = {name: 60 * n / s for name, (n, s) in totals.items()}
    print(f"\nall chapters: course grade {rate['course grade']:.1f} notebooks per minute, plain "
          f"nbgrader {rate['plain nbgrader']:.1f} (ratio {rate['course grade'] / rate['plain nbgrader']:.2f})")
    term = 2700 / rate["course grade"]
    print(f"a term of 2,700 notebooks at this pace: {term:.0f} minutes with course grade "
          "(the goal is 20)")


if __name__ == "__main__":
    main()
