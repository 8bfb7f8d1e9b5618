"""Time limits per cell, from the reference solution's own times, measured on this machine
at the start of each batch.

A cell may run ``FACTOR`` times as long as the solution notebook's same cell did here,
and never less than ``FLOOR_SECONDS``: a correct answer, even a slow one on a busy
machine, stays far inside its limit, while an endless loop costs seconds, not minutes.
A cell the reference does not have (one the student added or changed) gets the floor:
graded cells are known by their grade ids, so such a cell scores nothing either way.
"""
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

FLOOR_SECONDS = 5
FACTOR = 20


def cell_key(cell):
    """The graded cell's id, or for any other cell a digest of its source."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    return "source:" + hashlib.sha1(cell.source.strip().encode()).hexdigest()[:16]


def measure(notebook_path, slot=0, sandboxed=True, timeout=600, log_path=os.devnull,
            nnlib_copy=None):
    """{cell key: seconds} for every code cell of the notebook (the instructor's), run in a
    kernel like the students': in the sandbox (with ``nnlib_copy``, see coursetools.exam)
    unless ``sandboxed`` is False. The kernel's
    own output goes to ``log_path``; RuntimeError when the notebook cannot be run."""
    from nbclient import NotebookClient

    from coursetools.execute import SandboxedKernelManager
    from coursetools.sandbox import Sandbox
    nb = nbformat.read(str(notebook_path), as_version=4)
    scratch = Path(tempfile.mkdtemp(prefix="course-reference-"))
    os.chmod(scratch, 0o755)
    work = scratch / "work"
    times, sandbox = {}, None
    try:
        work.mkdir(parents=True)
        sandbox = Sandbox(work, slot, nnlib_copy=nnlib_copy).prepare() if sandboxed else None
        km = SandboxedKernelManager(sandbox=sandbox).use_folder(work)
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(work)}})
        with open(log_path, "w") as log, client.setup_kernel(cwd=str(work), stdout=log,
                                                             stderr=log):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or "skip-execution" in cell.metadata.get("tags", []):
                    continue
                started = time.perf_counter()
                client.execute_cell(cell, index)
                times[cell_key(cell)] = time.perf_counter() - started
    except Exception as exc:
        raise RuntimeError(f"could not time the solution notebook {notebook_path} "
                           f"({type(exc).__name__}: {exc}); see {log_path}") from None
    finally:
        if sandbox is not None:
            sandbox.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return times


def from_times(times):
    """{cell key: limit in whole seconds}, and the limit of a cell the reference lacks."""
    limits = {key: max(FLOOR_SECONDS, int(FACTOR * seconds + 0.999))
              for key, seconds in times.items()}
    return limits, FLOOR_SECONDS


def write(path, times):
    limits, other = from_times(times)
    Path(path).write_text(json.dumps({"reference_seconds": times, "limits": limits,
                                      "other": other}, indent=1), encoding="utf-8")
    return other


def read(path):
    """({cell key: limit}, limit of any other cell) from a file ``write`` made."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data["limits"], data["other"]
