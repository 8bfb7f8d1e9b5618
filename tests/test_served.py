"""A chapter's own building blocks under `course grade` (kernel_side.served): the grader
computes them for the student's kernel only while it checks what builds on them."""
import numpy as np
import pytest

import nnlib
from coursetools.grade.protocol import kernel_side, remote
from nnlib.grading import core
from remotetools import student_process


def _namespace():
    def softmax_of(Z):
        return kernel_side.served("softmax", "09_softmax_mlp", (Z,), {})

    def init_then_draw(rng):
        W = kernel_side.served("kaiming_init", "09_softmax_mlp", (3, 2, rng), {})
        return W, rng.random()              # the kernel's rng moved on as nnlib moves it

    def batches(X, y, rng):
        return [b for b, _ in kernel_side.served("iterate_minibatches", "07_train_loop",
                                                 (X, y, 2, rng), {})]

    def caught(Z):
        try:
            return kernel_side.served("softmax", "09_softmax_mlp", (Z,), {})
        except RuntimeError:
            return np.full(Z.shape, 1 / Z.shape[1])

    return {"softmax_of": softmax_of,  "init_then_draw": init_then_draw, "batches": batches,
            "caught": caught}


def test_a_building_block_is_computed_while_a_check_of_what_builds_on_it_runs():
    Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        with core.checks_in_grader(), core.grading_as("SoftmaxMLP"):
            probs = core.call_student(names["softmax_of"], "SoftmaxMLP.predict", (Z,))
            W, drawn = core.call_student(names["init_then_draw"], "SoftmaxMLP",
                                         (np.random.default_rng(5),))
        with core.checks_in_grader(), core.grading_as("fit"):
            X = np.arange(10.0).reshape(5, 2)
            got = core.call_student(names["batches"], "fit", (X, np.arange(5.0),
                                                              np.random.default_rng(1)))
    np.testing.assert_allclose(probs, nnlib.softmax(Z))
    rng = np.random.default_rng(5)
    np.testing.assert_allclose(W, nnlib.kaiming_init(3, 2, rng))
    assert drawn == rng.random()
    expected = [b for b, _ in nnlib.iterate_minibatches(X, np.arange(5.0), 2,
                                                        np.random.default_rng(1))]
    assert len(got) == len(expected) == 3
    for mine, theirs in zip(got, expected):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("student", ["softmax_of", "caught"])
def test_a_building_block_asked_for_by_the_answer_it_is_costs_the_points(student):
    Z = np.array([[1.0, 2.0, 3.0]])
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        with core.checks_in_grader(), pytest.raises(core.GradingError,
                                                    match="calls nnlib.s softmax"):
            core.call_student(names[student], "softmax", (Z,))
        with core.checks_in_grader(), pytest.raises(core.GradingError, match="calls nnlib's"):
            core.call_student(names[student], "cross_entropy", (Z,))


def test_outside_a_test_cell_a_building_block_is_not_there():
    with pytest.raises(RuntimeError, match="not available while 09_softmax_mlp is graded"):
        kernel_side.served("softmax", "09_softmax_mlp", (np.ones((1, 2)),), {})


def test_once_its_own_test_is_decided_a_building_block_runs_in_the_kernel(monkeypatch):
    """After test_softmax the grader hands softmax's code over (execute._unlock): the kernel
    then computes it itself, so a SoftmaxMLP trained for 2,000 epochs does not ask the
    grader thousands of times. The kernel's watch still refuses it where BUILDS_ON does."""
    Z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1000.0]])
    asked = []
    serve = remote.Connection._serve_building_block
    monkeypatch.setattr(remote.Connection, "_serve_building_block",
                        lambda self, message: asked.append(message["cb"]) or serve(self, message))
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        with core.checks_in_grader(), core.grading_as("SoftmaxMLP"):
            before = core.call_student(names["softmax_of"], "SoftmaxMLP.loss", (Z,))
        connection.unlock("softmax")
        with core.checks_in_grader(), core.grading_as("SoftmaxMLP"):
            after = core.call_student(names["softmax_of"], "SoftmaxMLP.loss", (Z,))
        with core.checks_in_grader(), pytest.raises(core.GradingError, match="calls nnlib"):
            core.call_student(names["softmax_of"], "cross_entropy", (Z,))
    assert asked == ["softmax"]         # once before the unlock, never after
    np.testing.assert_array_equal(before, nnlib.softmax(Z))
    np.testing.assert_array_equal(after, nnlib.softmax(Z))


def test_an_unlock_carries_only_a_module_of_nnlib_a_name_and_a_source():
    with pytest.raises(ValueError, match="not a module, a name and a source"):
        kernel_side._unlock("os", "system", "def system(): pass")
