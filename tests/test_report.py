"""The class report (coursetools.grade.batch.report): the checks' diagnoses counted over a class."""
import csv
import html
import re

import nbformat
import numpy as np
import pytest

from coursetools.grade.batch import report
from coursetools.grade.batch.autograde import Result
from nnlib.grading import check_dense, GradingError


def _message(student_dense):
    with pytest.raises(GradingError) as failure:
        check_dense(student_dense)
    return f"GradingError: {failure.value}"


def test_a_diagnosis_is_the_likely_bug_the_check_names_and_nothing_of_the_student_s():
    no_bias = _message(lambda X, W, b: np.asarray(X) @ np.asarray(W))
    assert report.diagnosis(no_bias) == "the bias is missing"
    assert "Your value" in no_bias      # the message has the student's numbers; the diagnosis not
    assert report.diagnosis("GradingError: dot is not implemented yet: it still raises "
                            "NotImplementedError") == report.NOT_ATTEMPTED
    assert report.diagnosis("GradingError: dot(array (3,), array (3,)) raised KernelGone: the "
                            "notebook's kernel ran past the time limit of 5 s") == report.OUT_OF_TIME
    assert report.diagnosis("GradingError: dot(array (3,)) raised ZeroDivisionError: "
                            "<script>") == "raises ZeroDivisionError"
    assert report.diagnosis("GradingError: dot is wrong at index 2") == report.NO_DIAGNOSIS


def _graded(folder, student, failures, answers=None):
    """A graded notebook whose test cells failed with ``failures`` {test id: message}, with
    ``answers`` {graded name: the answer cell's source}."""
    nb = nbformat.v4.new_notebook()
    for name, source in (answers or {}).items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": name, "solution": True}
        nb.cells.append(cell)
    for test, message in failures.items():
        cell = nbformat.v4.new_code_cell("check()")
        cell.metadata["nbgrader"] = {"grade_id": test, "grade": True, "points": 2}
        cell.outputs = [nbformat.v4.new_output("error", ename="GradingError", evalue=message,
                                               traceback=[])]
        nb.cells.append(cell)
    path = folder / "autograded" / student / "ch" / "ch.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))


def test_the_report_ranks_the_mistakes_by_the_points_they_cost_the_class(tmp_path):
    cell_max = {"test_dense": 3.0, "test_relu": 1.0}
    no_bias = "GradingError: dense(...) is wrong. Likely bug: the bias is missing."
    transposed = "GradingError: dense(...) is wrong. Likely bug: W is transposed."
    results = []
    import inspect

    import nnlib
    pasted = inspect.getsource(nnlib.dense)
    for student, failures, cells in [
            ("ann", {}, {"test_dense": 3, "test_relu": 1}),
            ("bob", {"test_dense": no_bias}, {"test_relu": 1}),
            ("cy", {"test_dense": no_bias, "test_relu": "relu raised TypeError: x"}, {}),
            ("<b>dee</b>", {"test_dense": transposed}, {"test_relu": 1})]:
        _graded(tmp_path, student, failures, {"dense": pasted} if student == "ann" else None)
        results.append(Result(student, score=sum(cells.values()), max_score=4, cells=cells,
                              integrity={"cy": [("test_dense", "<script>alert(1)</script>")],
                                         "ann": [("dense", "dense is nearly identical to nnlib's "
                                                  "reference (100% alike)")]}.get(student, [])))
    results.append(Result("eve", status="failed", reason="the file is not a readable notebook"))
    report.write(tmp_path, "ch", results, cell_max)

    rows = list(csv.DictReader(open(tmp_path / report.CSV, newline="")))
    assert [(r["function"], r["mistake"], r["students"], r["points_lost"]) for r in rows] == [
        ("dense", "the bias is missing", "2", "6"), ("dense", "W is transposed", "1", "3"),
        ("relu", "raises TypeError", "1", "1")]
    page = (tmp_path / report.HTML).read_text()
    reteach = re.search(r"<ol>(.*?)</ol>", page, re.S).group(1)
    assert reteach.index("the bias is missing") < reteach.index("W is transposed")
    assert "5 submission(s): 4 graded, 1 could not be graded" in page
    assert "the file is not a readable notebook" in page
    assert "<script>" not in page and "<b>dee</b>" not in page       # escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page          # the finding, as text
    assert "http" not in page.replace("http://www.w3.org", "")       # nothing to fetch
    assert page.count("<svg") >= 3        # the histogram and a bar per function
    copies = page[page.index("nnlib's own code, pasted"):]
    assert "ann: <code>dense</code> and nnlib's" in copies
    assert copies.count(html.escape(pasted.splitlines()[0])) == 2     # side by side


FIT = '''def fit(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    """Train."""
    params = nnlib.init_params(layer_sizes, seed)
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
            yhat, cache = nnlib.forward(X_batch, params)
            grads = nnlib.backward(X_batch, y_batch, params, cache)
            nnlib.sgd_step(params, grads, lr)
        yhat, _ = nnlib.forward(X, params)
        losses.append(nnlib.binary_cross_entropy(y, yhat))
    return params, losses
'''


def test_pairs_alike_beyond_renaming_are_found_and_the_common_answer_is_not():
    from coursetools.grade.batch import similarity
    renamed = (FIT.replace("params", "p").replace("losses", "history").replace("yhat", "out")
               .replace('"""Train."""', "# my own work"))
    own = FIT.replace("for epoch in range(epochs):", "epoch = 0\n    while epoch < epochs:\n"
                      "        epoch += 1").replace("losses.append(", "losses += [").replace(
        "(y, yhat))", "(y, yhat)]")
    common = FIT.replace("seed=0", "seed=1")
    sources = {"ann": FIT.replace("epoch in", "e in"), "bob": renamed, "cy": own,
               "dee": common, "eve": common, "fay": common, "gus": "def fit(X):\n    return 1\n"}
    pairs = similarity.alike_pairs(sources, "fit")
    assert [(a, b) for _, a, b in pairs] == [("ann", "bob")]
    assert pairs[0][0] >= similarity.ALIKE
    # the course's own solution is the common answer too
    assert similarity.alike_pairs(sources, "fit", reference=FIT) == []
    assert similarity.alike_pairs({"a": "not python (", "b": "def g(): pass"}, "fit") == []


def test_a_step_of_an_exercise_graded_in_steps_is_named_with_its_step():
    assert report._function("test_dense") == "dense"
    assert report._function("test_Value") == "Value"
    assert report._function("test_Value-engine") == "Value (engine)"
