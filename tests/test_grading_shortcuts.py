"""What `course grade` leaves out or renders once: demonstration cells no later cell needs
(coursetools.grade.demonstrations), and feedback pages built from what the slot rendered before
(coursetools.grade.worker.feedback)."""
import os
import re

import nbformat
import nbgrader
import pytest
from bs4 import BeautifulSoup, Comment
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from coursetools.grade import demonstrations
from coursetools.grade.limits import cell_key
from coursetools.grade.worker.feedback import FeedbackExporter, MISSING_ALT, readable
from nbtools import ASSIGNMENTS, nbgrader_meta, read, solution_path

NEVER = "never-skipped"       # `course grade` runs every cell, whatever its tags


def _answer(source, grade_id="f"):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                 "grade_id": grade_id, "schema_version": 3}
    return cell


def _skipped(cells, demos, tests=None):
    """The indices skipped when the cells at ``demos`` are the solution's demonstrations."""
    solution = new_notebook(cells=[cells[i] for i in demos])
    return set(demonstrations.skippable(cells, demonstrations.candidates(solution), tests or {},
                                        NEVER))


SETUP = new_code_cell("try:\n    import nnlib\nexcept ImportError:\n    %pip install nnlib\n"
                      "import numpy as np\n%matplotlib inline", metadata={"tags": ["course-setup"]})


def test_a_demonstration_runs_only_when_a_later_cell_reads_what_it_defines():
    demo = new_code_cell("x = np.linspace(0, 1, 5)\nprint(nnlib.sigmoid(x))")
    cells = [SETUP, demo, _answer("def f(a):\n    return a * 2")]
    assert _skipped(cells, [1]) == {1}
    for reader in ["def f(a):\n    return a * x.sum()",            # a global in a function
                   "class F:\n    scale = x\n",                        # in a class body
                   "y = [v for v in x]", "print(x)"]:
        assert _skipped([SETUP, demo, _answer(reader)], [1]) == set(), reader
    # a reader before the demonstration, or one that is skipped itself, does not count
    assert _skipped([SETUP, _answer("print(x)"), demo], [2]) == {2}
    later_demo = new_code_cell("print(x.max())")
    assert _skipped([SETUP, demo, later_demo, _answer("def f(a):\n    return a")], [1, 2]) == {1, 2}
    # the setup cell always runs
    assert _skipped([SETUP, demo], [0, 1]) == {1}


def test_a_demonstration_that_may_change_data_a_later_cell_reads_runs():
    data = new_code_cell("table = [3, 1, 2]")
    sorts = new_code_cell("table.sort()\nprint(table)")
    cells = [SETUP, data, sorts, _answer("def f():\n    return table[0]")]
    assert _skipped(cells, [2]) == set()
    # reading a module or a builtin that later cells read too is no reason to run
    plots = new_code_cell("print(np.pi, len([1]))")
    assert _skipped([SETUP, plots, _answer("def f(a):\n    return np.sum(a) + len(a)")],
                    [1]) == {1}


@pytest.mark.parametrize("reader", [
    "globals()['x']", "eval('x')", "print(Out)", "_", "import sys\nsys.modules['__main__'].x",
    "get_ipython().user_ns['x']", "%time y = x", "def f(:", "from math import *",
    "vars()['x']"])
def test_a_cell_read_dynamically_or_not_at_all_keeps_everything_before_it(reader):
    demo = new_code_cell("x = 1\nprint(x)")
    assert _skipped([SETUP, demo, _answer(reader)], [1]) == set()


def test_only_the_solutions_own_cells_unchanged_are_left_out():
    demo = new_code_cell("print(nnlib.sigmoid(0.0))")
    edited = new_code_cell("print(nnlib.sigmoid(0.0)) ; import os")
    solution = new_notebook(cells=[demo])
    assert demonstrations.skippable([SETUP, edited], demonstrations.candidates(solution), {},
                                    NEVER) == {}
    # a test cell reads what its source of record reads, whatever the submission shows
    test = new_code_cell("grading.check_f(f)")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_f", "points": 1}
    reads_demo = {"test_f": "grading.check_f(f, x)"}
    defines = new_code_cell("x = 2")
    assert _skipped([SETUP, defines, test], [1]) == {1}
    assert _skipped([SETUP, defines, test], [1], reads_demo) == set()


def test_a_cell_that_does_not_run_anyway_reads_nothing():
    demo = new_code_cell("x = 1")
    try_out = new_code_cell("print(f(x))", metadata={"tags": [NEVER]})
    assert _skipped([SETUP, demo, try_out], [1]) == {1}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_correct_notebook_runs_its_setup_answers_and_what_they_build_on(assignment):
    """Of every chapter's solution, all demonstrations and try-out cells are left out but
    chapter 8's Module, which the student's Neuron, Layer and MLP inherit from."""
    nb = read(solution_path(assignment))
    tests = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
             if nbgrader_meta(c).get("grade")}
    found = demonstrations.candidates(nb)
    skipped = demonstrations.skippable(nb.cells, found, tests, NEVER)
    kept = {cell_key(c) for i, c in enumerate(nb.cells) if cell_key(c) in found and i not in skipped}
    assert kept == ({cell_key(c) for c in nb.cells if c.source.startswith("class Module")}
                    if assignment == "08_autograd" else set())
    kinds = {skipped[i] for i in skipped}
    assert kinds == {demonstrations.DEMONSTRATION, demonstrations.TRY_OUT}
    for i, kind in skipped.items():
        assert (kind == demonstrations.TRY_OUT) == ("skip-execution" in nb.cells[i].metadata.get(
            "tags", [])), nb.cells[i].source[:60]


# ------------------------------------------------------------------ feedback pages

def _config():
    """nbgrader's settings for its feedback pages (GenerateFeedback sets them so)."""
    config = Config()
    templates = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions",
                             "formgrader", "templates")
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [templates]
    config.HTMLExporter.extra_template_paths = [os.path.join(
        templates, "..", "static", "node_modules", "bootstrap", "dist", "css")]
    return config


def _page(exporter_class, nb):
    """The page ``exporter_class`` renders; nbconvert's own with the course's additions
    (feedback.readable: test cells named, messages wrapped), for comparing."""
    page, _ = exporter_class(config=_config()).from_notebook_node(
        nb, {"metadata": {"name": "chapter"}, "nbgrader": {"notebook": "chapter", "score": 1, "max_score": 2,
                                                     "late_penalty": 0}})
    return page if exporter_class is FeedbackExporter else readable(page)


def _normal(page):
    """The page's markup with its whitespace evened out and its MathJax loader left out
    (the course's pages load the copy beside them, feedback.ship_mathjax; nbconvert's a CDN's)."""
    soup = BeautifulSoup(page, "html.parser")
    for script in soup.find_all("script"):
        if "mathjax" in (script.get("src", "") + script.get_text()).lower():
            script.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment) and "mathjax" in s.lower()):
        comment.extract()
    return re.sub(r"\s+", " ", str(soup))


def test_feedback_pages_are_nbconverts_and_every_image_has_an_alt_text():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    plot = new_code_cell("plt.plot(x)", outputs=[new_output("display_data", {"image/png": png})])
    nb = new_notebook(cells=[new_markdown_cell("# Chapter\nSome *math*: $x^2$ and `code`."),
                             new_code_cell("x = [1, 2]\nprint(x)",
                                           outputs=[new_output("stream", text="[1, 2]\n")]),
                             plot,
                             new_markdown_cell('An image: <img src="a.png" alt="a plot">')])
    nb.metadata["language_info"] = {"name": "python"}
    theirs = _page(HTMLExporter, nb)
    first, again = _page(FeedbackExporter, nb), _page(FeedbackExporter, nb)
    assert _normal(first) == _normal(theirs) == _normal(again)
    assert first.count(f'alt="{MISSING_ALT}"') == 1 and 'alt="a plot"' in first
    # a changed cell is rendered anew, not taken from what was remembered
    nb.cells[0].source = "# Another title"
    nb.cells[1].source = "y = 3"
    changed = _page(FeedbackExporter, nb)
    assert "Another title" in changed and "Some" not in changed
    assert _normal(changed) == _normal(_page(HTMLExporter, nb))


def test_feedback_pages_of_a_chapter_are_nbconverts():
    nb = nbformat.read(str(solution_path("04_forward")), as_version=4)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.metadata.nbgrader["score"] = 1        # as nbgrader's GetGrades sets it
    assert _normal(_page(FeedbackExporter, nb)) == _normal(_page(HTMLExporter, nb))
