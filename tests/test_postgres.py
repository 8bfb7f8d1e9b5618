"""`course grade --db`: a real PostgreSQL server as the gradebook of record.

The server runs as an unprivileged user (PostgreSQL refuses root) on a Unix socket in a
folder of its own, with no TCP port. Two `course grade` processes grade two chapters
into the one database at the same moment; every score must be in grades.csv, in
`nbgrader export`, in the feedback page and in the database, and agree.
"""
import csv
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from nbtools import ROOT
from test_autograde import _solution_bodies, _submission, _with_bug

NOBODY = 65534      # Debian's unprivileged user, who runs the server when the tests run as root


def _postgres_bin():
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@pytest.fixture(scope="module")
def postgres():
    """A fresh PostgreSQL server; yields its database URL maker."""
    bindir = _postgres_bin()
    if bindir is None:
        if os.environ.get("COURSE_POSTGRES_REQUIRED"):
            pytest.fail("PostgreSQL is required here (COURSE_POSTGRES_REQUIRED) but initdb "
                        "is not installed")
        pytest.skip("PostgreSQL is not installed (Debian: apt install postgresql)")
    import psycopg          # the test extra brings it
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    os.chmod(folder, 0o755)
    data = folder / "data"
    data.mkdir(mode=0o700)
    as_user = []
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
        os.chown(data, NOBODY, NOBODY)
        as_user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    run = dict(capture_output=True, text=True, timeout=120, cwd=folder)
    made = subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-U", "grader",
                                     "--auth=trust", "-E", "UTF8"], **run)
    assert made.returncode == 0, made.stderr
    started = subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-w",
                                        "-l", str(folder / "server.log"), "-o",
                                        f"-k {folder} -c listen_addresses=''", "start"], **run)
    assert started.returncode == 0, started.stderr + (folder / "server.log").read_text()
    try:
        def database(name):
            with psycopg.connect(f"host={folder} user=grader dbname=postgres",
                                 autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            return f"postgresql://grader@/{name}?host={folder}"
        yield database
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "stop"], **run)
        shutil.rmtree(folder, ignore_errors=True)


CLASS = {"ann": "correct", "bob": "untouched", "cat": "bug"}


def _class_of(assignment, folder):
    correct = _solution_bodies(assignment)
    first = next(iter(correct))
    answers = {"correct": correct, "untouched": {},
               "bug": {**correct, first: _with_bug(assignment, first)}}
    folder.mkdir(parents=True)
    for student, kind in CLASS.items():
        nbformat.write(_submission(assignment, answers[kind]), str(folder / f"{student}.ipynb"))


def _csv_scores(path, key="score"):
    with open(path, newline="") as handle:
        return {row["student_id"]: float(row[key]) for row in csv.DictReader(handle)}


def test_two_graders_grade_two_chapters_into_one_postgres_gradebook_at_once(postgres, tmp_path):
    from nbgrader.api import Gradebook
    from coursetools.grade.gradebook import COURSE_ID, checked_url
    url = postgres("term")
    chapters = ["01_dot_product", "02_sigmoid"]
    graders = {}
    for assignment in chapters:
        _class_of(assignment, tmp_path / "in" / assignment)
        graders[assignment] = subprocess.Popen(
            [sys.executable, "-m", "coursetools.cli", "--repo", str(ROOT), "grade", assignment,
             str(tmp_path / "in" / assignment), "--out", str(tmp_path / assignment),
             "--db", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = {a: p.communicate(timeout=600)[0] for a, p in graders.items()}
    for assignment, process in graders.items():
        assert process.returncode == 0, outputs[assignment]
        assert "3 graded, 0 could not be graded" in outputs[assignment], outputs[assignment]
    assert not (tmp_path / chapters[0] / "gradebook.db").exists(), "no SQLite beside the server"

    with Gradebook(checked_url(url), COURSE_ID) as gb:
        for assignment in chapters:
            course = tmp_path / assignment
            grades = _csv_scores(course / "grades.csv")
            assert grades["ann"] > grades["cat"] > grades["bob"] == 0, grades
            exported = course / "export.csv"
            done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to",
                                   str(exported)], cwd=course, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            with open(exported, newline="") as handle:
                rows = list(csv.DictReader(handle))
            export = {r["student_id"]: float(r["raw_score"]) for r in rows
                      if r["assignment"] == assignment}
            assert export == grades, (assignment, export, grades)
            for student, score in grades.items():
                assert gb.find_submission(assignment, student).score == score
                page = (course / "feedback" / student / assignment /
                        f"{assignment}.html").read_text(encoding="utf-8")
                total = re.search(r"Score: ([\d.]+) / ([\d.]+)", page)
                assert float(total.group(1)) == score, (assignment, student)
        assert {a.name for a in gb.assignments} == set(chapters)
        assert {s.id for s in gb.students} == set(CLASS)
