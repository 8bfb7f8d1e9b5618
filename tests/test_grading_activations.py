"""Tests for nnlib.grading.activations: the chapter 2 checks (02_sigmoid).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import math

import numpy as np
import pytest

import nnlib.grading.core as core
from nnlib import activations as ref
from nnlib import grading

from gradingtools import HIDDEN, chapter_checks, failure, passes, wrong


# ---------------------------------------------------------------- sigmoid

def sigmoid_two_branch(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_tanh(z):
    return 0.5 * (1 + np.tanh(np.asarray(z) / 2))


def sigmoid_masks(z):
    z = np.array(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out


@HIDDEN
@pytest.mark.parametrize("fn", [sigmoid_two_branch, sigmoid_tanh, sigmoid_masks])
def test_sigmoid_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_sigmoid, fn, hidden, capsys, "sigmoid")


def sigmoid_naive(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_where_both_branches(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def sigmoid_exp_ratio(z):
    return np.exp(z) / (1 + np.exp(z))


def sigmoid_plus_exponent(z):
    return 1 / (1 + np.exp(z))


def sigmoid_complement(z):
    return np.exp(-z) / (1 + np.exp(-z))


def sigmoid_math_exp(z):
    return 1 / (1 + math.exp(-z))


def sigmoid_column(z):
    return (1 / (1 + np.exp(-np.asarray(z)))).reshape(-1, 1)


def sigmoid_in_place(z):
    z *= -1
    np.exp(z, out=z)
    z += 1
    return 1 / z


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (sigmoid_naive, r"^sigmoid\(array \(7,\)\) with entries up to ±1e4 gives the right numbers "
                    r"but warns 'overflow encountered in exp'\. Likely bug: np\.exp of a large "
                    r"positive number overflows"),
    (sigmoid_where_both_branches, r"warns 'overflow encountered in exp'.*np\.where computes "
                                  r"both branches"),
    (sigmoid_exp_ratio, r"with entries up to ±1e4 returned nan at index \[\d\], where a finite "
                        r"number is expected\. Likely bug: an overflow"),
    (sigmoid_plus_exponent, r"is wrong at index \[\d+\].*Likely bug: you compute 1 - "
                            r"sigmoid\(z\): either the exponent's sign is flipped"),
    (sigmoid_complement, r"Likely bug: you compute 1 - sigmoid\(z\).*or you return "
                         r"exp\(-z\) / \(1 \+ exp\(-z\)\)"),
    (sigmoid_math_exp, r"^sigmoid\(array \(7,\)\) raised TypeError: only .*arrays can be "
                       r"converted to Python scalars$"),
    (sigmoid_column, r"returned shape \(7, 1\), expected shape \(7,\)\. You kept an extra axis "
                     r"of length 1"),
    (sigmoid_in_place, r"^sigmoid\(array \(7,\)\) changed its argument number 1 in place"),
], ids=["naive-overflow", "where-overflow", "nan", "exp(+z)", "1-sigmoid", "math.exp",
        "column", "in-place"])
def test_sigmoid_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_sigmoid, fn, ref.sigmoid, hidden, match)


def test_sigmoid_overflow_warning_found_even_if_notebook_silenced_numpy():
    old = np.seterr(all="ignore")       # a student's earlier cell: np.seterr(all="ignore")
    try:
        failure(grading.check_sigmoid, sigmoid_naive, False,
                r"warns 'overflow encountered in exp'")
    finally:
        np.seterr(**old)


def test_sigmoid_that_silences_its_own_harmless_overflow_passes(capsys):
    def sigmoid(z):
        with np.errstate(over="ignore"):      # exp(1e4) = inf gives 1 / inf = 0: right
            return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
    passes(grading.check_sigmoid, sigmoid, True, capsys, "sigmoid")


# ---------------------------------------------------------------- sigmoid_derivative

def sigmoid_derivative_s(z):
    s = sigmoid_two_branch(z)
    return s * (1 - s)


def sigmoid_derivative_cosh(z):
    return 0.25 / np.cosh(np.asarray(z) / 2) ** 2


def sigmoid_derivative_exp(z):
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


@HIDDEN
@pytest.mark.parametrize("fn", [sigmoid_derivative_s, sigmoid_derivative_cosh,
                                sigmoid_derivative_exp])
def test_sigmoid_derivative_accepts_correct_variants(fn, hidden, capsys):
    with np.errstate(over="ignore"):    # cosh(5e3) overflows to inf: 0.25 / inf is right
        passes(grading.check_sigmoid_derivative, fn, hidden, capsys, "sigmoid_derivative")


def sigmoid_derivative_plus(z):
    s = sigmoid_two_branch(z)
    return s * (1 + s)


def sigmoid_derivative_one_minus(z):
    return 1 - sigmoid_two_branch(z)


def sigmoid_derivative_of_z(z):
    return z * (1 - z)


def sigmoid_derivative_is_sigmoid(z):
    return sigmoid_two_branch(z)


def sigmoid_derivative_sign(z):
    s = sigmoid_two_branch(z)
    return s * (s - 1)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (sigmoid_derivative_plus, r"Likely bug: you wrote s \* \(1 \+ s\) instead of s \* \(1 - s\)"),
    (sigmoid_derivative_one_minus, r"Likely bug: you wrote 1 - s instead of s \* \(1 - s\)"),
    (sigmoid_derivative_of_z, r"Likely bug: you apply the formula to z instead of to "
                              r"s = sigmoid\(z\)"),
    (sigmoid_derivative_is_sigmoid, r"Likely bug: you return sigmoid\(z\) itself"),
    (sigmoid_derivative_sign, r"Likely bug: the sign is flipped"),
], ids=["s(1+s)", "1-s", "z(1-z)", "sigmoid", "sign"])
def test_sigmoid_derivative_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_sigmoid_derivative, fn, ref.sigmoid_derivative, hidden, match)


def test_sigmoid_derivative_overflow_only_in_hidden(capsys):
    def sigmoid_derivative(z):
        return np.exp(-z) / (1 + np.exp(-z)) ** 2
    with np.errstate(all="ignore"):
        passes(grading.check_sigmoid_derivative, sigmoid_derivative, False, capsys,
               "sigmoid_derivative")
        failure(grading.check_sigmoid_derivative, sigmoid_derivative, True,
                r"with entries up to ±1e4 returned nan at index \[0\], where a finite number "
                r"is expected")


# ---------------------------------------------------------------- relu

def relu_maximum(z):
    return np.maximum(z, 0)


def relu_where(z):
    return np.where(z > 0, z, 0.0)


def relu_mask(z):
    return z * (z > 0)


@HIDDEN
@pytest.mark.parametrize("fn", [relu_maximum, relu_where, relu_mask])
def test_relu_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_relu, fn, hidden, capsys, "relu")


def relu_minimum(z):
    return np.minimum(z, 0)


def relu_returns_mask(z):
    return (np.asarray(z) > 0).astype(float)


def relu_abs(z):
    return np.abs(z)


def relu_in_place(z):
    z[z < 0] = 0
    return z


def relu_builtin_max(z):
    return max(z, 0)


def relu_column(z):
    return np.maximum(z, 0).reshape(-1, 1)


def relu_strings(z):
    return [f"{v:.3f}" for v in np.ravel(np.maximum(z, 0))]


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (relu_minimum, r"^relu\(array \(7,\)\) is wrong at index \[\d+\]: .*Likely bug: you return "
                   r"min\(0, z\) instead of max\(0, z\)\.$"),
    (relu_returns_mask, r"Likely bug: you return the 0/1 mask \(the derivative\)"),
    (relu_abs, r"Likely bug: you return \|z\| instead of max\(0, z\)"),
    (relu_in_place, r"^relu\(array \(7,\)\) changed its argument number 1 in place\. Work on a "
                    r"copy"),
    (relu_builtin_max, r"^relu\(array \(7,\)\) raised ValueError: The truth value of an "
                       r"array with more than one element is ambiguous"),
    (relu_column, r"returned shape \(7, 1\), expected shape \(7,\)\. You kept an extra axis"),
    (relu_strings, r"returned a list; it should return a numpy array of numbers"),
], ids=["min", "mask", "abs", "in-place", "builtin-max", "column", "strings"])
def test_relu_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_relu, fn, ref.relu, hidden, match)


# ---------------------------------------------------------------- relu_derivative

def relu_derivative_where(z):
    return np.where(z > 0, 1.0, 0.0)


def relu_derivative_astype(z):
    return (np.asarray(z) > 0).astype(float)


def relu_derivative_heaviside(z):
    return np.heaviside(z, 0.0)


def relu_derivative_bool(z):
    return np.greater(z, 0) * 1           # ints 0/1


@HIDDEN
@pytest.mark.parametrize("fn", [relu_derivative_where, relu_derivative_astype,
                                relu_derivative_heaviside, relu_derivative_bool])
def test_relu_derivative_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_relu_derivative, fn, hidden, capsys, "relu_derivative")


def relu_derivative_ge(z):
    return np.where(z >= 0, 1.0, 0.0)


def relu_derivative_is_relu(z):
    return np.maximum(z, 0)


def relu_derivative_inverted(z):
    return np.where(z > 0, 0.0, 1.0)


def relu_derivative_in_place(z):
    z = np.asarray(z)
    z[z > 0] = 1
    z[z <= 0] = 0
    return z


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (relu_derivative_ge, r"^relu_derivative\(array \(7,\)\) is wrong at index \[0\]: .*Likely "
                         r"bug: at z = 0 the derivative must be 0 .*use z > 0, not z >= 0\.$"),
    (relu_derivative_is_relu, r"Likely bug: you return relu\(z\) itself"),
    (relu_derivative_inverted, r"Likely bug: the mask is inverted \(1 for negative z\)"),
    (relu_derivative_in_place, r"changed its argument number 1 in place"),
], ids=[">=", "relu", "inverted", "in-place"])
def test_relu_derivative_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_relu_derivative, fn, ref.relu_derivative, hidden, match)


# ---------------------------------------------------------------- tanh_derivative

def tanh_derivative_square(z):
    return 1 - np.tanh(z) ** 2


def tanh_derivative_sech(z):
    return 1 / np.cosh(z) ** 2


def tanh_derivative_factored(z):
    t = np.tanh(z)
    return (1 - t) * (1 + t)


@HIDDEN
@pytest.mark.parametrize("fn", [tanh_derivative_square, tanh_derivative_sech,
                                tanh_derivative_factored])
def test_tanh_derivative_accepts_correct_variants(fn, hidden, capsys):
    with np.errstate(over="ignore"):    # cosh(1e4) overflows to inf: 1 / inf is right
        passes(grading.check_tanh_derivative, fn, hidden, capsys, "tanh_derivative")


def tanh_derivative_unsquared(z):
    return 1 - np.tanh(z)


def tanh_derivative_is_tanh(z):
    return np.tanh(z)


def tanh_derivative_plus(z):
    return 1 + np.tanh(z) ** 2


def tanh_derivative_of_z(z):
    return 1 - z ** 2


def tanh_derivative_sign(z):
    return np.tanh(z) ** 2 - 1


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (tanh_derivative_unsquared, r"^tanh_derivative\(array \(7,\)\) is wrong at index \[\d+\]: "
                                r".*Likely bug: you wrote 1 - tanh\(z\) \(forgot to square"),
    (tanh_derivative_is_tanh, r"Likely bug: you return tanh\(z\) itself"),
    (tanh_derivative_plus, r"Likely bug: you wrote 1 \+ tanh\(z\)\^2 instead of 1 - tanh\(z\)\^2"),
    (tanh_derivative_of_z, r"Likely bug: you wrote 1 - z\^2: apply tanh first"),
    (tanh_derivative_sign, r"Likely bug: the sign is flipped"),
], ids=["1-tanh", "tanh", "1+tanh^2", "1-z^2", "sign"])
def test_tanh_derivative_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_tanh_derivative, fn, ref.tanh_derivative, hidden, match)


# ---------------------------------------------------------------- every chapter 2 check

CHECKS = chapter_checks("02_sigmoid")
ALL = pytest.mark.parametrize("name", list(CHECKS))


@HIDDEN
@ALL
def test_returning_nan_is_reported(name, hidden):
    def nan_at_zero(z):
        z = np.asarray(z, dtype=float)
        return np.where(z == 0, np.nan, 0.3)
    failure(CHECKS[name], nan_at_zero, hidden,
            rf"^{name}\(array \(7,\)\) returned nan at index \[0\], where a finite number is "
            r"expected")


def test_endless_loop_with_the_brief_time_limit(monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 1)

    def sigmoid(z):
        while True:
            pass
    failure(grading.check_sigmoid, sigmoid, True,
            r"did not finish within 1 s\. Look for a loop that never ends\.")


@HIDDEN
def test_scalar_inputs_accept_python_and_numpy_scalars(hidden, capsys):
    # the hidden cases pass Python floats: the answer may be a float, a numpy scalar or 0-d
    def relu(z):
        if np.ndim(z) == 0:
            return max(float(z), 0.0)
        return np.maximum(z, 0.0)
    passes(grading.check_relu, relu, hidden, capsys, "relu")


def test_scalar_input_returning_an_array_of_one_is_diagnosed():
    def sigmoid(z):
        return np.atleast_1d(sigmoid_two_branch(z))
    failure(grading.check_sigmoid, sigmoid, True,
            r"^sigmoid\(0\.75\) returned an array of shape \(1,\); it should return a single "
            r"number")
