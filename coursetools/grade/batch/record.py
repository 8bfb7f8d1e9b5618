"""The class's record in a grading folder: ``grades.csv`` and ``integrity.csv`` hold the
whole class, whatever batch was graded last.

Late submissions are often graded in a batch of their own, into the same folder. Each
batch replaces the rows of its own students and keeps everyone else's: a graded student's
scores are read back from the gradebook (nbgrader's record, which formgrader may have
changed since), a student who could not be graded keeps the row that says why.
"""
import csv
from pathlib import Path

from coursetools.grade import gradebook
from coursetools.grade.batch import plain, tampering

GRADES = "grades.csv"
MISSING = "missing"     # the status of a student on the roster who handed in nothing
INTEGRITY = "integrity.csv"
_FIXED = ("student_id", "status", "score", "max_score")


def read_grades(path):
    """{student: row dict} of an earlier grades.csv; nothing when there is none."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows = [{key: plain.from_csv_cell(value or "") for key, value in row.items()} for row in rows]
    return {row["student_id"]: row for row in rows if row.get("student_id")}


def read_integrity(path):
    """{student: [(cell, what)]} of an earlier integrity.csv."""
    path = Path(path)
    found = {}
    if not path.is_file():
        return found
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            cell, what = (plain.from_csv_cell(row.get(k) or "") for k in ("cell", "what"))
            found.setdefault(plain.from_csv_cell(row.get("student_id") or ""), []).append(
                (cell, what))
    return found


def whole_class(workdir, assignment, db_url, results, make_result, roster=()):
    """Every student of the folder's record: this batch's ``results`` first-hand, the others
    from the gradebook (graded) or from the earlier grades.csv (could not be graded), each
    with the integrity findings recorded for them, and everyone else on the ``roster`` as
    "missing". ``make_result(student)`` makes an empty Result. Sorted by student id."""
    workdir = Path(workdir)
    earlier = read_grades(workdir / GRADES)
    findings = read_integrity(workdir / INTEGRITY)
    fresh = {r.student: r for r in results}
    everyone = dict(fresh)
    cell_max, total = gradebook.max_scores(db_url, assignment)
    for student, row in earlier.items():
        if student in fresh or row.get("status") == MISSING:
            continue
        result = make_result(student)
        result.max_score = total
        result.integrity = findings.get(student, [])
        _, graded = gradebook.intact_and_scores(db_url, assignment, student)
        if graded is not None:
            result.score, result.cells = graded
            result.reason = row.get("reason", "") if row.get("status") == "graded" else ""
        else:
            result.status = "failed"
            result.reason = row.get("reason") or "no grade in the gradebook"
        everyone[student] = result
    for student in set(roster) - set(everyone):
        result = make_result(student)
        result.status, result.reason, result.max_score = MISSING, "no submission", total
        everyone[student] = result
    return [everyone[s] for s in sorted(everyone)], cell_max


def write(workdir, results, cell_max):
    """grades.csv and integrity.csv of ``results`` (the whole class)."""
    workdir = Path(workdir)
    columns = [*_FIXED, *cell_max, "reason"]
    with open(workdir / GRADES, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([plain.csv_cell(c) for c in columns])
        for r in sorted(results, key=lambda r: r.student):
            writer.writerow([plain.csv_cell(r.student), r.status, f"{r.score:g}",
                             f"{r.max_score:g}", *(f"{r.cells.get(c, 0.0):g}" for c in cell_max),
                             plain.csv_cell(r.reason)])
    tampering.write_csv(workdir / INTEGRITY, {r.student: r.integrity for r in results})
