"""Tests for nnlib.grading.network: the chapter 4 and 5 checks (04_forward, 05_backward).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, failure, passes, wrong

from nnlib import losses as ref_losses
from nnlib import network as ref
from nnlib.grading import network as checks


def _sig(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


# ---------------------------------------------------------------- init_params

def init_params_he(layer_sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_sizes)):
        fan_in, fan_out = layer_sizes[l - 1], layer_sizes[l]
        params[f"W{l}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def init_params_legacy_xavier(layer_sizes, seed=0):
    np.random.seed(seed)
    params = {}
    for l, (a, b) in enumerate(zip(layer_sizes, layer_sizes[1:]), start=1):
        params["W" + str(l)] = np.random.randn(a, b) / np.sqrt(a)
        params["b" + str(l)] = np.zeros((b,))
    return params


def init_params_normal_scale(layer_sizes, seed=0):
    rng = np.random.RandomState(seed)
    return {key: value for l in range(1, len(layer_sizes))
            for key, value in ((f"W{l}", rng.normal(0.0, np.sqrt(2.0 / layer_sizes[l - 1]),
                                                    size=(layer_sizes[l - 1], layer_sizes[l]))),
                               (f"b{l}", np.zeros(layer_sizes[l])))}


@HIDDEN
@pytest.mark.parametrize("fn", [init_params_he, init_params_legacy_xavier,
                                init_params_normal_scale])
def test_init_params_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_init_params, fn, hidden, capsys, "init_params")


def init_params_ignores_seed(layer_sizes, seed=0):
    return init_params_he(layer_sizes, 0)


def init_params_unseeded(layer_sizes, seed=0):
    params = init_params_he(layer_sizes, seed)
    return {k: (np.random.randn(*v.shape) * np.sqrt(2 / v.shape[0]) if k[0] == "W" else v)
            for k, v in params.items()}


def init_params_transposed(layer_sizes, seed=0):
    return {k: (v.T if k[0] == "W" else v) for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_column_bias(layer_sizes, seed=0):
    return {k: (v.reshape(1, -1) if k[0] == "b" else v)
            for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_unscaled(layer_sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_sizes)):
        params[f"W{l}"] = rng.standard_normal((layer_sizes[l - 1], layer_sizes[l]))
        params[f"b{l}"] = np.zeros(layer_sizes[l])
    return params


def init_params_tiny(layer_sizes, seed=0):
    return {k: v * 0.01 / np.sqrt(2 / v.shape[0]) if k[0] == "W" else v
            for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_uniform(layer_sizes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (rng.random(v.shape) * np.sqrt(2 / v.shape[0]) if k[0] == "W" else v)
            for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_random_bias(layer_sizes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v.shape) if k[0] == "b" else v)
            for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_zero_based(layer_sizes, seed=0):
    return {k[0] + str(int(k[1:]) - 1): v for k, v in init_params_he(layer_sizes, seed).items()}


def init_params_zeros(layer_sizes, seed=0):
    return {k: np.zeros_like(v) for k, v in init_params_he(layer_sizes, seed).items()}


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (init_params_ignores_seed, r"^init_params\(list of 3, \d+\) gave the same weights for "
                               r"seed \d+ and seed \d+: use the seed argument"),
    (init_params_unseeded, r"gave different weights when called twice with the same seed"),
    (init_params_transposed, r"\['W1'\] has shape \(8, 13\), expected \(13, 8\)\. It looks "
                             r"transposed"),
    (init_params_column_bias, r"\['b1'\] has shape \(1, 8\), expected \(8,\)\. Make it 1-D"),
    (init_params_unscaled, r"is too large for fan_in \d+ .*sqrt\(2 / fan_in\)"),
    (init_params_tiny, r"is too small for fan_in \d+"),
    (init_params_uniform, r"has no negative entries: np\.random\.rand"),
    (init_params_random_bias, r"\['b1'\] should start at zero"),
    (init_params_zero_based, r"returned a dict without W2, b2 .*it has W0, b0, W1, b1"),
    (init_params_zeros, r"\['W1'\] has all entries equal"),
], ids=["seed-ignored", "unseeded", "transposed", "bias-2d", "unscaled", "tiny", "uniform",
        "random-bias", "zero-based", "zeros"])
def test_init_params_rejects_wrong_variants(fn, match, hidden):
    failure(checks.check_init_params, fn, hidden, match)


def test_init_params_without_default_seed_is_reported():
    def init_params(layer_sizes, seed):
        return init_params_he(layer_sizes, seed)
    failure(checks.check_init_params, init_params, False,
            r"^init_params\(list of 3\) raised TypeError")


# ---------------------------------------------------------------- forward

def forward_loop(X, params):
    L = len(params) // 2
    A, cache = X, {"A0": X}
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = _sig(Z) if l == L else np.maximum(Z, 0)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def forward_list_return(X, params):
    L = max(int(k[1:]) for k in params)
    cache = {}
    A = np.array(X, dtype=float)
    for l in range(1, L + 1):
        Z = np.dot(A, params["W%d" % l]) + params["b%d" % l].reshape(1, -1)
        if l < L:
            A = Z * (Z > 0)
        else:
            A = 0.5 * (1 + np.tanh(Z / 2))
        cache["Z%d" % l] = Z
        cache["A%d" % l] = A
    return [A, cache]


@HIDDEN
@pytest.mark.parametrize("fn", [forward_loop, forward_list_return])
def test_forward_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_forward, fn, hidden, capsys, "forward")


def _forward_with(hidden_act, out_act, bias=True):
    def forward(X, params):
        L = len(params) // 2
        A, cache = X, {"A0": X}
        for l in range(1, L + 1):
            Z = A @ params[f"W{l}"] + (params[f"b{l}"] if bias else 0)
            A = out_act(Z) if l == L else hidden_act(Z)
            cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        return A, cache
    return forward


forward_sigmoid_hidden = _forward_with(_sig, _sig)
forward_relu_output = _forward_with(lambda z: np.maximum(z, 0), lambda z: np.maximum(z, 0))
forward_no_bias = _forward_with(lambda z: np.maximum(z, 0), _sig, bias=False)
forward_logits = _forward_with(lambda z: np.maximum(z, 0), lambda z: z)


def forward_only_yhat(X, params):
    return forward_loop(X, params)[0]


def forward_flat(X, params):
    yhat, cache = forward_loop(X, params)
    return yhat.ravel(), cache


def forward_no_cache(X, params):
    return forward_loop(X, params)[0], {}


def forward_in_place(X, params):
    X -= X.mean(axis=0)
    return forward_loop(X, params)


def forward_transposed(X, params):
    """Weights stored (inputs, outputs) but used as (outputs, inputs), as some texts write it."""
    A, cache = X, {"A0": X}
    L = len(params) // 2
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"].T + params[f"b{l}"]
        A = _sig(Z) if l == L else np.maximum(Z, 0)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (forward_sigmoid_hidden, r"^forward\(array \(5, 13\), dict with keys W1, b1, W2, b2\)\[0\] "
                             r"\(yhat\) is wrong at .*Likely bug: you apply the sigmoid on the "
                             r"hidden layers too"),
    (forward_relu_output, r"Likely bug: you apply ReLU on the output layer"),
    (forward_no_bias, r"Likely bug: the bias is missing"),
    (forward_logits, r"Likely bug: no activation on the output layer"),
    (forward_only_yhat, r"returned a ndarray; it should return 2 values: return yhat, cache\.$"),
    (forward_flat, r"returned shape \(5,\), expected shape \(5, 1\)\. The result lost its last "
                   r"axis"),
    (forward_no_cache, r"\(cache\) returned a dict without Z1, A1, Z2, A2 .*backward reads"),
    (forward_in_place, r"changed its argument number 1 in place"),
    (forward_transposed, r"raised ValueError: matmul: .* Likely bug: a weight matrix is used the "
                         r"wrong way round\. W\{l\} has shape \(d_\{l-1\}, d_l\)"),
], ids=["sigmoid-hidden", "relu-output", "no-bias", "logits", "no-pair", "flat", "no-cache",
        "in-place", "transposed"])
def test_forward_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_forward, fn, lambda X, p: ref.forward(X, p)[0], hidden, match)


# ---------------------------------------------------------------- mse_loss

def mse_ravel(y, yhat):
    return float(np.mean((np.ravel(yhat) - np.ravel(y)) ** 2))


def mse_reshape_sum(y, yhat):
    d = np.reshape(yhat, -1) - np.reshape(y, -1)
    return np.sum(d * d) / d.size          # numpy scalar


@HIDDEN
@pytest.mark.parametrize("fn", [mse_ravel, mse_reshape_sum])
def test_mse_loss_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_mse_loss, fn, hidden, capsys, "mse_loss")


def mse_sum(y, yhat):
    return np.sum((np.ravel(yhat) - np.ravel(y)) ** 2)


def mse_broadcast(y, yhat):
    return np.mean((yhat - y) ** 2)


def mse_rmse(y, yhat):
    return np.sqrt(mse_ravel(y, yhat))


def mse_half(y, yhat):
    return 0.5 * mse_ravel(y, yhat)


def mse_no_mean(y, yhat):
    return (np.ravel(yhat) - np.ravel(y)) ** 2


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (mse_sum, r"^mse_loss\(array \(6,\), array \(6,\)\) is wrong: .*Likely bug: OFF BY THE "
              r"BATCH SIZE"),
    (mse_broadcast, r"^mse_loss\(array \(5,\), array \(5, 1\)\) is wrong.*Likely bug: y of "
                    r"shape \(n,\) and yhat of shape \(n, 1\) broadcast to an \(n, n\) grid"),
    (mse_rmse, r"Likely bug: you take the square root"),
    (mse_half, r"Likely bug: there is an extra factor 1/2"),
    (mse_no_mean, r"returned an array of shape \(6,\); it should return one number\. Likely "
                  r"bug: the mean over the examples is missing"),
], ids=["sum", "broadcast", "rmse", "half", "no-mean"])
def test_mse_loss_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_mse_loss, fn, ref_losses.mse_loss, hidden, match)


# ---------------------------------------------------------------- binary_cross_entropy

def bce_clip(y, yhat):
    y = np.ravel(y)
    p = np.clip(np.ravel(yhat), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_where(y, yhat, eps=1e-9):
    y = np.asarray(y, float).reshape(-1)
    p = np.asarray(yhat, float).reshape(-1)
    return float(-np.mean(np.where(y == 1, np.log(np.maximum(p, eps)),
                                   np.log(np.maximum(1 - p, eps)))))


def bce_add_eps(y, yhat):
    y, p = np.ravel(y), np.ravel(yhat)
    eps = 1e-10
    return -(y @ np.log(p + eps) + (1 - y) @ np.log(1 - p + eps)) / len(y)


@HIDDEN
@pytest.mark.parametrize("fn", [bce_clip, bce_where, bce_add_eps])
def test_binary_cross_entropy_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_binary_cross_entropy, fn, hidden, capsys, "binary_cross_entropy")


def bce_sum(y, yhat):
    y = np.ravel(y)
    p = np.clip(np.ravel(yhat), 1e-12, 1 - 1e-12)
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_sign(y, yhat):
    return -bce_clip(y, yhat)


def bce_no_clip(y, yhat):
    y, p = np.ravel(y), np.ravel(yhat)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_no_mean(y, yhat):
    y = np.ravel(y)
    p = np.clip(np.ravel(yhat), 1e-12, 1 - 1e-12)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_broadcast(y, yhat):
    p = np.clip(yhat, 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_big_eps(y, yhat):
    y = np.ravel(y)
    p = np.clip(np.ravel(yhat), 0.01, 0.99)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_log10(y, yhat):
    return bce_clip(y, yhat) / np.log(10)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (bce_sum, r"^binary_cross_entropy\(array \(6,\), array \(6,\)\) is wrong: .*Likely bug: "
              r"OFF BY THE BATCH SIZE"),
    (bce_sign, r"Likely bug: the sign is flipped"),
    (bce_no_clip, r"yhat exactly 0 or 1\) returned inf\. Likely bug: no clipping: log\(0\) is -inf"),
    (bce_no_mean, r"returned an array of shape \(6,\); it should return one number\. Likely "
                  r"bug: the mean over the examples is missing"),
    (bce_broadcast, r"^binary_cross_entropy\(array \(5,\), array \(5, 1\)\) is wrong.*"
                    r"broadcast to an \(n, n\) grid"),
    (bce_big_eps, r"returned 4\.6\d*, but such predictions must cost a lot\. Likely bug: the "
                  r"clipping bound eps is far too big"),
    (bce_log10, r"Likely bug: you use log10"),
], ids=["sum", "sign", "no-clip", "no-mean", "broadcast", "big-eps", "log10"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_binary_cross_entropy_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_binary_cross_entropy, fn, ref_losses.binary_cross_entropy, hidden, match)


def test_binary_cross_entropy_without_clipping_confident_mistake_is_inf():
    def bce(y, yhat):       # safe where labels agree, -log(0) = inf where they disagree
        y, p = np.ravel(y), np.ravel(yhat)
        with np.errstate(divide="ignore"):
            return -np.mean(np.where(y == 1, np.log(p), np.log(1 - p)))
    failure(checks.check_binary_cross_entropy, bce, False,
            r"\(confidently wrong predictions, yhat exactly 0 or 1\) returned inf\. Likely bug: "
            r"no clipping")


# ---------------------------------------------------------------- neuron_backward

def neuron_backward_chain(x, y, w, b):
    z = np.dot(x, w) + b
    pred = 1 / (1 + np.exp(-z))
    dL_dz = 2 * (pred - y) * pred * (1 - pred)
    return dL_dz * x, float(dL_dz)


def neuron_backward_steps(x, y, w, b):
    x = np.asarray(x, dtype=float)
    s = _sig(x @ w + b)
    grad_w = np.zeros_like(x)
    for i in range(len(x)):
        grad_w[i] = 2.0 * (s - y) * s * (1.0 - s) * x[i]
    return grad_w, 2.0 * (s - y) * s * (1.0 - s)   # 0-d numpy value for dL_db


@HIDDEN
@pytest.mark.parametrize("fn", [neuron_backward_chain, neuron_backward_steps])
def test_neuron_backward_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_neuron_backward, fn, hidden, capsys, "neuron_backward")


def neuron_backward_no_sigmoid_derivative(x, y, w, b):
    pred = _sig(np.dot(x, w) + b)
    return 2 * (pred - y) * x, 2 * (pred - y)


def neuron_backward_no_two(x, y, w, b):
    dw, db = neuron_backward_chain(x, y, w, b)
    return dw / 2, db / 2


def neuron_backward_sign(x, y, w, b):
    pred = _sig(np.dot(x, w) + b)
    dz = 2 * (y - pred) * pred * (1 - pred)
    return dz * x, dz


def neuron_backward_one_value(x, y, w, b):
    return neuron_backward_chain(x, y, w, b)[0]


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (neuron_backward_no_sigmoid_derivative,
     r"^neuron_backward\(array \(3,\), 1, array \(3,\), 0\.5\)\[0\] \(dL_dw\) is wrong at .*"
     r"Likely bug: the sigmoid derivative s \* \(1 - s\) is missing"),
    (neuron_backward_no_two, r"Likely bug: the factor 2 from d/dpred"),
    (neuron_backward_sign, r"Likely bug: the sign is flipped"),
    (neuron_backward_one_value, r"returned a ndarray; it should return 2 values: return "
                                r"dL_dw, dL_db\.$"),
], ids=["no-sigmoid-derivative", "no-2", "sign", "one-value"])
def test_neuron_backward_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_neuron_backward, fn, lambda *a: ref.neuron_backward(*a)[0], hidden, match)


# ---------------------------------------------------------------- backward

def _backward(output_slope=lambda A_L: 1.0, bias_axis=0, relu_derivative=True,
              back_through=lambda W: W.T):
    """A student's backward loop; each argument switches one step to a known mistake."""
    def backward(X, y, params, cache):
        L = len(params) // 2
        A_L = cache[f"A{L}"]
        dZ = (A_L - y.reshape(A_L.shape)) * output_slope(A_L) / X.shape[0]
        grads = {}
        for l in range(L, 0, -1):
            A_prev = cache[f"A{l - 1}"] if l > 1 else X
            grads[f"dW{l}"] = A_prev.T @ dZ
            grads[f"db{l}"] = np.sum(dZ, axis=bias_axis)
            if l > 1:
                dZ = dZ @ back_through(params[f"W{l}"])
                if relu_derivative:
                    dZ = dZ * (cache[f"Z{l - 1}"] > 0)
        return grads
    return backward


backward_loop = _backward()


def backward_mean_and_where(X, y, params, cache):
    L = max(int(k[1:]) for k in params if k.startswith("W"))
    n = len(X)
    dZ = cache["A" + str(L)] - np.reshape(y, (-1, 1))
    grads = {}
    for l in reversed(range(1, L + 1)):
        A_prev = X if l == 1 else cache["A" + str(l - 1)]
        grads["dW" + str(l)] = np.dot(A_prev.T, dZ) / n
        grads["db" + str(l)] = dZ.mean(axis=0)
        if l > 1:
            dA = np.dot(dZ, params["W" + str(l)].T)
            dZ = np.where(cache["Z" + str(l - 1)] > 0, dA, 0.0)
    return grads


@HIDDEN
@pytest.mark.parametrize("fn", [backward_loop, backward_mean_and_where])
def test_backward_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_backward, fn, hidden, capsys, "backward")


def backward_sum(X, y, params, cache):
    return {k: v * X.shape[0] for k, v in backward_loop(X, y, params, cache).items()}


def backward_transposed(X, y, params, cache):
    return {k: (v.T if k.startswith("dW") else v)
            for k, v in backward_loop(X, y, params, cache).items()}


backward_bias_axis = _backward(bias_axis=1)
backward_no_relu_derivative = _backward(relu_derivative=False)
backward_extra_sigmoid_derivative = _backward(output_slope=lambda A_L: A_L * (1 - A_L))


def backward_sign(X, y, params, cache):
    return {k: -v for k, v in backward_loop(X, y, params, cache).items()}


backward_through_W = _backward(back_through=lambda W: W)     # crashes unless W is square
backward_through_square_W = _backward(                         # runs, and is wrong
    back_through=lambda W: W if W.shape[0] == W.shape[1] else W.T)


def backward_last_layer_only(X, y, params, cache):
    L = len(params) // 2
    grads = backward_loop(X, y, params, cache)
    return {f"dW{L}": grads[f"dW{L}"], f"db{L}": grads[f"db{L}"]}


def backward_unreshaped_y(X, y, params, cache):
    L = len(params) // 2
    dZ = (cache[f"A{L}"] - y) / X.shape[0]          # (n, 1) - (n,) -> (n, n)
    grads = {}
    for l in range(L, 0, -1):
        A_prev = cache[f"A{l - 1}"] if l > 1 else X
        grads[f"dW{l}"] = A_prev.T @ dZ
        grads[f"db{l}"] = np.sum(dZ, axis=0)
        if l > 1:
            dZ = (dZ @ params[f"W{l}"].T) * (cache[f"Z{l - 1}"] > 0)
    return grads


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (backward_sum, r"^backward\(array \(6, 13\), array \(6,\), dict with keys W1, b1, W2, b2, "
                   r"dict with keys A0, Z1, A1, Z2, A2\)\['dW1'\] is wrong at .*Likely bug: OFF "
                   r"BY THE BATCH SIZE"),
    (backward_transposed, r"\['dW1'\] has shape \(8, 13\), expected \(13, 8\)\. It looks "
                          r"transposed"),
    (backward_bias_axis, r"\['db1'\] has shape \(6,\), expected \(8,\)\. The bias gradient is "
                         r"reduced over the wrong axis: sum dZ over the examples, "
                         r"dZ\.sum\(axis=0\)\.$"),
    (backward_no_relu_derivative, r"\['dW1'\] is wrong .*Likely bug: the ReLU derivative is "
                                  r"missing"),
    (backward_extra_sigmoid_derivative, r"Likely bug: you multiply by the sigmoid derivative "
                                        r"at the output again"),
    (backward_sign, r"\['dW1'\] is wrong .*Likely bug: the sign is flipped"),
    (backward_last_layer_only, r"returned a dict without dW1, db1 \(it has dW2, db2\)"),
    (backward_unreshaped_y, r"^backward\(array \(6, 13\), array \(6,\), .*\) raised ValueError: "
                            r"matmul: .*\. Likely bug: y of shape \(n,\) minus yhat of shape "
                            r"\(n, 1\) broadcasts to an \(n, n\) grid"),
    (backward_through_W, r"^backward\(array \(6, 13\), .*\) raised ValueError: matmul: .*\. "
                         r"Likely bug: a matrix product has its operands the wrong way round\. "
                         r".*dA_prev = dZ @ W\.T"),
    (backward_through_square_W, r"^backward\(array \(8, 5\), .*\['dW1'\] is wrong .*Likely bug: "
                                r"the error is sent back through W instead of its transpose"),
], ids=["sum", "transposed", "bias-axis", "no-relu-derivative", "extra-sigmoid", "sign",
        "missing-keys", "unreshaped-y", "through-W", "through-square-W"])
def test_backward_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_backward, fn, lambda *a: ref.backward(*a)["dW1"], hidden, match)


def test_backward_reference_agrees_with_finite_differences():
    for X, y, params, cache in checks._backward_cases(True):
        expected = ref.backward(X, y, params, cache)
        numeric = checks._numerical_grads(X, y, params)
        for key, value in expected.items():
            assert np.allclose(value, numeric[key], rtol=1e-4, atol=1e-7), key


def test_backward_finite_difference_check_catches_what_the_reference_would_miss(monkeypatch):
    # if nnlib's reference were wrong, the finite differences still catch the student's bug
    monkeypatch.setattr(checks.ref, "backward", lambda *a: backward_sign(*a))
    failure(checks.check_backward, backward_sign, False,
            r"\['dW1'\] disagrees with central finite differences of the mean binary "
            r"cross-entropy\.$")


# ---------------------------------------------------------------- backward: y of shape (n,)

def test_backward_unreshaped_y_in_a_one_layer_network_is_diagnosed_by_shape(monkeypatch):
    one_layer = [case for case in checks._backward_cases(True) if len(case[2]) == 2
                 and case[0].shape[0] > 1]
    assert one_layer
    monkeypatch.setattr(checks, "_backward_cases", lambda hidden: one_layer)

    def backward(X, y, params, cache):      # logistic regression: no crash, an (n, n) dZ
        dZ = (cache["A1"] - y) / X.shape[0]
        return {"dW1": X.T @ dZ, "db1": dZ.sum(axis=0)}
    failure(checks.check_backward, backward, True,
            r"\['dW1'\] has shape \(4, 5\), expected \(4, 1\)\. Likely bug: y of shape \(n,\) "
            r"minus yhat of shape \(n, 1\) broadcasts to an \(n, n\) grid")
