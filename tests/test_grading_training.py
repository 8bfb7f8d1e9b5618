"""Tests for nnlib.grading.training: the chapter 7 checks (07_train_loop).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, failure, passes, wrong

import nnlib
from nnlib import training as ref
from nnlib.grading import core
from nnlib.grading import training as checks

CHECKS = {"iterate_minibatches": checks.check_iterate_minibatches,
          "predict": checks.check_predict, "accuracy": checks.check_accuracy}
EVERY = pytest.mark.parametrize("name", sorted(CHECKS))


def stub(*args):
    """The untouched exercise cell."""
    raise NotImplementedError()


def _sig(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------- what every check does

@HIDDEN
@EVERY
def test_stub_is_not_implemented(name, hidden):
    failure(CHECKS[name], stub, hidden,
            rf"^{name} is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@EVERY
def test_returning_none_asks_for_return(name, hidden):
    def forgot_return(*args):
        print(len(args))
    failure(CHECKS[name], forgot_return, hidden,
            rf"^{name}\(.*\) returned None\. Did you forget the `return` statement\?$")


@HIDDEN
@EVERY
def test_exception_is_one_line(name, hidden):
    def type_error(*args):
        return len(3.5)
    failure(CHECKS[name], type_error, hidden,
            rf"^{name}\(.*\) raised TypeError: object of type 'float' has no len\(\)$")


@HIDDEN
@EVERY
def test_reference_and_values_are_rejected(name, hidden):
    failure(CHECKS[name], getattr(nnlib, name), hidden,
            rf"^{name} is nnlib's reference implementation, not yours")
    failure(CHECKS[name], np.zeros(3), hidden, rf"^{name} should be a function, but it is a ndarray")


@EVERY
def test_endless_loop_is_stopped(name, monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)

    def endless(*args):
        while True:
            pass
    failure(CHECKS[name], endless, False,
            rf"^{name}\(.*\) did not finish within 0\.3 s\. Look for a loop that never ends\.$")


# ---------------------------------------------------------------- iterate_minibatches

def minibatches_generator(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = idx[start:start + batch_size]
        yield X[rows], y[rows]


def minibatches_list(X, y, batch_size, rng):
    idx = np.arange(X.shape[0])
    rng.shuffle(idx)
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(idx), batch_size)]


def minibatches_shuffled_copies(X, y, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    Xs, ys = X[order], y[order]
    n_batches = int(np.ceil(len(X) / batch_size))
    return [(Xs[i * batch_size:(i + 1) * batch_size], ys[i * batch_size:(i + 1) * batch_size])
            for i in range(n_batches)]


@HIDDEN
@pytest.mark.parametrize("fn", [minibatches_generator, minibatches_list,
                                minibatches_shuffled_copies])
def test_minibatches_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_iterate_minibatches, fn, hidden, capsys, "iterate_minibatches")


def minibatches_unshuffled(X, y, batch_size, rng):
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def minibatches_drops_last(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X) - batch_size + 1, batch_size)]


def minibatches_replacement(X, y, batch_size, rng):
    idx = rng.integers(0, len(X), size=len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


def minibatches_unpaired(X, y, batch_size, rng):
    ix, iy = rng.permutation(len(X)), rng.permutation(len(X))
    return [(X[ix[i:i + batch_size]], y[iy[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


def minibatches_global_random(X, y, batch_size, rng):
    idx = np.random.permutation(len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (minibatches_unshuffled, "rows are not shuffled"),
    (minibatches_drops_last, "last, smaller batch is dropped"),
    (minibatches_replacement, "sampling with replacement"),
    (minibatches_unpaired, "X and y are shuffled separately"),
    (minibatches_global_random, "np.random instead of the rng argument"),
])
def test_minibatches_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_iterate_minibatches, fn, hidden, match)


# ---------------------------------------------------------------- predict

def _forward(X, params):
    A = X
    layers = len([k for k in params if k.startswith("W")])
    for layer in range(1, layers + 1):
        Z = A @ params[f"W{layer}"] + params[f"b{layer}"]
        A = np.maximum(Z, 0) if layer < layers else _sig(Z)
    return A, Z


def predict_astype(X, params):
    return (_forward(X, params)[0] >= 0.5).astype(int).ravel()


def predict_where(X, params):
    return np.where(_forward(X, params)[0][:, 0] >= 0.5, 1.0, 0.0)


def predict_logit(X, params):
    return (_forward(X, params)[1] >= 0).reshape(-1)


@HIDDEN
@pytest.mark.parametrize("fn", [predict_astype, predict_where, predict_logit])
def test_predict_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_predict, fn, hidden, capsys, "predict")


def predict_flipped(X, params):
    return (_forward(X, params)[0] < 0.5).astype(int).ravel()


def predict_probabilities(X, params):
    return _forward(X, params)[0].ravel()


def predict_column(X, params):
    return (_forward(X, params)[0] >= 0.5).astype(int)


def predict_strict(X, params):
    return (_forward(X, params)[0] > 0.5).astype(int).ravel()


def predict_thresholds_z(X, params):
    return (_forward(X, params)[1] >= 0.5).astype(int).ravel()


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (predict_flipped, "threshold is on the wrong side"),
    (predict_probabilities, "you return the probabilities"),
    (predict_column, r"returned shape \(\d+, 1\), expected shape \(\d+,\)\. You kept an extra axis"),
    (predict_strict, r"exactly 0\.5 predict 1"),
    (predict_thresholds_z, "threshold the pre-activation Z"),
])
def test_predict_diagnoses_mistakes(fn, match, hidden):
    wrong(checks.check_predict, fn, ref.predict, hidden, match)


# ---------------------------------------------------------------- accuracy

def accuracy_mean(y_true, y_pred):
    return float(np.mean(np.ravel(y_true) == np.ravel(y_pred)))


def accuracy_count(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    return np.sum(y_true == y_pred) / len(y_true)


def accuracy_loop(y_true, y_pred):
    a, b = list(np.ravel(y_true)), list(np.ravel(y_pred))
    return sum(1 for p, q in zip(a, b) if p == q) / len(a)


@HIDDEN
@pytest.mark.parametrize("fn", [accuracy_mean, accuracy_count, accuracy_loop])
def test_accuracy_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_accuracy, fn, hidden, capsys, "accuracy")


def accuracy_error_rate(y_true, y_pred):
    return float(np.mean(np.ravel(y_true) != np.ravel(y_pred)))


def accuracy_counts(y_true, y_pred):
    return int(np.sum(np.ravel(y_true) == np.ravel(y_pred)))


def accuracy_broadcasts(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (accuracy_error_rate, "fraction of WRONG predictions"),
    (accuracy_counts, "number of correct predictions"),
    (accuracy_broadcasts, r"\(n, n\) grid"),
])
def test_accuracy_diagnoses_mistakes(fn, match, hidden):
    wrong(checks.check_accuracy, fn, ref.accuracy, hidden, match)
