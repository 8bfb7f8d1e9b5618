"""Tests for nnlib.network (chapters 4 and 5)."""
import numpy as np
import pytest

from nnlib.activations import sigmoid
from nnlib.gradcheck import check_gradients, directional_check, numerical_gradient, rel_error
from nnlib.losses import binary_cross_entropy
from nnlib.network import backward, forward, init_params, neuron_backward


def test_init_params_shapes_of_the_article():
    params = init_params([13, 8, 1])
    assert {k: v.shape for k, v in params.items()} == {"W1": (13, 8), "b1": (8,), "W2": (8, 1), "b2": (1,)}
    assert all(v.dtype == np.float64 for v in params.values())


@pytest.mark.parametrize("sizes", [[4, 1], [3, 5, 2], [6, 4, 4, 3, 1]])
def test_init_params_general_rule(sizes):
    params = init_params(sizes)
    assert len(params) == 2 * (len(sizes) - 1)
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        assert params[f"W{layer}"].shape == (fan_in, fan_out)
        np.testing.assert_array_equal(params[f"b{layer}"], np.zeros(fan_out))


def test_init_params_he_scale_and_seed():
    params = init_params([500, 400, 1], seed=3)
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    rng = np.random.default_rng(3)
    expected_W1 = rng.standard_normal((500, 400)) * np.sqrt(2 / 500)
    np.testing.assert_array_equal(params["W1"], expected_W1)
    np.testing.assert_array_equal(init_params([500, 400, 1], seed=3)["W2"], params["W2"])
    assert not np.array_equal(init_params([500, 400, 1], seed=4)["W1"], params["W1"])


@pytest.mark.parametrize("sizes, message", [
    ([5], "at least 2"), ([], "at least 2"), ([3, 0, 1], "got 0 at index 1"),
    ([3, 2.5, 1], "got 2.5 at index 1"), ([3, -1], "got -1 at index 1"),
])
def test_init_params_rejects_bad_layer_lists(sizes, message):
    with pytest.raises(ValueError, match=message):
        init_params(sizes)


def test_forward_matches_manual_two_layer_pass():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 13))
    params = init_params([13, 8, 1], seed=1)
    params["b1"] = rng.standard_normal(8)
    yhat, cache = forward(X, params)
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ params["W2"] + params["b2"]
    assert yhat.shape == (7, 1)
    assert set(cache) == {"A0", "Z1", "A1", "Z2", "A2"}
    np.testing.assert_array_equal(cache["A0"], X)
    np.testing.assert_allclose(cache["Z1"], Z1, rtol=1e-14)
    np.testing.assert_allclose(cache["A1"], A1, rtol=1e-14)
    np.testing.assert_allclose(yhat, 1 / (1 + np.exp(-Z2)), rtol=1e-14)
    assert yhat is cache["A2"]


def test_forward_infers_depth_from_params():
    X = np.random.default_rng(2).standard_normal((4, 3))
    yhat, cache = forward(X, init_params([3, 5, 4, 2, 1]))
    assert yhat.shape == (4, 1)
    assert sorted(cache) == ["A0", "A1", "A2", "A3", "A4", "Z1", "Z2", "Z3", "Z4"]
    assert np.all(cache["A2"] >= 0)  # hidden layers are ReLU


def test_forward_error_messages():
    params = init_params([3, 4, 1])
    with pytest.raises(ValueError, match=r"X has shape \(2, 5\) but W1 has shape \(3, 4\)"):
        forward(np.ones((2, 5)), params)
    with pytest.raises(ValueError, match="2-D"):
        forward(np.ones(3), params)
    broken = dict(params, W2=np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"W1 has shape \(3, 4\) but W2 has shape \(5, 1\)"):
        forward(np.ones((2, 3)), broken)
    broken = dict(params, b1=np.ones(3))
    with pytest.raises(ValueError, match=r"b1 has shape \(3,\)"):
        forward(np.ones((2, 3)), broken)
    missing = {k: v for k, v in params.items() if k not in ("b1", "W2")}
    with pytest.raises(ValueError, match="missing b1, W2"):
        forward(np.ones((2, 3)), missing)
    with pytest.raises(ValueError, match="no layers"):
        forward(np.ones((2, 3)), {})
    with pytest.raises(ValueError, match="NaN"):
        forward(np.array([[1.0, np.nan, 0.0]]), params)


def _bce_loss_of(X, y, params):
    return lambda: binary_cross_entropy(y, forward(X, params)[0])


@pytest.mark.parametrize("sizes, n, seed", [
    ([3, 1], 5, 0), ([4, 6, 1], 8, 1), ([2, 5, 3, 1], 10, 2), ([13, 8, 1], 16, 3), ([5, 4, 3], 6, 4),
])
def test_backward_matches_finite_differences(sizes, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, 2, (n, sizes[-1])) if sizes[-1] > 1 else rng.integers(0, 2, n)
    params = init_params(sizes, seed=seed)
    for layer in range(1, len(sizes)):
        params[f"b{layer}"] += 0.1 * rng.standard_normal(sizes[layer])  # test the biases too
    yhat, cache = forward(X, params)
    grads = backward(X, y, params, cache)
    assert list(grads) == [f"{k}{layer}" for layer in range(1, len(sizes)) for k in ("dW", "db")]
    for key, param in params.items():
        assert grads["d" + key].shape == param.shape
    errors = check_gradients(_bce_loss_of(X, y, params), params, {k: grads["d" + k] for k in params})
    assert max(errors.values()) < 1e-6, errors
    assert directional_check(_bce_loss_of(X, y, params), params,
                             {k: grads["d" + k] for k in params}) < 1e-6


def test_backward_accepts_column_labels_and_matches_finite_differences():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((9, 4)), rng.integers(0, 2, 9)
    params = init_params([4, 7, 1], seed=2)
    yhat, cache = forward(X, params)
    grads = backward(X, y, params, cache)
    grads_col = backward(X, y.reshape(-1, 1), params, cache)
    for key in grads:
        np.testing.assert_array_equal(grads[key], grads_col[key])
    for key in params:
        numeric = numerical_gradient(lambda _: binary_cross_entropy(y, forward(X, params)[0]),
                                     params[key])
        assert rel_error(grads["d" + key], numeric) < 1e-6, key


def test_backward_errors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3))
    params = init_params([3, 2, 1])
    _, cache = forward(X, params)
    with pytest.raises(ValueError, match=r"y has shape \(5,\) but the network output A2 has shape \(4, 1\)"):
        backward(X, np.zeros(5), params, cache)
    with pytest.raises(ValueError, match="0/1 labels, got 3.0 at row 2"):
        backward(X, np.array([0, 1, 3, 0]), params, cache)
    with pytest.raises(ValueError, match="cache is missing Z2, A2"):
        backward(X, np.zeros(4), params, {"A0": X, "Z1": cache["Z1"], "A1": cache["A1"]})
    with pytest.raises(ValueError, match=r"X has shape \(2, 3\) but the cached output"):
        backward(X[:2], np.zeros(2), params, cache)
    with pytest.raises(ValueError, match="NaN"):
        backward(X, np.array([0, 1, np.nan, 0]), params, cache)


def _neuron_loss(x, y, w, b):
    return float((sigmoid(x @ w + b) - y) ** 2)


@pytest.mark.parametrize("d, seed", [(1, 0), (3, 1), (13, 2)])
def test_neuron_backward_matches_finite_differences(d, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(d), rng.standard_normal(d)
    b, y = float(rng.standard_normal()), float(rng.integers(0, 2))
    dL_dw, dL_db = neuron_backward(x, y, w, b)
    assert dL_dw.shape == (d,) and isinstance(dL_db, float)
    assert rel_error(dL_dw, numerical_gradient(lambda v: _neuron_loss(x, y, v, b), w.copy())) < 1e-7
    numeric_b = numerical_gradient(lambda v: _neuron_loss(x, y, w, v[0]), np.array([b]))[0]
    assert rel_error(dL_db, numeric_b) < 1e-7


def test_neuron_backward_chain_rule_pieces():
    x, w, b, y = np.array([1.0, -2.0]), np.array([0.5, 0.25]), 0.0, 1.0
    # z = 0, pred = 0.5: dL/dpred = -1, dpred/dz = 0.25, so dL/dz = -0.25
    dL_dw, dL_db = neuron_backward(x, y, w, b)
    np.testing.assert_allclose(dL_dw, [-0.25, 0.5])
    assert dL_db == pytest.approx(-0.25)


def test_neuron_backward_errors():
    with pytest.raises(ValueError, match=r"x has shape \(3,\) but w has shape \(2,\)"):
        neuron_backward(np.ones(3), 1.0, np.ones(2), 0.0)
    with pytest.raises(ValueError, match=r"y must be a scalar, got shape \(2,\)"):
        neuron_backward(np.ones(2), np.ones(2), np.ones(2), 0.0)
    with pytest.raises(ValueError, match="NaN"):
        neuron_backward(np.ones(2), 1.0, np.ones(2), np.nan)
