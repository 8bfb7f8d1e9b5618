"""Tests for nnlib.grading.softmax: the chapter 9 function checks (09_softmax_mlp).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""

import numpy as np
import pytest

from nnlib import activations as ref_act
from nnlib import losses as ref_loss
from nnlib import softmax_mlp as ref_mlp
from nnlib.grading import softmax as checks

from gradingtools import HIDDEN, failure, passes, wrong


def stub(*args):
    raise NotImplementedError()


# ---------------------------------------------------------------- softmax

def softmax_keepdims(Z):
    Z = np.asarray(Z, dtype=float)
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_logsumexp(Z):
    Z = np.asarray(Z, dtype=float)
    m = np.max(Z, axis=-1)[:, None]
    return np.exp(Z - m - np.log(np.sum(np.exp(Z - m), axis=-1))[:, None])


def softmax_naive(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def softmax_columns(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_whole(Z):
    e = np.exp(Z - Z.max())
    return e / e.sum()


def softmax_global_max(Z):
    e = np.exp(Z - Z.max())
    return e / e.sum(axis=1, keepdims=True)


@HIDDEN
@pytest.mark.parametrize("fn", [softmax_keepdims, softmax_logsumexp])
def test_softmax_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_softmax, fn, hidden, capsys, "softmax")


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (stub, r"^softmax is not implemented yet"),
    (softmax_naive, r"with logits up to ±1e4 returned nan .*Likely bug: no max-shift"),
    (softmax_global_max, r"with logits up to ±1e4 returned nan .*Likely bug: no max-shift"),
    (softmax_columns, r"is wrong at .*Likely bug: you normalise over the wrong axis"),
    (softmax_whole, r"is wrong at .*Likely bug: you divide by the sum over the whole matrix"),
], ids=["stub", "naive", "global-max", "columns", "whole"])
def test_softmax_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_softmax, fn, ref_act.softmax, hidden, match)


def test_softmax_overflow_warning_is_reported():
    def softmax(Z):     # right numbers, but a harmful-looking overflow along the way
        Z = np.asarray(Z, dtype=float)
        np.exp(Z)
        return softmax_keepdims(Z)
    failure(checks.check_softmax, softmax, False, r"gives the right numbers but warns")


# ---------------------------------------------------------------- one_hot

def one_hot_index(y, num_classes):
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), np.asarray(y).astype(int)] = 1
    return out


def one_hot_eye(y, num_classes):
    return np.eye(num_classes, dtype=int)[np.asarray(y, dtype=int)]


def one_hot_max_label(y, num_classes):
    y = np.asarray(y).astype(int)
    return np.eye(y.max() + 1)[y]


def one_hot_transposed(y, num_classes):
    return one_hot_index(y, num_classes).T


def one_hot_minus_one(y, num_classes):
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), np.asarray(y).astype(int) - 1] = 1
    return out


def one_hot_plus_one(y, num_classes):
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), np.asarray(y).astype(int) + 1] = 1
    return out


@HIDDEN
@pytest.mark.parametrize("fn", [one_hot_index, one_hot_eye])
def test_one_hot_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_one_hot, fn, hidden, capsys, "one_hot")


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (stub, r"^one_hot is not implemented yet"),
    (one_hot_max_label, r"returned shape \(4, 3\), expected shape \(4, 5\)\. Likely bug: "
                        r"num_classes is ignored"),
    (one_hot_transposed, r"returned shape \(5, 4\), expected shape \(4, 5\)\. It looks "
                         r"transposed"),
    (one_hot_minus_one, r"Likely bug: the labels are off by one"),
    (one_hot_plus_one, r"Likely bug: the labels are off by one"),
], ids=["stub", "max-label", "transposed", "minus-one", "plus-one"])
def test_one_hot_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_one_hot, fn, ref_loss.one_hot, hidden, match)


@HIDDEN
def test_labels_are_integers_so_indexing_with_them_directly_passes(hidden, capsys):
    """The curriculum's labels are integers: code that indexes with y as it comes passes."""
    def one_hot(y, num_classes):
        return np.eye(num_classes)[y]

    def cross_entropy(probs, y):
        return -np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)))

    def softmax_cross_entropy_backward(probs, y):
        grad = probs.copy()
        grad[np.arange(len(y)), y] -= 1
        return grad / len(y)
    passes(checks.check_one_hot, one_hot, hidden, capsys, "one_hot")
    passes(checks.check_cross_entropy, cross_entropy, hidden, capsys, "cross_entropy")
    passes(checks.check_softmax_cross_entropy_backward, softmax_cross_entropy_backward, hidden,
           capsys, "softmax_cross_entropy_backward")


def test_one_hot_square_transpose_is_named():
    def one_hot(y, num_classes):
        out = one_hot_index(y, num_classes)
        return out.T if out.shape[0] == out.shape[1] else out
    failure(checks.check_one_hot, one_hot, False, r"Likely bug: the result is transposed")


# ---------------------------------------------------------------- cross_entropy

def ce_clip(probs, y):
    p = probs[np.arange(len(y)), np.asarray(y).astype(int)]
    return -np.mean(np.log(np.clip(p, 1e-12, 1.0)))


def ce_onehot_eps(probs, y):
    Y = np.eye(probs.shape[1])[np.asarray(y).astype(int)]
    return float(-np.sum(Y * np.log(probs + 1e-15)) / probs.shape[0])


def ce_keras_clip(probs, y):
    """Keras' convention: every probability clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def ce_sum(probs, y):
    return ce_clip(probs, y) * len(y)


def ce_sign(probs, y):
    return -ce_clip(probs, y)


def ce_columns(probs, y):
    return -np.mean(np.log(np.clip(probs[:, np.asarray(y).astype(int)], 1e-12, 1)))


def ce_no_clip(probs, y):
    return -np.mean(np.log(probs[np.arange(len(y)), np.asarray(y).astype(int)]))


@HIDDEN
@pytest.mark.parametrize("fn", [ce_clip, ce_onehot_eps, ce_keras_clip])
def test_cross_entropy_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_cross_entropy, fn, hidden, capsys, "cross_entropy")


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (stub, r"^cross_entropy is not implemented yet"),
    (ce_sum, r"Likely bug: off by the batch size"),
    (ce_sign, r"Likely bug: the sign is flipped"),
    (ce_columns, r"Likely bug: you index probs\[:, y\]"),
    (ce_no_clip, r"with a zero probability of the true class returned inf\. Likely bug: no "
                 r"clipping"),
], ids=["stub", "sum", "sign", "columns", "no-clip"])
def test_cross_entropy_rejects_wrong_variants(fn, match, hidden):
    with np.errstate(divide="ignore"):
        wrong(checks.check_cross_entropy, fn, ref_loss.cross_entropy, hidden, match)


# ---------------------------------------------------------------- softmax_cross_entropy_backward

def backward_index(probs, y):
    n = probs.shape[0]
    d = probs.copy()
    d[np.arange(n), np.asarray(y).astype(int)] -= 1
    return d / n


def backward_eye(probs, y):
    return (probs - np.eye(probs.shape[1])[np.asarray(y).astype(int)]) / len(y)


def backward_no_mean(probs, y):
    return probs - np.eye(probs.shape[1])[np.asarray(y).astype(int)]


def backward_sign(probs, y):
    return -backward_eye(probs, y)


def backward_no_onehot(probs, y):
    return probs / len(y)


@HIDDEN
@pytest.mark.parametrize("fn", [backward_index, backward_eye])
def test_backward_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_softmax_cross_entropy_backward, fn, hidden, capsys,
           "softmax_cross_entropy_backward")


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (stub, r"^softmax_cross_entropy_backward is not implemented yet"),
    (backward_no_mean, r"Likely bug: off by the batch size: divide"),
    (backward_sign, r"Likely bug: the sign is flipped"),
    (backward_no_onehot, r"Likely bug: you forgot to subtract the one-hot"),
], ids=["stub", "no-mean", "sign", "no-onehot"])
def test_backward_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_softmax_cross_entropy_backward, fn,
          ref_loss.softmax_cross_entropy_backward, hidden, match)


def test_backward_finite_difference_check_catches_what_the_cases_miss(monkeypatch):
    monkeypatch.setattr(checks, "_backward_inputs", lambda rng, hidden: [])
    failure(checks.check_softmax_cross_entropy_backward, backward_no_mean, False,
            r"compared with central finite differences .*Likely bug: off by the batch size")


# ---------------------------------------------------------------- kaiming_init

def kaiming_standard(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)


def kaiming_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def kaiming_xavier(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(1 / fan_in)


def kaiming_no_sqrt(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * (2 / fan_in)


def kaiming_uniform(fan_in, fan_out, rng):
    limit = np.sqrt(6 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def kaiming_transposed(fan_in, fan_out, rng):
    return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2 / fan_in)


def kaiming_global(fan_in, fan_out, rng):
    return np.random.randn(fan_in, fan_out) * np.sqrt(2 / fan_in)


def kaiming_own_rng(fan_in, fan_out, rng):
    return np.random.default_rng(0).standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)


@HIDDEN
@pytest.mark.parametrize("fn", [kaiming_standard, kaiming_normal])
def test_kaiming_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_kaiming_init, fn, hidden, capsys, "kaiming_init")


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (kaiming_xavier, r"\(a large draw\): the standard deviation .*Likely bug: you scale by "
                     r"sqrt\(1 / fan_in\) \(Xavier/LeCun\)"),
    (kaiming_no_sqrt, r"Likely bug: you multiply by 2 / fan_in without taking its square root"),
    (kaiming_uniform, r"the entries look uniformly distributed"),
], ids=["xavier", "no-sqrt", "uniform"])
def test_kaiming_rejects_wrong_scale_or_distribution(fn, match, hidden):
    # failure(), not wrong(): the no-leak scan over the 40 000 drawn entries is slow and
    # only finds chance collisions; the message shows the student's own (2-digit) spread
    message = failure(checks.check_kaiming_init, fn, hidden, match)
    assert "(a large draw)" in message


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (stub, r"^kaiming_init is not implemented yet"),
    (kaiming_transposed, r"returned shape \(5, 3\), expected shape \(3, 5\)\. It looks "
                         r"transposed"),
    (kaiming_global, r"different weights for two generators with the same seed"),
    (kaiming_own_rng, r"same weights for generators with different seeds"),
], ids=["stub", "transposed", "global", "own-rng"])
def test_kaiming_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_kaiming_init, fn, ref_mlp.kaiming_init, hidden, match)
