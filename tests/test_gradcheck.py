"""Tests for nnlib.gradcheck (chapter 3)."""
import numpy as np
import pytest

from nnlib.gradcheck import (check_gradients, directional_check, numerical_derivative,
                             numerical_gradient, rel_error)


def test_numerical_derivative_polynomial_and_exp():
    assert numerical_derivative(lambda x: 3 * x ** 2 - 4 * x + 5, 3.0) == pytest.approx(14.0, rel=1e-9)
    assert numerical_derivative(np.exp, 1.0) == pytest.approx(np.e, rel=1e-9)
    assert isinstance(numerical_derivative(np.sin, 0.3), float)


def test_numerical_derivative_is_central_not_one_sided():
    # for x^2 the central difference is exact up to rounding; rise-over-run would be off by h
    assert numerical_derivative(lambda x: x * x, 2.0, h=1e-3) == pytest.approx(4.0, abs=1e-9)


def test_numerical_derivative_bad_input():
    with pytest.raises(ValueError, match="positive"):
        numerical_derivative(np.sin, 1.0, h=0.0)
    with pytest.raises(ValueError, match="NaN"):
        numerical_derivative(np.sin, np.nan)
    with pytest.raises(ValueError, match="finite"):
        numerical_derivative(lambda x: np.nan, 1.0)


@pytest.mark.parametrize("shape", [(), (4,), (3, 2), (2, 3, 2)])
@pytest.mark.parametrize("seed", [0, 1])
def test_numerical_gradient_matches_analytic(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    A = rng.standard_normal(shape)
    grad = numerical_gradient(lambda v: np.sum(A * v ** 2) + np.sum(np.sin(v)), x)
    assert grad.shape == x.shape
    assert rel_error(grad, 2 * A * x + np.cos(x)) < 1e-7


def test_numerical_gradient_leaves_x_unchanged_bitwise():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)) * 1e-7  # entries much smaller than h: (x + h) - h != x
    assert np.any((x + 1e-5) - 1e-5 != x)
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    assert calls[2][1] != 2.0  # the failure happened while x[1] was perturbed


def test_numerical_gradient_perturbs_in_place():
    # the CS231n pattern: f ignores its argument and reads the array through a closure
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda _: float(np.sum(W ** 2)), W)
    assert rel_error(grad, 2 * W) < 1e-8


def test_numerical_gradient_rejects_integer_and_float32_arrays():
    with pytest.raises(TypeError, match="int64.*floats"):
        numerical_gradient(np.sum, np.arange(3))
    with pytest.raises(TypeError, match="float32"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="numpy array"):
        numerical_gradient(np.sum, [1.0, 2.0])


def test_numerical_gradient_rejects_nan_and_vector_valued_f():
    with pytest.raises(ValueError, match="NaN"):
        numerical_gradient(np.sum, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"scalar.*x\[0\] \+ h.*\(2,\)"):
        numerical_gradient(lambda v: v * 2, np.ones(2))
    params = {"W": np.ones((2, 2))}
    with pytest.raises(ValueError, match=r"nan at params\['W'\]\[1, 0\] - h"):
        check_gradients(lambda: np.nan if params["W"][1, 0] < 1 else 0.0, params, {"W": np.zeros((2, 2))})


def test_rel_error_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(np.array([1.0, 0.0]), np.array([1.0, 1e-10])) == pytest.approx(1e-2)  # eps floor
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0, 2.0], [1.0, -2.0]) == pytest.approx(1.0)
    assert isinstance(rel_error(np.ones(2), np.ones(2)), float)


def test_rel_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        rel_error(np.ones(3), np.ones((3, 1)))


def test_rel_error_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        rel_error(np.array([np.nan]), np.array([1.0]))


def _quadratic_model(seed):
    """A small model with a known gradient: loss = sum((X W + b - T)^2) / n."""
    rng = np.random.default_rng(seed)
    X, T = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}

    def loss():
        return float(np.sum((X @ params["W"] + params["b"] - T) ** 2) / 6)

    R = 2 * (X @ params["W"] + params["b"] - T) / 6
    return loss, params, {"W": X.T @ R, "b": R.sum(axis=0)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_gradients_accepts_correct_and_flags_wrong(seed):
    loss, params, grads = _quadratic_model(seed)
    before = {k: v.copy() for k, v in params.items()}
    errors = check_gradients(loss, params, grads)
    assert set(errors) == {"W", "b"} and max(errors.values()) < 1e-7
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    wrong = {"W": grads["W"], "b": grads["b"] * 1.01}
    errors = check_gradients(loss, params, wrong)
    assert errors["W"] < 1e-7 and errors["b"] > 1e-3


def test_check_gradients_subset_uses_rng_and_catches_errors():
    loss, params, grads = _quadratic_model(0)
    calls = []

    def counting_loss():
        calls.append(1)
        return loss()

    errors = check_gradients(counting_loss, params, grads, max_entries=2, rng=np.random.default_rng(5))
    assert max(errors.values()) < 1e-7
    assert len(calls) == 2 * 2 * 2  # two entries per key, two evaluations per entry
    wrong = {"W": np.full_like(grads["W"], 7.0), "b": grads["b"]}
    assert check_gradients(loss, params, wrong, max_entries=1)["W"] > 1e-3


def test_check_gradients_key_and_shape_errors():
    loss, params, grads = _quadratic_model(0)
    with pytest.raises(ValueError, match=r"missing from grads: \['b'\].*extra in grads: \['c'\]"):
        check_gradients(loss, params, {"W": grads["W"], "c": grads["b"]})
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        check_gradients(loss, params, {"W": grads["W"].T, "b": grads["b"]})
    with pytest.raises(ValueError, match="max_entries"):
        check_gradients(loss, params, grads, max_entries=0)


@pytest.mark.parametrize("seed", [0, 3])
def test_directional_check(seed):
    loss, params, grads = _quadratic_model(seed)
    before = {k: v.copy() for k, v in params.items()}
    assert directional_check(loss, params, grads, rng=np.random.default_rng(seed)) < 1e-7
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    wrong = {"W": grads["W"] * 1.1, "b": grads["b"]}
    assert directional_check(loss, params, wrong, num_directions=3) > 1e-3


def test_directional_check_restores_params_when_f_raises():
    loss, params, grads = _quadratic_model(1)
    before = {k: v.copy() for k, v in params.items()}

    def failing():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        directional_check(failing, params, grads)
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
