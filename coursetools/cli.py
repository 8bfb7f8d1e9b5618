"""The `course` command: `course generate`, `course grade`."""
import argparse
import sys
from pathlib import Path

from coursetools.generate import generate
from coursetools.grade import timeouts
from coursetools.grade.batch import roster
from coursetools.grade.batch.autograde import grade_class, UNSAFE_FLAG
from coursetools.grade.sandbox.bubblewrap import SandboxUnavailable
from coursetools.repo import assignments, find_root


def main(argv=None):
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--repo", type=Path, default=None,
                        help="the course repository (default: found from the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="make chapters/ from solutions/ (student notebooks)")
    gen.add_argument("assignments", nargs="*", help="assignment names (default: all)")

    grade = commands.add_parser("grade", help="autograde a folder or zip of submissions")
    grade.add_argument("assignment", help="assignment name, e.g. 01_dot_product")
    grade.add_argument("submissions", type=Path,
                       help="folder or .zip: <student>.ipynb files or one folder per student")
    grade.add_argument("--out", type=Path, default=None,
                       help="course folder for the gradebook, feedback and grades.csv "
                            "(default: grading/<assignment> in the current folder)")
    grade.add_argument("--cell-timeout", type=int, default=None,
                       help="seconds any cell may run before it is interrupted (default: per "
                            "cell, 20 times the solution's own time here, at least 5 s)")
    grade.add_argument("--submission-timeout", type=int, default=timeouts.SUBMISSION,
                       help="seconds one submission may take in all before it is stopped "
                            "(default 900)")
    grade.add_argument("--db", metavar="URL", default=None,
                       help="the gradebook's database URL, e.g. postgresql://grader@host/course "
                            "(default: gradebook.db, SQLite, in the --out folder)")
    grade.add_argument("--jobs", type=int, default=None,
                       help="students graded side by side (default: one more than the cores)")
    grade.add_argument("--run-demonstrations", action="store_true",
                       help="run every cell, also the demonstrations and try-outs that no "
                            "later cell needs (slower; their output then shows in feedback)")
    grade.add_argument("--roster", type=Path, default=None,
                       help="a CSV of the class: id (or student_id), and optionally "
                            "first_name, last_name, email; formgrader shows the names, and "
                            "grades.csv gets a row for everyone on it")
    grade.add_argument(UNSAFE_FLAG, action="store_true",
                       help="grade without the bubblewrap sandbox: student code then runs with "
                            "your rights (files, network, other submissions)")
    args = parser.parse_args(argv)

    repo = (args.repo or find_root()).resolve()
    if args.command == "generate":
        unknown = sorted(set(args.assignments) - set(assignments(repo)))
        if unknown:
            parser.error(f"unknown assignment(s): {', '.join(unknown)}; "
                         f"choose from {', '.join(assignments(repo))}")
        for name in generate(repo, args.assignments):
            print(f"generated chapters/{name}/ from solutions/{name}/")
        return 0
    if args.assignment not in assignments(repo):
        parser.error(f"unknown assignment {args.assignment!r}; "
                     f"choose from {', '.join(assignments(repo))}")
    if not args.submissions.exists():
        parser.error(f"{args.submissions} does not exist")
    out = (args.out or Path("grading") / args.assignment).resolve()
    try:
        students = roster.read(args.roster) if args.roster else None
        results = grade_class(repo, args.assignment, args.submissions, out,
                              cell_timeout=args.cell_timeout,
                              submission_timeout=args.submission_timeout,
                              sandbox=not args.unsafe_no_sandbox, db_url=args.db,
                              jobs=args.jobs, run_demonstrations=args.run_demonstrations,
                              roster=students)
    except (SandboxUnavailable, ValueError, RuntimeError) as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
