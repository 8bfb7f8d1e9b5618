"""Tests for nnlib.layers: every backward against finite differences, dtypes, input-grad skipping."""
import warnings

import numpy as np
import pytest

from nnlib.activations import sigmoid, softmax
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.layers import Linear, ReLU, Sequential, Sigmoid, SoftmaxCrossEntropy, Tanh
from nnlib.losses import cross_entropy_from_logits, softmax_cross_entropy_backward

SHAPES = [(1, 1, 1), (3, 4, 2), (7, 5, 6), (16, 3, 9)]  # (n, in, out)


def _upstream_loss(layer, X, G):
    """Scalar sum(layer(X) * G): its gradient w.r.t. the output is exactly G."""
    return lambda _: float(np.sum(layer.forward(X) * G))


@pytest.mark.parametrize("n, d_in, d_out", SHAPES)
def test_linear_backward_matches_finite_differences(n, d_in, d_out):
    rng = np.random.default_rng(n * 100 + d_in)
    layer = Linear(d_in, d_out, rng=rng)
    X = rng.standard_normal((n, d_in))
    G = rng.standard_normal((n, d_out))
    layer.forward(X)
    dX = layer.backward(G)
    f = _upstream_loss(layer, X, G)
    assert rel_error(dX, numerical_gradient(f, X)) < 1e-7
    for key in ("W", "b"):
        assert rel_error(layer.grads[key], numerical_gradient(f, layer.params[key])) < 1e-7


@pytest.mark.parametrize("cls", [ReLU, Sigmoid, Tanh])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4, 2, 3)])
def test_activation_backward_matches_finite_differences(cls, shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    X = rng.standard_normal(shape)
    X[np.abs(X) < 1e-3] = 0.5          # keep ReLU's kink out of the central difference
    G = rng.standard_normal(shape)
    layer = cls()
    layer.forward(X)
    dX = layer.backward(G)
    assert dX.shape == shape
    assert rel_error(dX, numerical_gradient(_upstream_loss(layer, X, G), X)) < 1e-7


def test_activation_forward_values():
    X = np.array([[-1e4, -2.0, 0.0, 3.0, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(ReLU().forward(X), [[0.0, 0.0, 0.0, 3.0, 1e4]])
        np.testing.assert_allclose(Sigmoid().forward(X), sigmoid(X), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(Tanh().forward(X), np.tanh(X))


@pytest.mark.parametrize("needs_input_grad", [False, True])
def test_sequential_backward_matches_finite_differences(needs_input_grad):
    rng = np.random.default_rng(3)
    model = Sequential(Linear(4, 6, rng=rng), Tanh(), Linear(6, 5, rng=rng), ReLU(),
                       Linear(5, 3, rng=rng), Sigmoid(), needs_input_grad=needs_input_grad)
    X = rng.standard_normal((8, 4))
    G = rng.standard_normal((8, 3))
    model.forward(X)
    dX = model.backward(G)
    f = _upstream_loss(model, X, G)
    if needs_input_grad:
        assert rel_error(dX, numerical_gradient(f, X)) < 1e-7
    else:
        assert dX is None
    pairs = list(model.parameters())
    assert len(pairs) == 6
    for param, grad in pairs:
        assert rel_error(grad, numerical_gradient(f, param)) < 1e-7


class _CountingArray(np.ndarray):
    """An ndarray that counts the matmuls it takes part in."""
    matmuls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul:
            type(self).matmuls += 1
        inputs = [np.asarray(x) if isinstance(x, _CountingArray) else x for x in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)


@pytest.mark.parametrize("needs_input_grad, matmuls_with_W, returns_none",
                         [(False, 0, True), (True, 1, False)])
def test_needs_input_grad_false_skips_the_input_gradient(needs_input_grad, matmuls_with_W,
                                                          returns_none):
    layer = Linear(5, 3, needs_input_grad=needs_input_grad)
    layer.params["W"] = layer.params["W"].view(_CountingArray)
    X = np.ones((4, 5))
    layer.forward(X)
    _CountingArray.matmuls = 0
    dX = layer.backward(np.ones((4, 3)))
    assert _CountingArray.matmuls == matmuls_with_W
    assert (dX is None) == returns_none
    assert layer.grads["W"].shape == (5, 3)


def test_sequential_first_layer_skips_input_grad_by_default():
    first, second = Linear(3, 4, needs_input_grad=True), Linear(4, 2, needs_input_grad=False)
    model = Sequential(first, ReLU(), second)
    assert model.needs_input_grad is False and first.needs_input_grad is False
    assert second.needs_input_grad is True      # later layers must pass gradients on
    model.forward(np.ones((2, 3)))
    assert model.backward(np.ones((2, 2))) is None
    outer = Sequential(Linear(2, 3), model)      # nested: the inner model must now give dX
    assert model.needs_input_grad is True
    outer.forward(np.ones((5, 2)))
    assert outer.backward(np.ones((5, 2))) is None
    assert first.grads["W"].any()


def test_float32_keeps_dtype_and_matches_float64():
    rng = np.random.default_rng(0)
    X64 = rng.standard_normal((32, 10))
    y = rng.integers(0, 4, 32)
    outputs = {}
    for dtype in (np.float32, np.float64):
        model = Sequential(Linear(10, 16, dtype=dtype, seed=1), ReLU(), Linear(16, 8, dtype=dtype, seed=2),
                           Tanh(), Linear(8, 4, dtype=dtype, seed=3), Sigmoid(), needs_input_grad=True)
        criterion = SoftmaxCrossEntropy()
        logits = model.forward(X64.astype(dtype))
        loss = criterion.forward(logits, y)
        dlogits = criterion.backward()
        dX = model.backward(dlogits)
        grads = [g.copy() for _, g in model.parameters()]
        assert logits.dtype == dlogits.dtype == dX.dtype == dtype
        assert all(p.dtype == g.dtype == dtype for p, g in model.parameters())
        outputs[dtype] = (logits, loss, dX, grads)
    lo32, loss32, dX32, g32 = outputs[np.float32]
    lo64, loss64, dX64, g64 = outputs[np.float64]
    np.testing.assert_allclose(lo32, lo64, rtol=1e-5, atol=1e-6)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(dX32, dX64, rtol=1e-4, atol=1e-6)
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_float32_linear_casts_float64_input_down():
    layer = Linear(3, 2, dtype=np.float32)
    assert layer.forward(np.ones((4, 3))).dtype == np.float32
    assert layer.backward(np.ones((4, 2))).dtype == np.float32
    assert ReLU().forward(np.ones((2, 2), dtype=np.int64)).dtype == np.float64


@pytest.mark.parametrize("n, k", [(1, 1), (5, 3), (12, 10)])
def test_softmax_cross_entropy_forward_and_backward(n, k):
    rng = np.random.default_rng(n + k)
    Z = rng.standard_normal((n, k)) * 3
    y = rng.integers(0, k, n)
    criterion = SoftmaxCrossEntropy()
    loss = criterion.forward(Z, y)
    dZ = criterion.backward()
    assert loss == pytest.approx(cross_entropy_from_logits(Z, y), rel=1e-12)
    np.testing.assert_allclose(dZ, softmax_cross_entropy_backward(softmax(Z), y), rtol=1e-10, atol=1e-15)
    numeric = numerical_gradient(lambda Zp: criterion.forward(Zp, y), Z)
    np.testing.assert_allclose(dZ, numeric, rtol=1e-6, atol=1e-9)
    criterion.forward(Z, y)
    np.testing.assert_array_equal(criterion.backward(), criterion.backward())  # backward is repeatable


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    Z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    criterion = SoftmaxCrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = criterion.forward(Z, np.array([0, 1]))
        dZ = criterion.backward()
    assert loss == pytest.approx(np.log(2) / 2, rel=1e-12)
    np.testing.assert_allclose(dZ, [[0, 0, 0], [0, -0.25, 0.25]], atol=1e-15)


def test_bad_shapes_and_labels_raise_clear_errors():
    layer = Linear(3, 2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(3, 2\)"):
        layer.forward(np.ones((4, 5)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        layer.backward(np.ones((4, 3)))
    relu = ReLU()
    relu.forward(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(5, 2\)"):
        relu.backward(np.ones((2, 5)))
    criterion = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"indices \[1, 3\]: \[3, -1\]"):
        criterion.forward(np.zeros((4, 3)), np.array([0, 3, 2, -1]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 3\)"):
        criterion.forward(np.zeros((4, 3)), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class labels"):
        criterion.forward(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="before forward"):
        SoftmaxCrossEntropy().backward()
    with pytest.raises(ValueError, match="positive integer"):
        Linear(0, 3)
    with pytest.raises(TypeError, match="floating"):
        Linear(2, 3, dtype=np.int32)


def test_parameters_zero_grad_and_overwriting_backward():
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    X = np.random.default_rng(0).standard_normal((6, 3))
    model.forward(X)
    model.backward(np.ones((6, 2)))
    first = [g.copy() for _, g in model.parameters()]
    model.forward(X)
    model.backward(np.ones((6, 2)))
    for before, (_, after) in zip(first, model.parameters()):
        np.testing.assert_array_equal(before, after)          # overwritten, not accumulated
    model.zero_grad()
    assert all(not g.any() for _, g in model.parameters())
    assert [p.shape for p, _ in model.parameters()] == [(3, 4), (4,), (4, 2), (2,)]
    assert "Linear(3, 4, dtype=float64)" in repr(model)
