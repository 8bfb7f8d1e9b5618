"""One source: the solution notebooks are well formed and the chapters are generated from them.

That the solutions pass every check and the stubs fail each one is tested where they are
graded (test_autograde.py).
"""
import json
import re

import pytest

from nbtools import (ASSIGNMENTS, ROOT, chapter_path, grade_cells, nbgrader_meta, read,
                     solution_cells, solution_path)
from coursetools.curriculum import CURRICULUM, grade_cell_ids
from coursetools.generate import generate

# a check call may pass the student's name and literal options: activation="tanh", hidden=True
CHECK_LINE = re.compile(r"^(from nnlib import grading"
                        r"|grading\.check_\w+\(\w+(, \w+=(\"\w+\"|True|False|\d+))*\)"
                        r"|### (BEGIN|END) HIDDEN TESTS)$")


@pytest.mark.parametrize("line, allowed", [
    ("from nnlib import grading", True),
    ("grading.check_dot(dot)", True),
    ("grading.check_dot(dot, hidden=True)", True),
    ('grading.check_Neuron(Neuron, activation="tanh", hidden=True)', True),
    ("### BEGIN HIDDEN TESTS", True),
    ("grading.check_dot(nnlib.dot)", False),
    ("grading.check_dot(dot); import os", False),
    ("grading.check_dot(dot, hidden=not False)", False),
    ("print(dot)", False),
])
def test_test_cell_lines_are_check_calls_with_literal_options_only(line, allowed):
    assert bool(CHECK_LINE.match(line)) is allowed


def test_assignments_are_the_curriculum_chapters():
    assert ASSIGNMENTS and set(ASSIGNMENTS) <= set(CURRICULUM)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_a_solution_and_a_test_cell(assignment):
    nb = read(solution_path(assignment))
    solutions = [nbgrader_meta(c)["grade_id"] for c in solution_cells(nb)]
    tests = [nbgrader_meta(c)["grade_id"] for c in grade_cells(nb)]
    assert solutions == CURRICULUM[assignment]
    assert tests == grade_cell_ids(assignment)
    for cell, name in zip(solution_cells(nb), CURRICULUM[assignment]):
        assert re.search(rf"^(def|class) {name}\b", cell.source, re.M), name
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_only_call_nnlib_grading(assignment):
    for cell in grade_cells(read(solution_path(assignment))):
        meta = nbgrader_meta(cell)
        assert meta["locked"] and meta["points"] > 0
        assert cell.metadata.get("tags") == ["raises-exception", "remove-output"], meta["grade_id"]
        lines = cell.source.strip().splitlines()
        assert all(CHECK_LINE.match(line) for line in lines), cell.source
        assert "hidden=True" in cell.source, f"{meta['grade_id']} has no hidden test"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_total_points_stated_at_the_top(assignment):
    nb = read(solution_path(assignment))
    total = sum(nbgrader_meta(c)["points"] for c in grade_cells(nb))
    title = nb.cells[0].source
    assert re.search(rf"\*\*Total points: {total:g}\*\*", title), (total, title[:200])


def test_chapters_are_what_generation_produces(tmp_path):
    generate(ROOT, ASSIGNMENTS, release_directory=str(tmp_path))
    for assignment in ASSIGNMENTS:
        produced = json.loads((tmp_path / assignment / f"{assignment}.ipynb").read_text())
        committed = json.loads(chapter_path(assignment).read_text())
        assert produced == committed, (f"chapters/{assignment} is out of date: run "
                                       f"`course generate {assignment}` and commit it")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chapter_has_no_solutions_or_hidden_tests(assignment):
    for cell in solution_cells(read(chapter_path(assignment))):
        assert "raise NotImplementedError()" in cell.source
    raw = chapter_path(assignment).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True"):
        assert marker not in raw
    setup = [c for c in read(chapter_path(assignment)).cells
             if "course-setup" in c.metadata.get("tags", [])]
    assert len(setup) == 1 and "%pip install" in setup[0].source
    assert nbgrader_meta(setup[0])["locked"]


def test_ungraded_docs_notebooks_have_no_grading(tmp_path):
    for path in (ROOT / "docs").glob("*.ipynb"):
        nb = read(path)
        assert not any(nbgrader_meta(c) for c in nb.cells), path.name


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_cell_of_a_solution_runs_without_an_error(assignment):
    """Try-out cells (tagged skip-execution) included: the book skips them, and grading
    leaves them out when nothing needs them (coursetools.grade.demonstrations), so they run here."""
    from nbclient import NotebookClient
    nb = read(solution_path(assignment))
    NotebookClient(nb, timeout=300, skip_cells_with_tag="never-skipped", kernel_name="python3",
                   resources={"metadata": {"path": str(solution_path(assignment).parent)}}).execute()
    failed = [(c.source[:60], o.get("ename")) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not failed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_what_the_text_allows_of_nnlib_is_what_the_checks_allow(assignment):
    """Where a chapter says which of nnlib's functions a solution may use, it names every
    building block the checks allow (nnlib.grading.core.BUILDS_ON), in backticks."""
    from nnlib.grading.core import BUILDS_ON
    texts = [c.source for c in read(solution_path(assignment)).cells
             if c.cell_type == "markdown" and re.search(r"may use nnlib|Build it on nnlib", c.source)]
    allowed = {block for name in CURRICULUM[assignment] for block in BUILDS_ON.get(name, ())}
    if not texts:
        return
    named = set(re.findall(r"`(?:nnlib\.)?(\w+)`", " ".join(texts)))
    assert allowed <= named, sorted(allowed - named)


def test_the_instructor_guide_states_each_chapter_s_graded_names_and_points():
    """The guide's table of chapters ("Teaching the course") agrees with the notebooks."""
    guide = (ROOT / "docs" / "instructor_guide.md").read_text(encoding="utf-8")
    rows = [line for line in guide.splitlines() if re.match(r"^\| \d\. ", line)]
    assert len(rows) == len(ASSIGNMENTS)
    for row, assignment in zip(rows, ASSIGNMENTS):
        nb = read(solution_path(assignment))
        title = nb.cells[0].source.splitlines()[0].split(": ", 1)[1]
        assert row.startswith(f"| {int(assignment[:2])}. {title} |"), (row, title)
        points = {}
        for cell in grade_cells(nb):
            name = nbgrader_meta(cell)["grade_id"][len("test_"):].partition("-")[0]
            points[name] = points.get(name, 0) + nbgrader_meta(cell)["points"]
        stated = dict(re.findall(r"`(\w+)` (\d+)", row))
        assert {n: int(p) for n, p in stated.items()} == points, assignment
        assert f"({sum(points.values())})" in row
