"""Time limits per cell, from the reference solution's own times, measured on this machine
at the start of each batch: `course grade` grades the solution notebook as it grades a
student (``autograde.calibrate``), test cells decided by the grader included, and the
executor writes down each cell's seconds (``GradeOutsideKernel.timings``).

A cell may run ``timeouts.CELL_FACTOR`` times as long as the solution notebook's same cell did here,
and never less than ``timeouts.CELL_FLOOR``: a correct answer, even a slow one on a busy
machine, stays far inside its limit, while an endless loop costs seconds, not minutes.
A cell the reference does not have (one the student added or changed) gets the floor:
graded cells are known by their grade ids, so such a cell scores nothing either way.
"""
import hashlib
import json
from pathlib import Path

from coursetools.grade.timeouts import CELL_FACTOR, CELL_FLOOR



def cell_key(cell):
    """The graded cell's id, or for any other cell a digest of its source."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    return "source:" + hashlib.sha1(cell.source.strip().encode()).hexdigest()[:16]


def from_times(times):
    """{cell key: limit in whole seconds}, and the limit of a cell the reference lacks."""
    limits = {key: max(CELL_FLOOR, int(CELL_FACTOR * seconds + 0.999))
              for key, seconds in times.items()}
    return limits, CELL_FLOOR


def write(path, times):
    limits, other = from_times(times)
    Path(path).write_text(json.dumps({"reference_seconds": times, "limits": limits,
                                      "other": other}, indent=1), encoding="utf-8")
    return other


def read(path):
    """({cell key: limit}, limit of any other cell) from a file ``write`` made."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data["limits"], data["other"]
