"""Helpers shared by the notebook and pipeline tests."""
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if p.is_dir() and re.match(r"^\d\d_", p.name))


def solution_path(assignment):
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def chapter_path(assignment):
    return ROOT / "chapters" / assignment / f"{assignment}.ipynb"


def read(path):
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade")]


def solution_cells(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")]


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream")


def run_cell(source, filename, namespace):
    """Run a notebook cell's ``source`` in ``namespace`` as IPython does: its text is kept
    in linecache under ``filename``, so inspect.getsource finds what it defines."""
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
