"""Tests for nnlib.losses (chapters 4 and 9)."""
import contextlib
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_squared_error

from nnlib.activations import sigmoid, softmax
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.losses import (binary_cross_entropy, binary_cross_entropy_from_logits, cross_entropy,
                          cross_entropy_from_logits, mse_loss, one_hot, softmax_cross_entropy_backward)


@contextlib.contextmanager
def warnings_as_errors():
    """Any Python warning or numpy floating-point event (even underflow) raises."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


def binary_data(seed, n=20):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.uniform(0.01, 0.99, n)


# --- mean squared error ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mse_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, yhat = rng.standard_normal(15), rng.standard_normal(15)
    assert mse_loss(y, yhat) == pytest.approx(mean_squared_error(y, yhat), rel=1e-12)
    assert isinstance(mse_loss(y, yhat), float)


def test_mse_treats_flat_and_column_as_the_same():
    y = np.array([0.0, 1.0, 1.0])
    yhat = np.array([[0.5], [0.5], [1.0]])
    expected = (0.25 + 0.25 + 0.0) / 3  # not the (3, 3) broadcast, which would give 1/3
    assert mse_loss(y, yhat) == pytest.approx(expected)
    assert mse_loss(yhat, y) == pytest.approx(expected)
    assert mse_loss(y.reshape(-1, 1), yhat) == pytest.approx(expected)


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        mse_loss(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(3,\)"):
        mse_loss(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(3,\)"):
        mse_loss(np.zeros((1, 3)), np.zeros(3))


def test_mse_rejects_nan_and_empty():
    with pytest.raises(ValueError, match="yhat contains NaN at index \\(1,\\)"):
        mse_loss([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="empty"):
        mse_loss([], [])


# --- binary cross-entropy ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bce_matches_sklearn_log_loss(seed):
    y, p = binary_data(seed)
    assert binary_cross_entropy(y, p) == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)
    assert binary_cross_entropy(y, p.reshape(-1, 1)) == pytest.approx(log_loss(y, p, labels=[0, 1]),
                                                                       rel=1e-12)


def test_bce_finite_for_exact_zero_and_one():
    with warnings_as_errors():
        perfect = binary_cross_entropy([0, 1], [0.0, 1.0])
        worst = binary_cross_entropy([1, 0], [0.0, 1.0])
    assert 0.0 <= perfect < 1e-10
    assert worst == pytest.approx(-np.log(1e-12), rel=1e-6)


def test_bce_rejects_bad_labels_and_probabilities():
    with pytest.raises(ValueError, match="0/1 labels, got 2.0 at index \\(1,\\)"):
        binary_cross_entropy([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="probabilities.*3.0 at index \\(0,\\)"):
        binary_cross_entropy([0, 1], [3.0, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        binary_cross_entropy([0, 1], [np.nan, 0.5])
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 4\)"):
        binary_cross_entropy(np.zeros(4), np.full((4, 4), 0.5))


@pytest.mark.parametrize("seed", [0, 1])
def test_bce_from_logits_matches_probability_version(seed):
    rng = np.random.default_rng(seed)
    y, z = rng.integers(0, 2, 12), rng.normal(scale=3.0, size=12)
    assert binary_cross_entropy_from_logits(y, z) == pytest.approx(binary_cross_entropy(y, sigmoid(z)),
                                                                   rel=1e-10)


def test_bce_from_logits_stable_at_1e4():
    with warnings_as_errors():
        loss_right = binary_cross_entropy_from_logits([1, 0], [1e4, -1e4])
        loss_wrong = binary_cross_entropy_from_logits([0, 1], [1e4, -1e4])
    assert loss_right == 0.0
    assert loss_wrong == pytest.approx(1e4)


def test_bce_against_scikit_learn():
    from scipy.special import expit
    rng = np.random.default_rng(4)
    y, z = rng.integers(0, 2, 30).astype(float), rng.normal(scale=5.0, size=30)
    # log_loss takes probabilities: 1 - expit(z) loses digits for large z, hence rel=1e-9
    assert binary_cross_entropy_from_logits(y, z) == pytest.approx(log_loss(y, expit(z)), rel=1e-9)
    p = sigmoid(z / 5)
    assert binary_cross_entropy(y, p) == pytest.approx(log_loss(y, p), rel=1e-12)


# --- one-hot and multi-class cross-entropy ------------------------------------------------------

def test_one_hot_values():
    encoded = one_hot(np.array([2, 0, 1, 2]), 3)
    np.testing.assert_array_equal(encoded, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert encoded.dtype == np.float64
    np.testing.assert_array_equal(one_hot([1.0, 0.0], 2), [[0, 1], [1, 0]])  # integral floats are fine


@pytest.mark.parametrize("labels, message", [
    ([0, 3, 1], "label 3 at index 1 .* out of range for 3 classes"),
    ([0, -1], "label -1 at index 1 .* out of range"),
    ([0.0, 1.5], "integer class labels, got 1.5 at index 1"),
    ([0.0, np.nan], "NaN at index \\(1,\\)"),
    (np.array([0, 3, 1]), "label 3 at index 1 .* out of range for 3 classes"),     # int arrays
    (np.array([0, -1], dtype=np.int8), "label -1 at index 1 .* out of range"),
    (np.array([4], dtype=np.uint8), "label 4 at index 0 .* out of range"),
    (np.array([[0, 1]]), "must be 1-D"),
])
def test_one_hot_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, 3)


def test_one_hot_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        one_hot([0], 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_matches_sklearn_and_logits_version(seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=(10, 4))
    y = rng.integers(0, 4, 10)
    probs = softmax(Z)
    expected = log_loss(y, probs, labels=[0, 1, 2, 3])
    assert cross_entropy(probs, y) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_from_logits(Z, y) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_clips_zero_probability():
    loss = cross_entropy(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 1]))
    assert loss == pytest.approx(-np.log(1e-12) / 2)


def test_cross_entropy_from_logits_stable_at_1e4():
    Z = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]])
    with warnings_as_errors():
        right = cross_entropy_from_logits(Z, [0, 1])
        wrong = cross_entropy_from_logits(Z, [2, 0])
    assert right == 0.0
    assert wrong == pytest.approx(2e4)


def test_cross_entropy_errors():
    probs = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match=r"probs has shape \(3, 2\) but y has shape \(2,\)"):
        cross_entropy(probs, [0, 1])
    with pytest.raises(ValueError, match="label 2 at index 0"):
        cross_entropy(probs, [2, 0, 1])
    with pytest.raises(ValueError, match="2-D"):
        cross_entropy(np.full(3, 0.5), [0, 1, 1])
    with pytest.raises(ValueError, match=r"Z has shape \(3, 2\) but y has shape \(4,\)"):
        cross_entropy_from_logits(np.zeros((3, 2)), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="probabilities"):
        softmax_cross_entropy_backward(np.full((1, 2), 2.0), [0])


@pytest.mark.parametrize("n, k, seed", [(1, 2, 0), (5, 3, 1), (8, 6, 2)])
def test_softmax_cross_entropy_backward_matches_finite_differences(n, k, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=(n, k))
    y = rng.integers(0, k, n)
    analytic = softmax_cross_entropy_backward(softmax(Z), y)
    numeric = numerical_gradient(lambda logits: cross_entropy_from_logits(logits, y), Z)
    assert analytic.shape == (n, k)
    assert rel_error(analytic, numeric) < 1e-6
    np.testing.assert_allclose(analytic, (softmax(Z) - one_hot(y, k)) / n, rtol=1e-15)
