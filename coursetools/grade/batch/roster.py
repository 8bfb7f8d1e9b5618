"""The class list an instructor may give `course grade` (``--roster roster.csv``).

A CSV with a header row: ``id`` (or ``student_id``), and optionally ``first_name``,
``last_name`` and ``email``. The ids are cleaned as submission file names are
(``submissions.student_id``), so ``Ann Lee`` in the roster is the ``Ann Lee.ipynb``
of the submissions. Formgrader then shows names instead of ids, and grades.csv has a
row for every student on the list, "no submission" for those who handed in nothing.
"""
import csv
from pathlib import Path

from coursetools.grade.batch.submissions import student_id

ID_COLUMNS = ("id", "student_id")
NAME_COLUMNS = ("first_name", "last_name", "email")
MAX_ROWS = 100_000


def read(path):
    """{student id: {first_name, last_name, email}} from the roster at ``path``; ValueError
    naming the problem (no id column, an empty id, two rows with one id)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read the roster {path}: {exc}") from None
    if len(rows) > MAX_ROWS:
        raise ValueError(f"the roster {path} has more than {MAX_ROWS:,} rows")
    columns = {(c or "").strip().lower(): c for c in (rows[0].keys() if rows else [])}
    id_column = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    if id_column is None:
        raise ValueError(f"the roster {path} has no id column: its header must name one of "
                         f"{', '.join(ID_COLUMNS)} (and may add {', '.join(NAME_COLUMNS)})")
    roster, seen = {}, {}
    for line, row in enumerate(rows, start=2):
        raw = (row.get(id_column) or "").strip()
        if not raw:
            raise ValueError(f"the roster {path} has no id on line {line}")
        student = student_id(raw)
        if student in seen:
            raise ValueError(f"the roster {path} has the id {student!r} twice (lines "
                             f"{seen[student]} and {line})")
        seen[student] = line
        roster[student] = {name: (row.get(columns[name]) or "").strip()[:200]
                           if name in columns else "" for name in NAME_COLUMNS}
    return roster
