"""Tests for nnlib.grading.vectors: the chapter 1 checks (01_dot_product).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import math
import re

import numpy as np
import pytest

import nnlib.grading.core as core
from nnlib import grading
from nnlib import vectors as ref

from gradingtools import HIDDEN, chapter_checks, failure, passes, wrong


# ---------------------------------------------------------------- dot_loop

def dot_loop_for_zip(x, w):
    if len(x) != len(w):
        raise ValueError("x and w must have the same length")
    total = 0.0
    for xi, wi in zip(x, w):
        total += xi * wi
    return float(total)


def dot_loop_while(x, w):
    if len(x) != len(w):
        raise ValueError(f"lengths differ: {len(x)} vs {len(w)}")
    total = np.float64(0.0)
    i = 0
    while i < len(x):
        total = total + x[i] * w[i]
        i += 1
    return total                         # a numpy scalar


def dot_loop_range_index(x, w):
    n = len(x)
    if n != len(w):
        raise ValueError("length mismatch")
    total = 0
    for i in range(n):
        total += x[i] * w[i]
    return total                         # an int for int lists


@HIDDEN
@pytest.mark.parametrize("fn", [dot_loop_for_zip, dot_loop_while, dot_loop_range_index])
def test_dot_loop_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_dot_loop, fn, hidden, capsys, "dot_loop")


def dot_loop_no_length_check(x, w):
    total = 0.0
    for xi, wi in zip(x, w):
        total += xi * wi
    return total


def dot_loop_skips_last(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    total = 0.0
    for i in range(len(x) - 1):
        total += x[i] * w[i]
    return total


def dot_loop_resets_total(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    for xi, wi in zip(x, w):
        total = 0.0
        total += xi * wi
    return total


def dot_loop_adds(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    total = 0.0
    for xi, wi in zip(x, w):
        total += xi + wi
    return total


def dot_loop_no_return(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    total = 0.0
    for xi, wi in zip(x, w):
        total += xi * wi


def dot_loop_in_place(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    for i in range(len(x)):
        x[i] = x[i] * w[i]
    return float(sum(x))


def dot_loop_index_error(x, w):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * w[i]
    return total


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (dot_loop_no_length_check, r"returned normally, but it should raise ValueError because x "
                               r"and w have different lengths"),
    (dot_loop_skips_last, r"is wrong.*Likely bug: the loop skips the last entry"),
    (dot_loop_resets_total, r"Likely bug: the running total is reset inside the loop"),
    (dot_loop_adds, r"Likely bug: you add x_i \+ w_i instead of multiplying them"),
    (dot_loop_no_return, r"dot_loop\(array \(\d+,\), array \(\d+,\)\) returned None\. Did you "
                         r"forget the `return` statement\?"),
    (dot_loop_in_place, r"changed its argument number 1 in place"),
], ids=["no-ValueError", "skips-last", "resets-total", "adds", "no-return", "in-place"])
def test_dot_loop_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_dot_loop, fn, ref.dot_loop, hidden, match)


def test_dot_loop_index_error_on_mismatch_is_not_a_value_error():
    failure(grading.check_dot_loop, dot_loop_index_error, False,
            r"dot_loop\(array \(3,\), array \(4,\)\) returned normally")

    def longer_x_fails(x, w):           # IndexError when x is the longer one
        return dot_loop_index_error(w, x)
    failure(grading.check_dot_loop, longer_x_fails, False,
            r"raised IndexError, but it should raise ValueError because x and w have "
            r"different lengths")


def dot_loop_without_loop(x, w):
    if len(x) != len(w):
        raise ValueError("length mismatch")
    return float(np.dot(x, w))


@pytest.mark.parametrize("hidden", [False, True])
def test_dot_loop_without_a_loop_fails(hidden):
    failure(grading.check_dot_loop, dot_loop_without_loop, hidden,
            r"dot_loop must compute the sum with an explicit for loop.*yours has no loop")


def test_dot_loop_comprehension_counts_as_a_loop(capsys):
    def dot_loop(x, w):
        if len(x) != len(w):
            raise ValueError("length mismatch")
        return sum(xi * wi for xi, wi in zip(x, w))
    passes(grading.check_dot_loop, dot_loop, True, capsys, "dot_loop")


def test_dot_loop_hidden_mismatch_with_lists():
    # passes the arrays (3 vs 4) but not lists (2 vs 1): only the hidden check sees that
    def dot_loop(x, w):
        if isinstance(x, np.ndarray) and len(x) != len(w):
            raise ValueError("length mismatch")
        total = 0.0
        for xi, wi in zip(x, w):
            total += xi * wi
        return total
    grading.check_dot_loop(dot_loop)
    failure(grading.check_dot_loop, dot_loop, True,
            r"dot_loop\(list of 2, list of 1\) returned normally, but it should raise ValueError")


def test_dot_loop_endless_on_mismatch_reported_by_expect_raises(monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 1)

    def dot_loop(x, w):
        i, total = 0, 0.0
        while i < len(x):
            total += x[i] * w[i]
            if len(x) == len(w):
                i += 1
        return total
    failure(grading.check_dot_loop, dot_loop, False,
            r"dot_loop\(array \(3,\), array \(4,\)\) did not finish within 1 s")


# ---------------------------------------------------------------- dot

def dot_np(x, w):
    return np.dot(x, w)                  # numpy scalar


def dot_float_sum(x, w):
    return float(np.sum(np.asarray(x) * np.asarray(w)))


def dot_zero_d(x, w):
    return np.asarray(np.einsum("i,i->", x, w))    # a 0-d array


@HIDDEN
@pytest.mark.parametrize("fn", [dot_np, dot_float_sum, dot_zero_d])
def test_dot_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_dot, fn, hidden, capsys, "dot")


def dot_sign(x, w):
    return -np.dot(x, w)


def dot_squared(x, w):
    return np.sum(x ** 2 * w)


def dot_adds(x, w):
    return np.sum(x) + np.sum(w)


def dot_elementwise(x, w):
    return x * w


def dot_float_of_array(x, w):
    return float(x) * float(w)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (dot_sign, r"dot\(array \(\d+,\), array \(\d+,\)\) is wrong: relative error .*"
               r"Likely bug: the sign is flipped\."),
    (dot_squared, r"Likely bug: you multiply by the squared entries"),
    (dot_adds, r"Likely bug: you add x_i \+ w_i instead of multiplying them"),
    (dot_elementwise, r"returned an array of shape \(\d+,\); it should return a single number"),
    (dot_float_of_array, r"^dot\(array \(\d+,\), array \(\d+,\)\) raised TypeError: "
                         r"only .*arrays can be converted to Python scalars$"),
], ids=["sign", "squared", "adds", "elementwise", "TypeError"])
def test_dot_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_dot, fn, ref.dot, hidden, match)


# ---------------------------------------------------------------- cosine_similarity

def cosine_norm(x, w):
    return np.dot(x, w) / (np.linalg.norm(x) * np.linalg.norm(w))


def cosine_sqrt(x, w):
    return float(np.dot(x, w) / math.sqrt(np.dot(x, x) * np.dot(w, w)))


def cosine_loop_zero_d(x, w):
    num = sum(a * b for a, b in zip(x, w))
    den = np.sqrt(sum(a * a for a in x)) * np.sqrt(sum(b * b for b in w))
    return np.asarray(num / den)


@HIDDEN
@pytest.mark.parametrize("fn", [cosine_norm, cosine_sqrt, cosine_loop_zero_d])
def test_cosine_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_cosine_similarity, fn, hidden, capsys, "cosine_similarity")


def cosine_plain_dot(x, w):
    return np.dot(x, w)


def cosine_squared_lengths(x, w):
    return np.dot(x, w) / (np.dot(x, x) * np.dot(w, w))


def cosine_one_norm(x, w):
    return np.dot(x, w) / np.linalg.norm(x)


def cosine_sign(x, w):
    return -np.dot(x, w) / (np.linalg.norm(x) * np.linalg.norm(w))


def cosine_angle(x, w):
    return np.arccos(np.dot(x, w) / (np.linalg.norm(x) * np.linalg.norm(w)))


def cosine_nan(x, w):
    return np.dot(x, w) / (np.linalg.norm(x) * np.linalg.norm(x - x))


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (cosine_plain_dot, r"Likely bug: you return the plain dot product: divide by both"),
    (cosine_squared_lengths, r"Likely bug: you divide by the squared lengths"),
    (cosine_one_norm, r"Likely bug: you divide by the length of only one vector"),
    (cosine_sign, r"Likely bug: the sign is flipped"),
    (cosine_angle, r"cosine_similarity\(array \(\d+,\), array \(\d+,\)\) is wrong: relative "
                   r"error [\d.e+-]+\. Your value there is [\d.e+-]+\.$"),
    (cosine_nan, r"returned (nan|inf|-inf) at the result, where a finite number is expected"),
], ids=["plain-dot", "squared-lengths", "one-norm", "sign", "angle", "nan"])
def test_cosine_rejects_wrong_variants(fn, match, hidden):
    with np.errstate(all="ignore"):
        wrong(grading.check_cosine_similarity, fn, ref.cosine_similarity, hidden, match)


# ---------------------------------------------------------------- most_similar

def most_similar_argmax(x, candidates):
    return int(np.argmax(candidates @ x))


def most_similar_loop(x, candidates):
    best, best_score = 0, -np.inf
    for i, row in enumerate(candidates):
        score = np.dot(row, x)
        if score > best_score:
            best, best_score = i, score
    return best


def most_similar_numpy_int(x, candidates):
    return np.argmax(np.einsum("kd,d->k", candidates, x))    # np.int64


@HIDDEN
@pytest.mark.parametrize("fn", [most_similar_argmax, most_similar_loop, most_similar_numpy_int])
def test_most_similar_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_most_similar, fn, hidden, capsys, "most_similar")


def most_similar_argmin(x, candidates):
    return int(np.argmin(candidates @ x))


def most_similar_cosine(x, candidates):
    cos = candidates @ x / (np.linalg.norm(candidates, axis=1) * np.linalg.norm(x))
    return int(np.argmax(cos))


def most_similar_row_sum(x, candidates):
    return int(np.argmax(candidates.sum(axis=1)))


def most_similar_float(x, candidates):
    return float(np.argmax(candidates @ x))


def most_similar_row(x, candidates):
    return candidates[np.argmax(candidates @ x)]


def most_similar_flat(x, candidates):
    return int(np.argmax(candidates * x))


def most_similar_no_return(x, candidates):
    int(np.argmax(candidates @ x))


def assert_no_index_leak(message, check_name="most_similar"):
    """Only the input shapes and the student's own index may be numbers in the message."""
    rest = re.sub(r"most_similar\(array \(\d+,\), array \(\d+, \d+\)\)", "", message)
    rest = re.sub(r"returned -?\d+(\.\d+)?", "", rest, count=1)
    assert not re.search(r"\d", rest), message


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (most_similar_argmin, r"which is not the row with the largest dot product\. Likely bug: "
                          r"you picked the smallest dot product \(argmin instead of argmax\)"),
    (most_similar_cosine, r"Likely bug: you compared cosine similarities"),
    (most_similar_row_sum, r"Likely bug: you ranked rows by their sum"),
    (most_similar_float, r"returned a float; it should return the row index as an int"),
    (most_similar_row, r"returned a ndarray; it should return the row index as an int"),
    (most_similar_flat, r"returned \d+, which is not the row with the largest dot product\."),
    (most_similar_no_return, r"returned None\. Did you forget the `return` statement\?"),
], ids=["argmin", "cosine", "row-sum", "float", "row", "flat-argmax", "no-return"])
def test_most_similar_rejects_wrong_variants(fn, match, hidden):
    message = failure(grading.check_most_similar, fn, hidden, match)
    assert_no_index_leak(message)


def test_most_similar_invalid_index_is_named():
    def most_similar(x, candidates):
        return len(candidates)          # one past the last row
    message = failure(grading.check_most_similar, most_similar, False,
                      r"That is not a valid row index\.")
    assert_no_index_leak(message)


def test_most_similar_endless_loop(monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 1)

    def most_similar(x, candidates):
        i = 0
        while i < len(candidates):
            best = i
        return best
    failure(grading.check_most_similar, most_similar, False,
            r"most_similar\(array \(3,\), array \(4, 3\)\) did not finish within 1 s\. "
            r"Look for a loop that never ends\.")


# ---------------------------------------------------------------- neuron

def neuron_np(x, w, b):
    return np.dot(x, w) + b


def neuron_loop(x, w, b):
    z = float(b)
    for xi, wi in zip(x, w):
        z += xi * wi
    return z


def neuron_zero_d(x, w, b):
    return np.add(x @ w, b, out=np.empty(()))


@HIDDEN
@pytest.mark.parametrize("fn", [neuron_np, neuron_loop, neuron_zero_d])
def test_neuron_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_neuron, fn, hidden, capsys, "neuron")


def neuron_no_bias(x, w, b):
    return np.dot(x, w)


def neuron_minus_bias(x, w, b):
    return np.dot(x, w) - b


def neuron_times_bias(x, w, b):
    return np.dot(x, w) * b


def neuron_sign(x, w, b):
    return -(np.dot(x, w) + b)


def neuron_formatted(x, w, b):
    return f"{np.dot(x, w) + b:.3f}"


def neuron_vector(x, w, b):
    return x * w + b


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (neuron_no_bias, r"^neuron\(array \(\d+,\), array \(\d+,\), -?[\d.e+-]+\) is wrong: .*"
                     r"Likely bug: the bias is missing\.$"),
    (neuron_minus_bias, r"Likely bug: the bias is subtracted instead of added"),
    (neuron_times_bias, r"Likely bug: the bias is multiplied instead of added"),
    (neuron_sign, r"Likely bug: the sign is flipped"),
    (neuron_formatted, r"returned a str; it should return a number"),
    (neuron_vector, r"returned an array of shape \(\d+,\); it should return a single number"),
], ids=["no-bias", "minus-bias", "times-bias", "sign", "str", "vector"])
def test_neuron_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_neuron, fn, ref.neuron, hidden, match)


# ---------------------------------------------------------------- dense

def dense_matmul(X, W, b):
    return X @ W + b


def dense_einsum(X, W, b):
    return np.einsum("nd,dh->nh", X, W) + b[np.newaxis, :]


def dense_rows(X, W, b):
    return np.array([np.dot(row, W) + b for row in X])


@HIDDEN
@pytest.mark.parametrize("fn", [dense_matmul, dense_einsum, dense_rows])
def test_dense_accepts_correct_variants(fn, hidden, capsys):
    passes(grading.check_dense, fn, hidden, capsys, "dense")


def dense_no_bias(X, W, b):
    return X @ W


def dense_transposed(X, W, b):
    return (X @ W + b).T


def dense_bias_sum(X, W, b):
    return X @ W + np.sum(b)


def dense_bias_column(X, W, b):
    return X @ W + b.reshape(-1, 1)


def dense_summed_rows(X, W, b):
    return np.sum(X @ W + b, axis=0)


def dense_sign(X, W, b):
    return -(X @ W + b)


def dense_bias_in_place(X, W, b):
    out = X @ W
    out += b
    X *= 1.0
    W += 0.0
    b -= b            # clears the caller's bias
    return out


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (dense_no_bias, r"^dense\(array \(\d+, \d+\), array \(\d+, \d+\), array \(\d+,\)\) is wrong "
                    r"at index \[\d+, \d+\]: relative error .* entries are wrong\)\. .*"
                    r"Likely bug: the bias is missing\.$"),
    (dense_transposed, r"returned shape \(2, 4\), expected shape \(4, 2\)\. It looks transposed"),
    (dense_bias_sum, r"Likely bug: the bias is added once per example"),
    (dense_bias_column, r"^dense\(array \(4, 3\), array \(3, 2\), array \(2,\)\) raised "
                        r"ValueError: operands could not be broadcast together"),
    (dense_summed_rows, r"returned shape \(2,\), expected shape \(4, 2\)\. Did you reduce"),
    (dense_sign, r"Likely bug: the sign is flipped"),
    (dense_bias_in_place, r"changed its argument number 3 in place"),
], ids=["no-bias", "transposed", "bias-sum", "bias-column", "summed", "sign", "in-place"])
def test_dense_rejects_wrong_variants(fn, match, hidden):
    wrong(grading.check_dense, fn, ref.dense, hidden, match)


# ---------------------------------------------------------------- every chapter 1 check

CHECKS = chapter_checks("01_dot_product")
ALL = pytest.mark.parametrize("name", list(CHECKS))


@HIDDEN
@ALL
def test_list_of_strings_is_rejected(name, hidden):
    def strings(*args):
        return [str(v) for v in np.atleast_1d(args[0])]
    failure(CHECKS[name], strings, hidden, rf"^{name}\(.*\) returned a list; it should return")


def test_hidden_runs_more_cases_than_visible(capsys):
    counts = {}
    for hidden in (False, True):
        grading.check_dense(dense_matmul, hidden=hidden)
        counts[hidden] = int(re.search(r"(\d+) checks? passed", capsys.readouterr().out)[1])
    assert counts[True] > counts[False]
