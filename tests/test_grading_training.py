"""Tests for nnlib.grading.training: the chapter 7 checks (07_train_loop).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, failure, passes, wrong

from nnlib import training as ref
from nnlib.grading import training as checks


def _sig(z):
    return 1 / (1 + np.exp(-z))


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
