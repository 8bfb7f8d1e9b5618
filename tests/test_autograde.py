"""End to end: a class of submissions graded by `course grade` in a temporary course folder.

Every submission is made from the committed student notebook, filled in the way a
student would: the reference solution, a realistic bug in one function, or
something hostile. The batch must finish and each score must be exactly right.
"""
import copy
import csv
import json
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursetools.curriculum import CURRICULUM
from coursetools.grade.batch.autograde import grade_class
from coursetools.grade.worker.execute import NOT_RUN
from nbtools import (ASSIGNMENTS, ROOT, chapter_path, errors, nbgrader_meta, read, run_cell,
                     solution_path, text)
from remotetools import cell_passes, student_process

# One realistic bug per graded function: the body that replaces the solution.
BUGS = {
    "dot_loop": "total = 0.0\nfor i in range(len(x) - 1):\n    total += x[i] * w[i]\nreturn total",
    "dot": "return float(np.sum(np.asarray(x) + np.asarray(w)))",
    "cosine_similarity": "return float(np.dot(x, w))",
    "most_similar": "return int(np.argmin(np.asarray(candidates) @ np.asarray(x)))",
    "neuron": "return float(np.dot(x, w))",
    "dense": "return np.asarray(X) @ np.asarray(W)",
    "sigmoid": "return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))",
    "sigmoid_derivative": "z = np.asarray(z, dtype=float)\nreturn z * (1 - z)",
    "relu": "return np.abs(z)",
    "relu_derivative": "return (np.asarray(z) >= 0).astype(float)",
    "tanh_derivative": "return 1 - np.tanh(z)",
    "numerical_derivative": "return (f(x + h) - f(x)) / h",
    "numerical_gradient": ("grad = np.zeros(x.shape)\nfor i in np.ndindex(x.shape):\n"
                           "    old = x[i]\n    x[i] = old + h\n    up = f(x)\n"
                           "    x[i] = old - h\n    down = f(x)\n    x[i] = old\n"
                           "    grad[i] = (up - down) / h\nreturn grad"),
    "rel_error": ("a, b = np.asarray(a, float), np.asarray(b, float)\n"
                  "return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))"),
    "expression_grads": 'return {"dL/da": f * a, "dL/db": f * b, "dL/dc": f, "dL/df": a * b + c}',
    "load_and_split": ("X, y = load_breast_cancer(return_X_y=True)\n"
                       "X = StandardScaler().fit_transform(X)\n"
                       "return train_test_split(X, y, test_size=test_size, "
                       "random_state=random_state)"),
    "init_params": ("rng = np.random.default_rng(seed)\nparams = {}\n"
                    "for l in range(1, len(layer_sizes)):\n"
                    "    params[f'W{l}'] = rng.standard_normal((layer_sizes[l], layer_sizes[l - 1]))\n"
                    "    params[f'b{l}'] = np.zeros(layer_sizes[l])\nreturn params"),
    "forward": ("A, cache = X, {}\nfor l in range(1, len(params) // 2 + 1):\n"
                "    Z = A @ params[f'W{l}'] + params[f'b{l}']\n    A = nnlib.sigmoid(Z)\n"
                "    cache[f'Z{l}'], cache[f'A{l}'] = Z, A\nreturn A, cache"),
    "mse_loss": "return float(np.mean((yhat - y) ** 2))",
    "binary_cross_entropy": ("y, p = np.ravel(y), np.ravel(yhat)\n"
                             "return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))"),
    "neuron_backward": ("pred = float(nnlib.sigmoid(np.dot(x, w) + b))\n"
                        "return 2 * (pred - y) * np.asarray(x), 2 * (pred - y)"),
    "backward": ("L = len(params) // 2\ndZ = cache[f'A{L}'] - np.reshape(y, (-1, 1))\ngrads = {}\n"
                 "for l in range(L, 0, -1):\n    A_prev = X if l == 1 else cache[f'A{l - 1}']\n"
                 "    grads[f'dW{l}'] = A_prev.T @ dZ\n    grads[f'db{l}'] = dZ.sum(axis=0)\n"
                 "    if l > 1:\n        dZ = dZ @ params[f'W{l}'].T * (cache[f'Z{l - 1}'] > 0)\n"
                 "return grads"),
    "sgd_step": "return {key: p - lr * grads[key] for key, p in params.items()}",
    "momentum_step": ("for key in params:\n    velocity[key] = beta * velocity[key] + (1 - beta) * grads[key]\n"
                      "    params[key] -= lr * velocity[key]\nreturn params, velocity"),
    "adam_step": ("if not state:\n    state.update(m={k: 0.0 for k in params}, v={k: 0.0 for k in params}, t=0)\n"
                  "state['t'] += 1\nfor k in params:\n"
                  "    state['m'][k] = beta1 * state['m'][k] + (1 - beta1) * grads[k]\n"
                  "    state['v'][k] = beta2 * state['v'][k] + (1 - beta2) * grads[k] ** 2\n"
                  "    params[k] -= lr * state['m'][k] / (np.sqrt(state['v'][k]) + eps)\n"
                  "return params, state"),
    "iterate_minibatches": ("order = rng.permutation(len(X))\n"
                            "return [(X[order[s:s + batch_size]], y[order[s:s + batch_size]])\n"
                            "        for s in range(0, len(X) - batch_size + 1, batch_size)]"),
    "train_sgd": ("rng = np.random.default_rng(seed)\nw = rng.standard_normal(X_train.shape[1])\n"
                  "b = float(rng.standard_normal())\ntrain_losses, test_losses = [], []\n"
                  "for _ in range(iterations):\n    i = rng.integers(len(X_train))\n"
                  "    pred = float(nnlib.sigmoid(X_train[i] @ w + b))\n"
                  "    train_losses.append((pred - y_train[i]) ** 2)\n"
                  "    dz = 2 * (pred - y_train[i]) * pred * (1 - pred)\n"
                  "    w, b = w - lr * dz * X_train[i], b - lr * dz\n"
                  "    test_pred = nnlib.sigmoid(X_test @ w + b)\n"
                  "    test_losses.append(float(np.mean((test_pred - y_test) ** 2)))\n"
                  "return {'w': w, 'b': b}, train_losses, test_losses"),
    "fit": ("params = nnlib.init_params(layer_sizes, seed)\nrng = np.random.default_rng(seed)\n"
            "losses = []\nfor _ in range(epochs):\n"
            "    for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):\n"
            "        yhat, cache = nnlib.forward(X_batch, params)\n"
            "        losses.append(nnlib.binary_cross_entropy(y_batch, yhat))\n"
            "        grads = nnlib.backward(X_batch, y_batch, params, cache)\n"
            "        for key in params:\n            params[key] -= lr * grads['d' + key]\n"
            "return params, losses"),
    "predict": "return nnlib.forward(X, params)[0].ravel()",
    "accuracy": "return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))",
    "softmax": "E = np.exp(np.asarray(Z, dtype=float))\nreturn E / E.sum(axis=1, keepdims=True)",
    "one_hot": "return np.eye(int(np.max(y)) + 1)[np.asarray(y)]",
    "cross_entropy": ("picked = probs[np.arange(len(y)), y]\n"
                      "return float(-np.sum(np.log(np.clip(picked, 1e-12, 1.0))))"),
    "softmax_cross_entropy_backward": "return probs - nnlib.one_hot(y, probs.shape[1])",
    "kaiming_init": "return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_out)",
    # a class has one solution region per method: (which region, its buggy body)
    "Value": (6, "out = Value(math.log(self.data), (self,), 'log')\n\ndef _backward():\n"
                 "    self.grad += self.data * out.grad\nout._backward = _backward\nreturn out"),
    "Neuron": (1, "total = self.b\nfor wi, xi in zip(self.w, x):\n    total = total + wi * xi\n"
                  "return total"),
    "Layer": (1, "return [n(x) for n in self.neurons]"),
    "SoftmaxMLP": (3, "activations, probs = self._forward(X)\n"
                      "dZ = nnlib.softmax_cross_entropy_backward(probs, y)\ngrads = {}\n"
                      "for l in range(len(self.layer_sizes) - 1, 0, -1):\n"
                      "    W = self.params[f'W{l}']\n"
                      "    grads[f'W{l}'] = activations[l - 1].T @ dZ\n"
                      "    grads[f'b{l}'] = dZ.sum(axis=0)\n"
                      "    if l > 1:\n        dZ = (dZ @ W.T) * (activations[l - 1] > 0)\n"
                      "return grads"),
    "MLP": (0, "sizes = [nin] + list(nouts)\n"
               "self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=False) for i in range(len(nouts))]"),
}
# A Layer is made of the student's Neurons and an MLP of their Layers: a bug in the part is a
# bug in the whole, so these tests fail with it.
ALSO_BROKEN = {"Neuron": ("Layer", "MLP"), "Layer": ("MLP",)}
# An exercise graded in steps: its bug fails the steps it is in, not the name's first cell
# (Value's is in log(), step 3, and so step 4, all of it together, fails too; SoftmaxMLP's is
# in gradients, step 2, and step 3 follows fit along those gradients).
FAILS = {"Value": ("Value-functions", "Value-engine"),
         "SoftmaxMLP": ("SoftmaxMLP-gradients",)}      # its bug is in gradients: step 2


def _broken_by(name):
    """The test cells (grade ids without test_) that ``name``'s realistic bug fails."""
    return {*FAILS.get(name, (name,)), *ALSO_BROKEN.get(name, ())}
CELL_TIMEOUT, SUBMISSION_TIMEOUT = 10, 60


def _solution_bodies(assignment):
    """grade_id -> the solution cell exactly as the solution notebook has it, markers removed."""
    bodies = {}
    for cell in read(solution_path(assignment)).cells:
        if nbgrader_meta(cell).get("solution"):
            lines = [ln for ln in cell.source.splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            bodies[nbgrader_meta(cell)["grade_id"]] = "\n".join(lines)
    return bodies


def _with_bug(assignment, name):
    """The solution cell of ``name`` with the code between (one pair of) markers replaced by its bug."""
    region, bug = BUGS[name] if isinstance(BUGS[name], tuple) else (0, BUGS[name])
    for cell in read(solution_path(assignment)).cells:
        if nbgrader_meta(cell).get("grade_id") == name:
            match = list(re.finditer(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION",
                                     cell.source, re.S | re.M))[region]
            indent = match.group(1)
            body = "\n".join(indent + line if line else line for line in bug.splitlines())
            return cell.source[:match.start()] + body + cell.source[match.end():]
    raise KeyError(name)


def _submission(assignment, answers, edit=None, release=None):
    """The student notebook (chapters/, or the one at ``release``) with ``answers`` filled in."""
    nb = read(release or chapter_path(assignment))
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    if edit:
        edit(nb)
    return nb


def _points(assignment):
    return {nbgrader_meta(c)["grade_id"][len("test_"):]: nbgrader_meta(c)["points"]
            for c in read(solution_path(assignment)).cells if nbgrader_meta(c).get("grade")}


def _grade(tmp_path, assignment, submissions, cell_timeout=CELL_TIMEOUT, **options):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student, nb in submissions.items():
        if isinstance(nb, str):
            (folder / f"{student}.ipynb").write_text(nb)
        else:
            nbformat.write(nb, str(folder / f"{student}.ipynb"))
    lines = []
    results = grade_class(ROOT, assignment, folder, tmp_path / "course", cell_timeout,
                          SUBMISSION_TIMEOUT, out=lines.append, **options)
    return {r.student: r for r in results}, "\n".join(lines)


def _csv(tmp_path):
    with open(tmp_path / "course" / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_every_graded_name_of_a_chapter_has_a_realistic_bug():
    assert {name for a in ASSIGNMENTS for name in CURRICULUM[a]} <= set(BUGS)


def _lecture_namespace(assignment):
    """The solution notebook's code run in this process, as a kernel runs it at grading time
    (every cell except the test cells and the try-it cells, which call the student's code)."""
    namespace = {}
    for cell in read(solution_path(assignment)).cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("grade") and (
                "skip-execution" not in tags or nbgrader_meta(cell).get("solution")):
            run_cell(cell.source, f"<{assignment} cell {cell.id}>", namespace)
    return namespace


def _test_cell_scores(assignment, namespace):
    """grade id -> True when the test cell (visible and hidden checks) passes in ``namespace``."""
    scores = {}
    for cell in read(solution_path(assignment)).cells:
        if nbgrader_meta(cell).get("grade"):
            try:
                exec(compile(cell.source, f"<{assignment} test cell>", "exec"), dict(namespace))
            except AssertionError:
                scores[nbgrader_meta(cell)["grade_id"][len("test_"):]] = False
            else:
                scores[nbgrader_meta(cell)["grade_id"][len("test_"):]] = True
    return scores


def _remote_test_cell_scores(assignment, namespace):
    """Like _test_cell_scores, with each test cell run here and ``namespace`` in a student
    process of its own, as `course grade` runs them (coursetools.grade.protocol.remote)."""
    scores = {}
    with student_process(namespace) as connection:
        for cell in read(solution_path(assignment)).cells:
            if nbgrader_meta(cell).get("grade"):
                ok, _ = cell_passes(cell.source, connection)
                scores[nbgrader_meta(cell)["grade_id"][len("test_"):]] = ok
    return scores


@pytest.mark.parametrize("where", ["in-process", "verdict-outside"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_realistic_bug_costs_its_own_points_and_no_others(assignment, where, monkeypatch,
                                                               capsys):
    """Each bug, alone in an otherwise correct notebook: its test cell fails (with the cells
    that are made of it, ALSO_BROKEN), every other one passes. In-process, as in a student's
    kernel, with the fixed hidden inputs; and with the verdict outside the student's process,
    as `course grade` decides it, with hidden inputs drawn from a grading secret (40 secrets
    were tried once by hand, all alike). The grading pipeline itself is exercised below with
    all bugs at once."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nnlib.grading import core
    if where == "verdict-outside":
        monkeypatch.setattr(core, "_SECRET", ["a grading folder's secret"])
        scores_of = _remote_test_cell_scores
    else:
        monkeypatch.setattr(core, "_SECRET", [])
        scores_of = _test_cell_scores
    monkeypatch.chdir(solution_path(assignment).parent)
    namespace = _lecture_namespace(assignment)
    plt.close("all")
    assert all(scores_of(assignment, namespace).values())
    solutions = [c for c in read(solution_path(assignment)).cells if nbgrader_meta(c).get("solution")]
    for name in CURRICULUM[assignment]:
        buggy = dict(namespace)
        for cell in solutions:   # all of them again, so every function's globals are ``buggy``
            grade_id = nbgrader_meta(cell)["grade_id"]
            source = _with_bug(assignment, name) if grade_id == name else cell.source
            run_cell(source, f"<{grade_id} with {name}'s bug>", buggy)
        with warnings.catch_warnings(), np.errstate(all="ignore"):   # what a bug may cause
            warnings.simplefilter("ignore")
            scores = scores_of(assignment, buggy)
        assert {n for n, ok in scores.items() if not ok} == _broken_by(name), name
    capsys.readouterr()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_scores_are_exact_for_correct_stub_and_all_bugs(assignment, tmp_path):
    correct = _solution_bodies(assignment)
    points = _points(assignment)
    total = sum(points.values())
    submissions = {"correct": _submission(assignment, correct),
                   "untouched": _submission(assignment, {}),
                   "all_bugs": _submission(assignment, {name: _with_bug(assignment, name)
                                                        for name in CURRICULUM[assignment]})}
    results, log = _grade(tmp_path, assignment, submissions)

    assert results["correct"].score == total and results["correct"].status == "graded"
    assert results["untouched"].score == 0 and results["untouched"].status == "graded"
    bugs = results["all_bugs"]
    assert bugs.status == "graded", bugs.reason
    broken = set().union(*(_broken_by(name) for name in CURRICULUM[assignment]))
    assert bugs.score == sum(p for test, p in points.items() if test not in broken)
    assert set(bugs.cells) == {f"test_{test}" for test in points}
    assert all(bugs.cells[f"test_{test}"] == 0 for test in broken)
    rows = _csv(tmp_path)
    assert float(rows["correct"]["score"]) == total
    assert float(rows["correct"]["max_score"]) == total
    assert set(rows) == set(submissions)
    assert f"[{len(submissions)}/{len(submissions)}]" in log
    honest_log = (tmp_path / "course" / "logs" / "correct.log").read_text()
    assert "checksum" not in honest_log and "Warning" not in honest_log, honest_log  # quiet

    graded = tmp_path / "course" / "autograded"
    for cell in read(graded / "correct" / assignment / f"{assignment}.ipynb").cells:
        # every cell ran without an error or was left out as a demonstration or try-out
        # (test_demonstrations_run_where_a_submission_needs_them), and every check,
        # hidden ones included, printed its one ✓ line
        assert not errors(cell), (cell.source[:80], [e.evalue for e in errors(cell)])
        if cell.cell_type == "code" and not nbgrader_meta(cell):
            assert (text(cell) in NOT_RUN_TEXTS) == (not cell.source.startswith(
                ("class Module", "import"))), cell.source[:80]
        if nbgrader_meta(cell).get("grade"):
            assert text(cell).count("✓") == cell.source.count("grading.check_"), cell.source
    for cell in read(graded / "untouched" / assignment / f"{assignment}.ipynb").cells:
        if nbgrader_meta(cell).get("grade"):    # each check says the stub is not implemented
            assert errors(cell) and "not implemented" in errors(cell)[0].evalue, cell.source
        elif nbgrader_meta(cell).get("solution"):
            assert not errors(cell), "defining a stub must not fail"


NOT_RUN_TEXTS = {output["text"] for output in NOT_RUN.values()}


def test_demonstrations_run_where_a_submission_needs_them(tmp_path):
    """Chapter 1: a correct notebook's demonstrations and try-outs are left out, and the
    notebook says so in their place; an answer that reads a demonstration's variable gets
    that demonstration run and keeps its points; with run_demonstrations every cell runs,
    try-outs of the solution included, without an error."""
    assignment, correct = "01_dot_product", _solution_bodies("01_dot_product")
    total = sum(_points(assignment).values())
    reads_x = {**correct, "dot": correct["dot"] + "\n\nprint('x is still', x)"}
    results, _ = _grade(tmp_path, assignment, {"correct": _submission(assignment, correct),
                                               "reads_x": _submission(assignment, reads_x)})
    assert results["correct"].score == results["reads_x"].score == total
    graded = tmp_path / "course" / "autograded"

    def outputs(student):
        nb = read(graded / student / assignment / f"{assignment}.ipynb")
        return {c.source: text(c) for c in nb.cells if c.cell_type == "code"}
    defines_x = [s for s in outputs("correct") if s.startswith("x = np.array([1.0, 2.0])")]
    assert len(defines_x) == 2             # the two demonstrations that define x
    for source in defines_x:
        assert outputs("correct")[source] in NOT_RUN_TEXTS
        ran = outputs("reads_x")[source]      # up to its call of an answer nnlib leaves out
        assert ran not in NOT_RUN_TEXTS and ("x =" in ran or "stopped here when grading" in ran)
    assert "x is still [1. 2.]" in outputs("reads_x")[reads_x["dot"]]
    feedback = (tmp_path / "course" / "feedback" / "correct" / assignment
                / f"{assignment}.html").read_text()
    assert "not run when grading" in feedback

    shutil.rmtree(tmp_path / "submissions")
    results, _ = _grade(tmp_path, assignment, {"correct": _submission(assignment, correct)},
                        run_demonstrations=True)
    assert results["correct"].score == total
    nb = read(graded / "correct" / assignment / f"{assignment}.ipynb")
    for cell in nb.cells:
        assert not errors(cell), (cell.source[:80], [e.evalue for e in errors(cell)])
        assert cell.cell_type != "code" or text(cell) not in NOT_RUN_TEXTS, cell.source[:80]
    try_outs = {c.source for c in read(solution_path(assignment)).cells
                if "skip-execution" in c.metadata.get("tags", [])}
    ran = [text(c) for c in nb.cells if c.source in try_outs]
    assert len(ran) == len(try_outs) > 0 and all(ran)


def _tag_tests(nb):
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.metadata["tags"] = ["skip-execution", "raises-exception"]
            cell.source = "pass"
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True


def _delete_test_of(name):
    def edit(nb):
        nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != f"test_{name}"]
    return edit


def _duplicate_test_of(name):
    def edit(nb):
        index = next(i for i, c in enumerate(nb.cells)
                     if nbgrader_meta(c).get("grade_id") == f"test_{name}")
        duplicate = copy.deepcopy(nb.cells[index])
        duplicate["id"] = "duplicate"          # as Jupyter does when a cell is copied
        nb.cells.insert(index, duplicate)
    return edit


def _race_first(source):
    """The submission edit that runs ``source`` first (after the setup cell) and prints
    ``tried`` last."""
    def edit(nb):
        nb.cells.insert(2, nbformat.v4.new_code_cell(source))
        nb.cells.append(nbformat.v4.new_code_cell("print(sorted(tried))"))
    return edit


def _appended(*sources):
    def edit(nb):
        nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return edit


def _edit_test_of(name):
    def edit(nb):
        for cell in nb.cells:
            if nbgrader_meta(cell).get("grade_id") == f"test_{name}":
                cell.source = "print('✓ dense: 9 checks passed')"
    return edit


# Reaches IPython's shell by a route no list names, then silences and rewrites test cells.
SHELL_BY_ANOTHER_ROUTE = """
shell = [o for o in __import__('g' + 'c').get_objects()
         if type(o).__name__.endswith('InteractiveShell')][0]
shell.input_transformers_cleanup.append(lambda lines: ['pass\\n'])
shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
shell.showtraceback = lambda *args, **kwargs: None
"""
PATCHED_NUMPY = """
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
setattr(np, "array_equal", lambda *args, **kwargs: True)
"""
FORK_BOMB = """
import os, time
forked = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        forked += 1
except OSError:
    print('fork refused after', forked)
"""
MEMORY = """
try:
    hog = bytearray(6 * 2 ** 30)
except MemoryError:
    print('memory refused')
"""


#: routes to nnlib's dense that no list of forbidden calls anticipates; the sandbox's nnlib
#: (coursetools.grade.exam) has none to give
LAUNDERED_REFERENCE = {
    "trace_off": ("import nnlib, sys\ndef dense(X, W, b):\n"
                  "    getattr(sys, 'set' + 'trace')(None)\n    return nnlib.dense(X, W, b)"),
    "renamed_code": ("import nnlib, types\nfrom nnlib import vectors\n"
                     "dense = types.FunctionType(vectors.dense.__code__.replace("
                     "co_filename='<mine>'), vectors.__dict__, 'dense')"),
    "copied_package": ("import nnlib, os, shutil, sys\n"
                       "shutil.copytree(os.path.dirname(nnlib.__file__), 'mine/nnlib_copy')\n"
                       "sys.path.insert(0, os.path.abspath('mine'))\n"
                       "import nnlib_copy.vectors\ndense = nnlib_copy.vectors.dense"),
    "read_source": ("import nnlib\nfrom nnlib import vectors\nsource = open(vectors.__file__).read()\n"
                    "space = {}\nexec(compile(source, '<mine>', 'exec'), space)\n"
                    "dense = space['dense']"),
}


def _race_the_grader(target):
    """A cell whose thread keeps swapping every socket the grader makes that it can see for
    a link to ``target`` (a file only root may read), and tries to write into the grader's
    folder; a last cell prints what it managed."""
    return f"""
import os, threading, time
handover = os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), 'grader')
tried = set()
def swap():
    end = time.time() + 30
    while time.time() < end:
        for folder, where in (('.', 'here'), (handover, 'handover')):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name.endswith('.sock'):
                    path = os.path.join(folder, name)
                    try:
                        os.rename(path, path + '.old')
                        os.symlink({str(target)!r}, path)
                        tried.add('swapped ' + where)
                    except OSError:
                        tried.add('refused ' + where)
        try:
            open(os.path.join(handover, 'mine'), 'w')
            tried.add('wrote handover')
        except OSError:
            tried.add('handover read-only')
        time.sleep(0.001)
threading.Thread(target=swap, daemon=True).start()
"""


def _reach_out(targets, port):
    """A cell that tries to rewrite the gradebook, write the course's files, read another
    submission and connect to this machine; it prints what worked."""
    return f"""
import socket, sqlite3
worked = []
try:
    db = sqlite3.connect({str(targets['gradebook'])!r})
    db.execute('UPDATE grade SET auto_score = 0'); db.commit()
    worked.append('gradebook')
except Exception:
    pass
for path in {[str(p) for p in targets['write']]!r}:
    try:
        open(path, 'w').write('tampered')
        worked.append(path)
    except Exception:
        pass
try:
    worked.append(open({str(targets['read'])!r}).read()[:10])
except Exception:
    pass
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    worked.append('network')
except Exception:
    pass
print('worked:', worked)
"""


def test_hostile_and_broken_submissions_cost_only_their_own_points(tmp_path):
    """Each hostile notebook gets at most its honest score (the same notebook without the
    hostile part), is named in the integrity report, and changes nobody else's grade."""
    import socket
    assignment = "01_dot_product"
    correct = _solution_bodies(assignment)
    points = _points(assignment)
    total = sum(points.values())
    wrong_dense = {**correct, "dense": _with_bug(assignment, "dense")}
    course = tmp_path / "course"
    targets = {"gradebook": course / "gradebook.db",
               "write": [ROOT / "nnlib" / "tampered.py", ROOT / "solutions" / "tampered.txt",
                         tmp_path / "submissions" / "a_correct.ipynb"],
               "read": tmp_path / "submissions" / "z_correct.ipynb"}
    root_only = tmp_path / "root-only.txt"
    root_only.write_text("secret")
    root_only.chmod(0o600)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0)
    honest = {      # student -> (submission, its honest score)
        "a_correct": (_submission(assignment, correct), total),
        "endless_loop": (_submission(assignment, {**correct, "dense": "while True:\n    pass"}),
                         total - points["dense"]),
        "deaf_loop": (_submission(assignment, {**correct, "dense": (
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")}),
            total - points["dense"]),
        "os_exit": (_submission(assignment, {**correct, "dense": "import os\nos._exit(1)"}),
                    total - points["dense"]),
        "sys_exit": (_submission(assignment, correct, _appended("import sys\nsys.exit(3)")), total),
        "deleted_test": (_submission(assignment, wrong_dense, _delete_test_of("dense")),
                         total - points["dense"]),
        "duplicated_test": (_submission(assignment, correct, _duplicate_test_of("dense")), total),
        "edited_test": (_submission(assignment, wrong_dense, _edit_test_of("dense")),
                        total - points["dense"]),
        "skip_tags": (_submission(assignment, wrong_dense, _tag_tests), total - points["dense"]),
        "patches_grader": (_submission(assignment, {**wrong_dense, "dense": wrong_dense["dense"] + (
            "\nimport nnlib.grading\nnnlib.grading.check_dense = lambda *args, **kwargs: None")}),
            total - points["dense"]),
        "patches_numpy": (_submission(assignment, {**wrong_dense,
                                                   "dense": wrong_dense["dense"] + PATCHED_NUMPY}),
                          total - points["dense"]),
        "reaches_shell": (_submission(assignment, {**wrong_dense, "dense": wrong_dense["dense"]
                                                   + SHELL_BY_ANOTHER_ROUTE}),
                          total - points["dense"]),
        "calls_reference": (_submission(assignment, {**correct, "dense": (
            "import nnlib\ndef dense(X, W, b):\n    return nnlib.dense(X, W, b)")}),
            total - points["dense"]),
        **{f"launders_{route}": (_submission(assignment, {**correct, "dense": code}),
                                 total - points["dense"])
           for route, code in LAUNDERED_REFERENCE.items()},
        "reaches_out": (_submission(assignment, correct, _appended(
            _reach_out(targets, listener.getsockname()[1]))), total),
        "limits": (_submission(assignment, correct, _appended(MEMORY, FORK_BOMB)), total),
        "races_the_grader": (_submission(assignment, correct, _race_first(
            _race_the_grader(root_only))), total),
        "timeit_is_fine": (_submission(assignment, {**correct, "dense": correct["dense"] + (
            "\n%timeit dense(np.ones((2, 2)), np.ones((2, 2)), np.ones(2))")}), total),
        "introspection_is_fine": (_submission(assignment, {**correct, "dense": correct["dense"] + (
            "\nimport inspect\nclass Box:\n    pass\nbox = Box()\nsetattr(box, 'fn', dense)\n"
            "assert vars(box)['fn'] is globals()['dense'] and inspect.isfunction(dense)")}), total),
        "z_correct": (_submission(assignment, correct), total),
    }
    submissions = {student: nb for student, (nb, _) in honest.items()}
    submissions["broken_json"] = '{"cells": ['
    # chapter 1's cells take well under a second: the endless loops need not run for long
    results, log = _grade(tmp_path, assignment, submissions, cell_timeout=4)

    for student, (_, score) in honest.items():
        assert results[student].score == score, student
    assert results["broken_json"].status == "failed"
    assert "not a readable notebook" in results["broken_json"].reason
    assert "broken_json" in log.split("Done:")[1], "failures are listed in the summary"

    listener.settimeout(0.1)             # nothing reached this machine's network
    with pytest.raises(OSError):
        listener.accept()
    listener.close()
    for path in targets["write"][:2]:
        assert not path.exists(), path
    reached = read(course / "autograded" / "reaches_out" / assignment / f"{assignment}.ipynb")
    assert text(reached.cells[-1]) == "worked: []\n"
    limits = text(read(course / "autograded" / "limits" / assignment /
                       f"{assignment}.ipynb").cells[-2]) + text(
        read(course / "autograded" / "limits" / assignment / f"{assignment}.ipynb").cells[-1])
    assert "memory refused" in limits
    raced = read(course / "autograded" / "races_the_grader" / assignment / f"{assignment}.ipynb")
    assert text(raced.cells[-1]) == "['handover read-only', 'refused handover']\n"
    assert root_only.stat().st_mode & 0o777 == 0o600 and root_only.read_text() == "secret"
    forked = int(re.search(r"fork refused after (\d+)", limits).group(1))
    assert forked < 100

    rows = _csv(tmp_path)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:   # one gradebook of record
        for student, r in results.items():
            if r.status == "graded":
                assert gb.find_submission(assignment, student).score == r.score, student
                assert float(rows[student]["score"]) == r.score
    with open(course / "integrity.csv", newline="") as handle:
        flagged = {}
        for row in csv.DictReader(handle):
            flagged.setdefault(row["student_id"], []).append(row["what"])
    for student in ("os_exit", "sys_exit", "deleted_test", "duplicated_test", "edited_test",
                    "skip_tags", "patches_grader", "patches_numpy", "reaches_shell",
                    "reaches_out", "limits", "deaf_loop"):
        assert student in flagged, student
        assert student in log.split("Integrity")[1]
    # for what it reaches for, not for its time-out (a grading result)
    assert flagged["deaf_loop"] == ["changes signal handlers"]
    for student in ("a_correct", "z_correct", "timeit_is_fine", "introspection_is_fine",
                    "endless_loop"):
        assert student not in flagged, (student, flagged.get(student))

    feedback = course / "feedback"
    for student in submissions:
        page = feedback / student / assignment / f"{assignment}.html"
        content = page.read_text(encoding="utf-8")
        assert "hidden=True" not in content and "HIDDEN TESTS" not in content, student
    progress = [line for line in log.splitlines() if line.startswith("[")]
    assert all(re.search(r"\), about \d+ (s|min) left$", line) for line in progress[:-1])


def test_an_endless_loop_in_a_checked_call_costs_that_function_only_and_is_no_finding(
        tmp_path):
    """dot_loop loops forever once called, so its check runs into the cell's time limit:
    that check fails and says so, the kernel is interrupted, and every later function keeps
    its points; a time limit is a grading result, not tampering."""
    assignment = "01_dot_product"
    correct, points = _solution_bodies(assignment), _points(assignment)
    looping = {**correct, "dot_loop": "def dot_loop(x, w):\n    while True:\n        pass"}
    results, _ = _grade(tmp_path, assignment, {"loops": _submission(assignment, looping)},
                        cell_timeout=3)
    assert results["loops"].score == sum(points.values()) - points["dot_loop"]
    assert results["loops"].integrity == []
    graded = read(tmp_path / "course" / "autograded" / "loops" / assignment /
                  f"{assignment}.ipynb")
    failed = [errors(c)[0].evalue for c in graded.cells
              if nbgrader_meta(c).get("grade_id") == "test_dot_loop"]
    assert "ran past the time limit of 3 s (an endless loop, or a very slow one?)" in failed[0]


DEAF = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"


def test_a_kernel_that_ignores_the_interrupt_is_restarted_and_the_notebook_replayed(tmp_path):
    """A loop the interrupt cannot stop, in an answer cell or in a call a check makes, and a
    kernel that dies in an answer cell: each time a new kernel runs the cells before again,
    and only the function that looped or died loses its points. A time limit is a grading
    result, not a finding; the feedback names the cell and the limit."""
    assignment = "01_dot_product"
    correct, points = _solution_bodies(assignment), _points(assignment)
    total = sum(points.values())
    submissions = {
        "deaf_cell": {**correct, "cosine_similarity": DEAF + "while True:\n    pass"},
        "deaf_call": {**correct, "dot_loop": (
            "def dot_loop(x, w):\n    " + DEAF.replace("\n", "\n    ") + "while True:\n"
            "        pass")},
        "dies": {**correct, "dot": "import os\nos._exit(1)"},
    }
    results, log = _grade(tmp_path, assignment,
                          {s: _submission(assignment, a) for s, a in submissions.items()},
                          cell_timeout=3)
    assert results["deaf_cell"].score == total - points["cosine_similarity"]
    assert results["deaf_call"].score == total - points["dot_loop"]
    assert results["dies"].score == total - points["dot"]
    for student in ("deaf_cell", "deaf_call"):     # what the code reaches for is reported
        assert [what for _, what in results[student].integrity] == ["changes signal handlers"]
    graded = read(tmp_path / "course" / "autograded" / "deaf_cell" / assignment /
                  f"{assignment}.ipynb")
    answer = [errors(c)[0].evalue for c in graded.cells
              if nbgrader_meta(c).get("grade_id") == "cosine_similarity" and errors(c)]
    assert answer and "ran past its time limit of 3 s" in answer[0]
    assert "the kernel was restarted and ran the cells before this one again" in answer[0]
    page = (tmp_path / "course" / "feedback" / "deaf_cell" / assignment /
            f"{assignment}.html").read_text(encoding="utf-8")
    assert "ran past its time limit of 3 s" in page


def test_a_chapter_s_own_building_blocks_help_what_builds_on_them_only(tmp_path):
    """Chapter 9: the solution's SoftmaxMLP is written on nnlib's softmax, cross_entropy,
    ... (the grader serves them to it) and keeps its points; the same functions handed in
    as answers, directly or with the kernel's watch switched off, lose theirs."""
    assignment = "09_softmax_mlp"
    correct, points = _solution_bodies(assignment), _points(assignment)
    total = sum(points.values())
    handed_in = {
        "softmax_is_nnlib": {**correct, "softmax": "import nnlib\nsoftmax = nnlib.softmax"},
        "trace_off": {**correct, "cross_entropy": (
            "import nnlib, sys\ndef cross_entropy(probs, y):\n"
            "    getattr(sys, 'set' + 'trace')(None)\n    return nnlib.cross_entropy(probs, y)")},
    }
    submissions = {"correct": _submission(assignment, correct),
                   **{s: _submission(assignment, a) for s, a in handed_in.items()}}
    results, _ = _grade(tmp_path, assignment, submissions)
    assert results["correct"].score == total
    assert results["softmax_is_nnlib"].score == total - points["softmax"]
    assert results["trace_off"].score == total - points["cross_entropy"]


LAUNDERED_VALUE = """import types

import nnlib.autograd as _home

_globals = dict(vars(_home))       # the module's helpers, copied as the class is


def _mine(code):       # nnlib's code objects under another file name: no watch sees them
    return code.replace(co_filename="<mine>", co_consts=tuple(
        _mine(c) if isinstance(c, types.CodeType) else c for c in code.co_consts))


def _copied(thing):
    if isinstance(thing, types.FunctionType):
        copy = types.FunctionType(_mine(thing.__code__), _globals, thing.__name__,
                                  thing.__defaults__, thing.__closure__)
        copy.__kwdefaults__ = thing.__kwdefaults__
        return copy
    if isinstance(thing, (staticmethod, classmethod)):
        return type(thing)(_copied(thing.__func__))
    if isinstance(thing, property):
        return property(*(f and _copied(f) for f in (thing.fget, thing.fset, thing.fdel)))
    return thing


for _key, _thing in list(_globals.items()):
    if isinstance(_thing, types.FunctionType) and _thing.__module__ == _home.__name__:
        _globals[_key] = _copied(_thing)
body = {"__slots__": getattr(_home.Value, "__slots__", ())}
for key, thing in vars(_home.Value).items():
    if key not in ("__dict__", "__weakref__", "__module__", "__qualname__", "__slots__") \\
            and not isinstance(thing, types.MemberDescriptorType):
        body[key] = _copied(thing)
Value = _globals["Value"] = type("Value", (), body)
"""


def test_chapter_8_s_value_is_not_in_the_sandbox_until_it_is_graded(tmp_path):
    """nnlib's Value copied method by method under another file name passes the watch of a
    student's Jupyter; under course grade the sandbox's Value is a stub until test_Value is
    decided, so the copy scores nothing, while the solution's Neuron, Layer and MLP, run
    after it, keep every point."""
    assignment = "08_autograd"
    correct, points = _solution_bodies(assignment), _points(assignment)
    laundered = _submission(assignment, correct)
    for cell in laundered.cells:
        if nbgrader_meta(cell).get("grade_id") == "Value":
            cell.source = LAUNDERED_VALUE
    results, _ = _grade(tmp_path, assignment, {"correct": _submission(assignment, correct),
                                               "laundered": laundered})
    assert results["correct"].score == sum(points.values())
    assert results["laundered"].cells["test_Value"] == 0


def test_regrading_never_keeps_an_old_score_and_zips_work(tmp_path):
    assignment = "01_dot_product"
    correct = _submission(assignment, _solution_bodies(assignment))
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ann/work/01_dot_product.ipynb", nbformat.writes(correct))
        zf.writestr("__MACOSX/ann/._01_dot_product.ipynb", "junk")
    course = tmp_path / "course"
    first = grade_class(ROOT, assignment, archive, course, CELL_TIMEOUT, SUBMISSION_TIMEOUT,
                        out=lambda line: None)
    assert [(r.student, r.status) for r in first] == [("ann", "graded")]
    assert first[0].score == first[0].max_score > 0

    with zipfile.ZipFile(archive, "w") as zf:     # this time a file nbgrader cannot read
        zf.writestr("ann/work/01_dot_product.ipynb", '{"cells": [')
    second = grade_class(ROOT, assignment, archive, course, CELL_TIMEOUT, SUBMISSION_TIMEOUT,
                         out=lambda line: None)
    assert second[0].status == "failed" and second[0].score == 0
    row = _csv(tmp_path)["ann"]
    assert row["status"] == "failed" and float(row["score"]) == 0
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(assignment, "ann")
    assert not (course / "autograded" / "ann").joinpath(assignment).exists()


def test_batches_into_one_folder_keep_the_whole_class_and_nbgrader_export_writes_its_own(
        tmp_path):
    """grades.csv is the whole class whatever batch came last (a late batch, a re-grade of
    one student), integrity.csv and the class report too; `nbgrader export` in the folder
    writes its own file."""
    from coursetools.grade.batch import record, report

    assignment = "01_dot_product"
    correct = _solution_bodies(assignment)
    course = tmp_path / "course"

    def batch(name, submissions, roster=None):
        folder = tmp_path / name
        folder.mkdir()
        for student, nb in submissions.items():
            nbformat.write(nb, str(folder / f"{student}.ipynb"))
        return grade_class(ROOT, assignment, folder, course, CELL_TIMEOUT, SUBMISSION_TIMEOUT,
                           out=lambda line: None, roster=roster)

    batch("first", {"ann": _submission(assignment, correct),
                    "bob": _submission(assignment, {**correct, "dense": BUGS["dense"]}),
                    "cy": _submission(assignment, correct, _appended(
                        "import os\nos.listdir('/')"))})
    first_rows = (course / "grades.csv").read_text().splitlines()
    late = batch("late", {"dee": _submission(assignment, {}),
                          "bob": _submission(assignment, correct)},
                 roster={"ann": {"first_name": "Ann", "last_name": "Lee", "email": ""},
                         "zed": {"first_name": "Zed", "last_name": "", "email": ""}})
    assert [r.student for r in late] == ["bob", "dee"]          # the batch itself
    rows = _csv(tmp_path)
    total = sum(_points(assignment).values())
    assert {s: (r["status"], float(r["score"])) for s, r in rows.items()} == {
        "ann": ("graded", total), "bob": ("graded", total), "cy": ("graded", total),
        "dee": ("graded", 0), "zed": ("missing", 0)}
    from coursetools.grade.gradebook import open_gradebook
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert (gb.find_student("ann").first_name, gb.find_student("ann").last_name) == \
            ("Ann", "Lee")
        assert gb.find_student("zed").first_name == "Zed"
    now = (course / "grades.csv").read_text().splitlines()
    for student in ("ann", "cy"):                               # their rows did not change
        assert [ln for ln in now if ln.startswith(student + ",")] == \
               [ln for ln in first_rows if ln.startswith(student + ",")]
    assert "cy" in record.read_integrity(course / "integrity.csv")
    page = (course / report.HTML).read_text()
    assert "4 submission(s): 4 graded" in page and "1 student(s) on the roster" in page
    assert "Unusually similar code" in page and "What to re-teach" in page
    assert (course / "feedback" / "ann" / assignment / "mathjax" / "tex-chtml.js").is_file()

    exported = _nbgrader(["export"], course)
    assert exported.returncode == 0, exported.stderr
    assert (course / "grades.csv").read_text().splitlines() == now
    assert "ann" in (course / "nbgrader-grades.csv").read_text()

    # formgrader's view of the folder: the assignment released, the students by name
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(CourseDirectory(config=config), Authenticator(config=config),
                      config=config)
    assert api.get_assignment(assignment)["status"] == "released"
    names = {s["id"]: (s["first_name"], s["last_name"]) for s in api.get_students()}
    assert names["ann"] == ("Ann", "Lee") and names["zed"][0] == "Zed"


def test_hidden_inputs_come_from_a_secret_kept_in_the_grading_folder(tmp_path):
    """The grader draws the hidden inputs from the folder's secret, made once and kept, so a
    re-grade gives the same CSV; the student's kernel never sees the secret."""
    from coursetools.grade.batch.autograde import SECRET_FILE

    assignment = "01_dot_product"

    def reveal(nb):
        nb.cells.append(nbformat.v4.new_code_cell(
            "import os, re\nfrom nnlib.grading import core\n"
            "print('secret seen:', [v for v in os.environ.values() "
            "if re.fullmatch('[0-9a-f]{64}', v)] or core._SECRET or None)"))
    submissions = {"ann": _submission(assignment, _solution_bodies(assignment), reveal)}
    results, _ = _grade(tmp_path, assignment, submissions)
    secret_file = tmp_path / "course" / SECRET_FILE
    secret = secret_file.read_text().strip()
    assert len(secret) == 64 and secret_file.stat().st_mode & 0o077 == 0
    autograded = tmp_path / "course" / "autograded" / "ann" / assignment / f"{assignment}.ipynb"
    assert text(read(autograded).cells[-1]) == "secret seen: None\n"   # may come in pieces
    first_csv = (tmp_path / "course" / "grades.csv").read_text()
    assert results["ann"].score == results["ann"].max_score
    shutil.rmtree(tmp_path / "submissions")
    _grade(tmp_path, assignment, submissions)
    assert secret_file.read_text().strip() == secret
    assert (tmp_path / "course" / "grades.csv").read_text() == first_csv
    assert SECRET_FILE not in {p.name for p in ROOT.iterdir()}, "never in the repository"


def test_time_limits_come_from_the_solution_graded_as_a_student_is(tmp_path):
    """Without --cell-timeout the solution notebook is graded first, test cells decided by
    the grader as for everyone, and each cell's limit is 20 times its time there: chapter
    9's hidden check trains SoftmaxMLP for 2,000 epochs on nnlib's building blocks, and two
    correct notebooks graded side by side keep every point."""
    from coursetools.grade.batch.autograde import SOLUTION_STUDENT
    from coursetools.grade.gradebook import open_gradebook

    assignment = "09_softmax_mlp"
    correct = _solution_bodies(assignment)
    results, _ = _grade(tmp_path, assignment, {"ann": _submission(assignment, correct),
                                               "bob": _submission(assignment, correct)},
                        cell_timeout=None, jobs=2)
    total = sum(_points(assignment).values())
    assert [results[s].score for s in ("ann", "bob")] == [total, total]
    timed = json.loads((tmp_path / "course" / "cell-limits.json").read_text())
    assert {f"test_{name}" for name in CURRICULUM[assignment]} <= set(timed["limits"])
    assert timed["reference_seconds"]["test_SoftmaxMLP-training"] > 0.3    # it trained, did not fail
    with open_gradebook(f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == {"ann", "bob"}
    assert not list((tmp_path / "course").glob(f"*/{SOLUTION_STUDENT}*"))


def test_a_solution_that_loses_points_stops_the_batch_before_anyone_is_graded(tmp_path):
    from coursetools.grade.batch.autograde import calibrate, prepare_course

    assignment = "01_dot_product"
    course = prepare_course(ROOT, assignment, tmp_path / "course", cell_timeout=CELL_TIMEOUT)
    broken = tmp_path / "solution.ipynb"
    nbformat.write(_submission(assignment, {**_solution_bodies(assignment),
                                            "dot": _with_bug(assignment, "dot")}), str(broken))
    with pytest.raises(RuntimeError, match=r"scores 10 of 11 points under course grade.*"
                                           r"test_dot: GradingError: dot\("):
        calibrate(course, broken)
    times = calibrate(course, solution_path(assignment))
    assert {f"test_{name}" for name in CURRICULUM[assignment]} <= set(times)


def test_time_left_is_shown_at_the_pace_so_far():
    from coursetools.grade.batch.autograde import _time_left
    assert _time_left(10.0, 2, 6) == ", about 20 s left"
    assert _time_left(60.0, 1, 4) == ", about 3 min left"
    assert _time_left(5.0, 3, 3) == ""


def test_slots_grade_with_the_settings_handed_to_them_not_what_the_folder_file_says(
        tmp_path, monkeypatch):
    """The slots are handed nbgrader's settings (a traitlets Config) and apply them over
    every configuration file: a grading folder's nbgrader_config.py that says otherwise
    (no executor, no sandbox) changes nothing `course grade` does. Plain nbgrader run by
    hand in the folder reads the same settings from the file."""
    from coursetools.grade.batch import settings
    written = settings.write

    def says_otherwise(path, config, repo_config):
        written(path, config, repo_config)
        assert "GradeOutsideKernel" in Path(path).read_text()
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("c.Autograde.autograde_preprocessors = []\n"
                         "c.GradeOutsideKernel.sandbox = False\n")
    monkeypatch.setattr(settings, "write", says_otherwise)
    assignment = "01_dot_product"
    results, _ = _grade(tmp_path, assignment, {
        "ann": _submission(assignment, _solution_bodies(assignment)),
        "bob": _submission(assignment, {})})
    total = sum(_points(assignment).values())
    assert {s: (r.status, r.score) for s, r in results.items()} == {
        "ann": ("graded", total), "bob": ("graded", 0)}


# ---------------------------------------------------------------- plain nbgrader

def _nbgrader(args, cwd, env=None):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def plain_nbgrader_course(course, assignment, answers, config=""):
    """An nbgrader course folder of an instructor's own: the solutions as its source, released
    with nbgrader's defaults (plus ``config``), and each student's ``answers`` submitted."""
    import shutil
    shutil.copytree(ROOT / "solutions" / assignment, course / "source" / assignment)
    if config:
        (course / "nbgrader_config.py").write_text("c = get_config()\n" + config)
    generated = _nbgrader(["generate_assignment", assignment, "--force"], course)
    if generated.returncode != 0:
        raise RuntimeError(generated.stdout + generated.stderr)
    released = course / "release" / assignment / f"{assignment}.ipynb"
    for student, given in answers.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(_submission(assignment, given, release=released),
                       str(folder / f"{assignment}.ipynb"))


def test_plain_nbgrader_with_its_defaults_fails_closed(tmp_path):
    """An instructor's own nbgrader course (no config of ours): the solutions as its source, the
    students' notebooks submitted. The stub scores 0, a bug loses its points, the solution
    scores full marks: no test cell carries a tag that nbgrader's executor skips (which
    test_notebooks checks for every chapter)."""
    assignment = "01_dot_product"
    points = _points(assignment)
    name = next(iter(points))               # the chapter's first graded name
    answers = {"correct": _solution_bodies(assignment), "untouched": {},
               "bug": {**_solution_bodies(assignment), name: _with_bug(assignment, name)}}
    plain_nbgrader_course(tmp_path, assignment, answers)
    graded = _nbgrader(["autograde", assignment, "--force"], tmp_path)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(assignment, s).score for s in answers}
    total = sum(points.values())
    lost = sum(points[n] for n in (name, *ALSO_BROKEN.get(name, ())))
    assert scores == {"correct": total, "untouched": 0, "bug": total - lost}


def test_our_nbgrader_config_stops_nbgrader_when_it_cannot_load(tmp_path):
    """nbgrader goes on with its defaults after a config file raises; ours exits instead."""
    import os
    fake = tmp_path / "shadow" / "coursetools"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the course is not installed')\n")
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    result = _nbgrader(["generate_assignment", "01_dot_product"], course, env=env)
    assert result.returncode != 0
    assert "nbgrader_config.py could not load the course's settings" in result.stdout + result.stderr


def test_our_nbgrader_config_loads_from_another_folder(tmp_path):
    """Copied into an instructor's own course folder, it finds the installed course: the
    assignment it generates there has the setup cell only our settings insert."""
    import shutil
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    shutil.copytree(ROOT / "solutions" / "01_dot_product", tmp_path / "solutions" / "01_dot_product")
    result = _nbgrader(["generate_assignment", "01_dot_product", "--no-db"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    generated = read(tmp_path / "chapters" / "01_dot_product" / "01_dot_product.ipynb")
    assert any("%pip install" in c.source for c in generated.cells)


def test_gradebooks_opened_in_one_process_share_one_engine_and_outlive_a_close(tmp_path):
    """nbgrader makes an engine (and an empty cache of compiled queries) at each opening;
    coursetools.grade.gradebook.share_engines gives every opening of one URL the same engine, which
    keeps working after nbgrader's Gradebook.close disposes of its connections."""
    from coursetools.grade import gradebook
    url = gradebook.checked_url(gradebook.default_url(tmp_path))
    with gradebook.open_gradebook(url) as first:
        first.add_student("ann")
        engine = first.engine
    gradebook.add_students(url, ["bob"])
    with gradebook.open_gradebook(url) as again:
        assert again.engine is engine
        assert sorted(s.id for s in again.students) == ["ann", "bob"]
    (tmp_path / "other").mkdir()
    other_url = gradebook.checked_url(gradebook.default_url(tmp_path / "other"))
    with gradebook.open_gradebook(other_url) as other:
        assert other.engine is not engine


def test_only_the_first_opening_of_a_gradebook_checks_its_tables(tmp_path):
    """nbgrader lists the tables and asks for each whether it exists at every opening; in one
    process the openings after the first on an engine skip that, and a new database still
    gets its tables."""
    from sqlalchemy import event

    from coursetools.grade import gradebook
    url = gradebook.checked_url(gradebook.default_url(tmp_path))
    with gradebook.open_gradebook(url) as first:
        first.add_student("ann")
        engine = first.engine
    statements = []

    def seen(connection, cursor, statement, *rest):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with gradebook.open_gradebook(url) as again:
            assert [s.id for s in again.students] == ["ann"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "sqlite_master" in s
                               or "PRAGMA" in s.upper() or "CREATE TABLE" in s.upper()]
    (tmp_path / "new").mkdir()           # another database: its tables are made as before
    gradebook.add_students(gradebook.checked_url(gradebook.default_url(tmp_path / "new")),
                           ["bob"])
    with gradebook.open_gradebook(gradebook.default_url(tmp_path / "new")) as new:
        assert [s.id for s in new.students] == ["bob"]
