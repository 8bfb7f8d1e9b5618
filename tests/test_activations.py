"""Tests for nnlib.activations (chapters 2 and 9)."""
import contextlib
import warnings

import numpy as np
import pytest

from nnlib.activations import (log_softmax, relu, relu_derivative, sigmoid, sigmoid_derivative,
                               softmax, tanh, tanh_derivative)
from nnlib.gradcheck import numerical_derivative

EXTREMES = np.array([-1e4, -1e3, -745.0, -710.0, -30.0, -1.0, 0.0, 1.0, 30.0, 710.0, 745.0, 1e3, 1e4])


@contextlib.contextmanager
def warnings_as_errors():
    """Any Python warning or numpy floating-point event (even underflow) raises."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


def test_sigmoid_values():
    np.testing.assert_allclose(sigmoid([-2.0, 0.0, 2.0]), 1 / (1 + np.exp([2.0, 0.0, -2.0])), rtol=1e-15)
    assert sigmoid(0) == 0.5
    assert sigmoid(np.zeros((2, 3, 4))).shape == (2, 3, 4)


def test_sigmoid_stable_at_extremes():
    with warnings_as_errors():
        s = sigmoid(EXTREMES)
        d = sigmoid_derivative(EXTREMES)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(d))
    assert s[0] == 0.0 and s[-1] == 1.0
    assert np.all(np.diff(s) >= 0)
    assert np.all((d >= 0) & (d <= 0.25))


def test_sigmoid_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        sigmoid([0.0, np.nan])


@pytest.mark.parametrize("func, deriv", [(sigmoid, sigmoid_derivative), (tanh, tanh_derivative),
                                         (relu, relu_derivative)])
def test_derivatives_match_finite_differences(func, deriv):
    # avoid |z| < 1e-3 for relu, whose kink at 0 a central difference cannot see
    for z in [-3.0, -0.7, -0.01, 0.02, 0.5, 2.5]:
        assert deriv(z) == pytest.approx(numerical_derivative(lambda t: float(func(t)), z), abs=1e-8)


def test_relu_and_derivative_convention_at_zero():
    np.testing.assert_array_equal(relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_derivative([-2.0, 0.0, 3.0]), [0.0, 0.0, 1.0])
    assert relu_derivative(0.0) == 0.0
    assert relu_derivative(np.zeros((2, 2))).dtype == np.float64


def test_tanh_derivative_at_extremes():
    with warnings_as_errors():
        d = tanh_derivative(EXTREMES)
    assert d[0] == 0.0 and d[-1] == 0.0 and tanh_derivative(0.0) == 1.0


def test_softmax_rows_sum_to_one_and_match_definition():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5, 4))
    P = softmax(Z)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(P, np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(softmax(Z + 100.0), P, rtol=1e-12)  # shift invariance
    np.testing.assert_allclose(np.exp(log_softmax(Z)), P, rtol=1e-13)


def test_softmax_and_log_softmax_stable_at_1e4():
    Z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 0.0]])
    with warnings_as_errors():
        P = softmax(Z)
        L = log_softmax(Z)
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(L))
    np.testing.assert_allclose(P, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], atol=1e-15)
    np.testing.assert_allclose(L[0], [0.0, -1e4, -2e4])


def test_softmax_against_scipy():
    from scipy import special
    Z = np.random.default_rng(1).standard_normal((6, 5)) * 10
    np.testing.assert_allclose(softmax(Z), special.softmax(Z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(log_softmax(Z), special.log_softmax(Z, axis=1), rtol=1e-12, atol=1e-12)
