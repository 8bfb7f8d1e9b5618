"""Checks for chapters 4 (04_forward) and 5 (05_backward): the fully connected classifier.

``load_and_split`` is graded in nnlib.grading.datasets.
"""
import re

import numpy as np

from nnlib import losses as ref_losses
from nnlib import network as ref
from nnlib.activations import relu, sigmoid
from nnlib.grading.core import (GradingError, Hint, SIGN_FLIPPED, as_student_array,
                                as_student_number, as_student_tuple, call_student, case_rng,
                                compare, describe_call, ensure_student_function, passed, type_name)

BATCH_HINT = ("OFF BY THE BATCH SIZE: you sum over the examples instead of averaging "
              "(divide by n, the number of rows)")


# ---------------------------------------------------------------- shared helpers

def _layer_count(params):
    return len([k for k in params if re.fullmatch(r"W[1-9][0-9]*", str(k))])


def _params_for(rng, sizes, seed):
    """nnlib's He weights with random (nonzero) biases, so a missing bias shows."""
    params = ref.init_params(sizes, seed=seed)
    for layer in range(1, len(sizes)):
        params[f"b{layer}"] = rng.normal(scale=0.5, size=sizes[layer])
    return params


def _labels(rng, n):
    y = (rng.random(n) < 0.5).astype(float)
    y[0], y[-1] = 1.0, 0.0 if n > 1 else 1.0
    return y


def _as_dict(result, call, what):
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    if not isinstance(result, dict):
        raise GradingError(f"{call} returned a {type_name(result)}; it should return a "
                           f"dict {what}.")
    return result


def _missing_keys(result, keys, call, what):
    missing = [k for k in keys if k not in result]
    if missing:
        found = ", ".join(map(str, result)) or "nothing"
        raise GradingError(f"{call} returned a dict without {', '.join(missing)} "
                           f"(it has {found}); {what}.")


# ---------------------------------------------------------------- init_params

def _init_sizes(hidden):
    sizes = [[13, 8, 1], [4, 3, 2, 1], [64, 32, 1]]
    if hidden:
        sizes += [[2, 1], [13, 16, 8, 1], [100, 50, 20, 1], [np.int64(5), np.int64(3), 1]]
    return sizes


def _init_once(fn, sizes, seed, default=False):
    args = (sizes,) if default else (sizes, seed)
    call = describe_call("init_params", args)
    result = _as_dict(call_student(fn, "init_params", args), call,
                      "with keys W1, b1, W2, b2, ...")
    num_layers = len(sizes) - 1
    keys = [f"{kind}{layer}" for layer in range(1, num_layers + 1) for kind in "Wb"]
    _missing_keys(result, keys, call, f"{num_layers} layer(s) need W1, b1, ..., "
                  f"W{num_layers}, b{num_layers}")
    extra = [str(k) for k in result if re.fullmatch(r"[Wb][0-9]+", str(k)) and k not in keys]
    if extra:
        raise GradingError(f"{call} returned extra parameters {', '.join(extra)}: layers are "
                           f"numbered 1 to {num_layers} (one W and one b per pair of "
                           "consecutive sizes).")
    arrays = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = as_student_array(result[f"W{layer}"], f"{call}['W{layer}']")
        b = as_student_array(result[f"b{layer}"], f"{call}['b{layer}']")
        want = (int(fan_in), int(fan_out))
        if W.shape != want:
            extra = (" It looks transposed: W{l} must be (d_{l-1}, d_l) so that A @ W works."
                     if W.shape == want[::-1] else "")
            raise GradingError(f"{call}['W{layer}'] has shape {W.shape}, expected {want}."
                               + extra)
        if b.shape != (want[1],):
            extra = (f" Make it 1-D: np.zeros({want[1]})." if b.size == want[1] else "")
            raise GradingError(f"{call}['b{layer}'] has shape {b.shape}, expected "
                               f"({want[1]},)." + extra)
        if not np.isfinite(W).all():
            raise GradingError(f"{call}['W{layer}'] holds inf or nan.")
        if np.any(b != 0):
            raise GradingError(f"{call}['b{layer}'] should start at zero (np.zeros), but it "
                               "has nonzero entries.")
        arrays[f"W{layer}"], arrays[f"b{layer}"] = W, b
        _check_scale(call, layer, W, int(fan_in))
    return arrays


def _check_scale(call, layer, W, fan_in):
    if W.size > 1 and np.all(W == W.flat[0]):
        raise GradingError(f"{call}['W{layer}'] has all entries equal: the units would stay "
                           "identical forever (symmetry). Draw random numbers.")
    if W.size < 50 or fan_in < 8:
        return
    if np.all(W >= 0):
        raise GradingError(f"{call}['W{layer}'] has no negative entries: np.random.rand draws "
                           "from [0, 1). Use a normal distribution centred at 0, e.g. "
                           "rng.standard_normal.")
    std, he = float(W.std()), np.sqrt(2.0 / fan_in)
    if std > 2.0 * he:
        raise GradingError(f"{call}['W{layer}'] is too large for fan_in {fan_in} (standard "
                           f"deviation {std:.3g}). Scale standard normal numbers by "
                           "sqrt(2 / fan_in) (He initialisation).")
    if std < 0.3 * np.sqrt(1.0 / fan_in):
        raise GradingError(f"{call}['W{layer}'] is too small for fan_in {fan_in} (standard "
                           f"deviation {std:.3g}): signals shrink layer after layer. Scale "
                           "standard normal numbers by sqrt(2 / fan_in) (He initialisation).")


def _same_arrays(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def check_init_params(init_params, hidden=False):
    """init_params(layer_sizes, seed=0): shapes, zero biases, seeded and sensibly scaled."""
    ensure_student_function(init_params, "init_params")
    count = 0
    for i, sizes in enumerate(_init_sizes(hidden)):
        seed = i + (11 if hidden else 0)
        call = describe_call("init_params", (sizes, seed))
        first = _init_once(init_params, sizes, seed)
        again = _init_once(init_params, sizes, seed)
        if not _same_arrays(first, again):
            raise GradingError(f"{call} gave different weights when called twice with the same "
                               "seed. Make the random numbers depend only on the seed: "
                               "rng = np.random.default_rng(seed).")
        other = _init_once(init_params, sizes, seed + 1)
        if _same_arrays(first, other):
            raise GradingError(f"{call} gave the same weights for seed {seed} and seed "
                               f"{seed + 1}: use the seed argument to create the generator.")
        count += 3
    sizes = _init_sizes(hidden)[0]
    if not _same_arrays(_init_once(init_params, sizes, 0, default=True),
                        _init_once(init_params, sizes, 0)):
        raise GradingError(f"{describe_call('init_params', (sizes,))} (no seed given) should "
                           "give the same weights as seed=0: the default is seed=0.")
    passed("init_params", count + 1)


# ---------------------------------------------------------------- forward

def _forward_variant(X, params, hidden_act=relu, out_act=sigmoid, bias=True):
    A = np.asarray(X, dtype=float)
    num_layers = _layer_count(params)
    for layer in range(1, num_layers + 1):
        Z = A @ params[f"W{layer}"] + (params[f"b{layer}"] if bias else 0.0)
        A = out_act(Z) if layer == num_layers else hidden_act(Z)
    return A


_FORWARD_HINTS = (
    Hint("you apply the sigmoid on the hidden layers too; hidden layers use ReLU, only the "
         "output layer a sigmoid", lambda e, a: _forward_variant(*a, hidden_act=sigmoid)),
    Hint("you apply ReLU on the output layer; the output layer uses a sigmoid so yhat is a "
         "probability", lambda e, a: _forward_variant(*a, out_act=relu)),
    Hint("you apply ReLU on the output layer before the sigmoid; the output layer uses only "
         "the sigmoid", lambda e, a: _forward_variant(*a, out_act=lambda z: sigmoid(relu(z)))),
    Hint("no activation on the output layer: apply the sigmoid to Z{L}",
         lambda e, a: _forward_variant(*a, out_act=lambda z: z)),
    Hint("the bias is missing: Z = A @ W + b", lambda e, a: _forward_variant(*a, bias=False)),
    Hint("the bias is missing on the hidden layers: Z = A @ W + b on every layer",
         lambda e, a: _forward_variant(a[0], {k: (v * 0 if k.startswith("b") and
                                                  k != f"b{_layer_count(a[1])}" else v)
                                              for k, v in a[1].items()})),
    Hint("you use only the first layer's output: loop over all layers W1 ... WL",
         lambda e, a: sigmoid(np.asarray(a[0], float) @ a[1]["W1"] + a[1]["b1"])),
)


def _forward_cases(hidden):
    rng = case_rng("forward", hidden)
    shapes = [(5, [13, 8, 1]), (7, [4, 3, 2, 1])]
    if hidden:
        shapes += [(1, [3, 1]), (20, [13, 16, 8, 1]), (3, [6, 5, 1])]
    return [(rng.normal(size=(n, sizes[0])), _params_for(rng, sizes, seed))
            for seed, (n, sizes) in enumerate(shapes)]


_WEIGHTS_LAYOUT_TEXT = ("a weight matrix is used the wrong way round. W{l} has shape "
                       "(d_{l-1}, d_l), one row per input, so a layer computes "
                       "A_prev @ W{l} + b{l}: (n, d_{l-1}) @ (d_{l-1}, d_l); A_prev @ W.T or "
                       "W @ A_prev needs the other layout")


def _call_forward(forward, args):
    """Call the student's forward; a crash in a matrix product gets a diagnosis."""
    try:
        return call_student(forward, "forward", args)
    except GradingError as error:
        text = str(error).rstrip(".")
        if "matmul" in text or "not aligned" in text:
            raise GradingError(f"{text}. Likely bug: {_WEIGHTS_LAYOUT_TEXT}.") from None
        raise


def check_forward(forward, hidden=False):
    """forward(X, params) -> (yhat (n, 1), cache with Z1, A1, ..., ZL, AL)."""
    ensure_student_function(forward, "forward")
    cases = _forward_cases(hidden)
    for X, params in cases:
        args = (X, params)
        call = describe_call("forward", args)
        yhat, cache = as_student_tuple(_call_forward(forward, args), call, ("yhat", "cache"))
        ref_yhat, ref_cache = ref.forward(X, params)
        compare("forward", f"{call}[0] (yhat)", yhat, ref_yhat, hints=_FORWARD_HINTS,
                args=args)
        cache = _as_dict(cache, f"{call}[1] (cache)", "with Z1, A1, ..., ZL, AL")
        num_layers = _layer_count(params)
        keys = [f"{kind}{layer}" for layer in range(1, num_layers + 1) for kind in "ZA"]
        _missing_keys(cache, keys, f"{call}[1] (cache)",
                      "backward reads cache['Z1'], cache['A1'], ... for every layer")
        for key in keys:
            compare("forward", f"{call}[1]['{key}']", cache[key], ref_cache[key], args=args)
    passed("forward", len(cases))


# ---------------------------------------------------------------- losses

def _loss_cases(rng, hidden, probabilities):
    def pred(shape):
        return rng.uniform(0.05, 0.95, size=shape) if probabilities else rng.normal(size=shape)

    def lab(n):
        return _labels(rng, n) if probabilities else rng.normal(size=n)
    cases = [(lab(6), pred(6)), (lab(4).reshape(-1, 1), pred((4, 1))),
             (lab(5), pred((5, 1)))]
    if hidden:
        cases += [(lab(1), pred(1)), (lab(30), pred((30, 1))),
                  (lab(8).reshape(-1, 1), pred(8))]
    return [((y, yhat), {}) for y, yhat in cases]


def _grid(y, yhat):
    """(n,) and (n, 1) as numpy broadcasts them: an (n, n) grid."""
    return np.asarray(y, float), np.asarray(yhat, float)


_GRID_TEXT = ("y of shape (n,) and yhat of shape (n, 1) broadcast to an (n, n) grid: "
              "reshape one of them (e.g. yhat.reshape(-1)) before combining")


def _scalar_or_explain(fn, name, args):
    """Call the student; an array answer gets a 'take the mean' diagnosis."""
    call = describe_call(name, args)
    got = call_student(fn, name, args)
    arr = np.asarray(got) if got is not None else None
    if arr is not None and arr.dtype != object and arr.ndim > 0 and arr.size > 1:
        raise GradingError(f"{call} returned an array of shape {arr.shape}; it should return "
                           "one number. Likely bug: the mean over the examples is missing "
                           "(use np.mean).")
    return call, got


def _loss_check(name, fn, reference, cases, hints):
    ensure_student_function(fn, name)
    for args, _ in cases:
        call, got = _scalar_or_explain(fn, name, args)
        compare(name, call, got, reference(*args), hints=hints, args=args)


def check_mse_loss(mse_loss, hidden=False):
    """mse_loss(y, yhat) = mean((yhat - y)^2); (n,) and (n, 1) mix."""
    n = lambda a: np.size(a[0])
    hints = (
        Hint(_GRID_TEXT, lambda e, a: np.mean((_grid(*a)[1] - _grid(*a)[0]) ** 2)),
        Hint(BATCH_HINT, lambda e, a: e * n(a)),
        Hint("you take the square root (that is the RMSE, not the MSE)", lambda e, a: np.sqrt(e)),
        Hint("there is an extra factor 1/2", lambda e, a: e / 2),
        Hint("you forgot to square the differences",
             lambda e, a: np.mean(np.ravel(a[1]) - np.ravel(a[0]))),
        Hint("you average |yhat - y| instead of its square",
             lambda e, a: np.mean(np.abs(np.ravel(a[1]) - np.ravel(a[0])))),
        SIGN_FLIPPED,
    )
    cases = _loss_cases(case_rng("mse_loss", hidden), hidden, probabilities=False)
    _loss_check("mse_loss", mse_loss, ref_losses.mse_loss, cases, hints)
    passed("mse_loss", len(cases))


def _bce_raw(y, p, log=np.log):
    return -np.mean(y * log(p) + (1 - y) * log(1 - p))


def check_binary_cross_entropy(binary_cross_entropy, hidden=False):
    """binary_cross_entropy(y, yhat): mean BCE, clipped so yhat of exactly 0 or 1 is finite."""
    name = "binary_cross_entropy"
    fn = binary_cross_entropy
    flat = lambda a: (np.ravel(a[0]).astype(float), np.ravel(a[1]).astype(float))
    hints = (
        Hint(_GRID_TEXT, lambda e, a: _bce_raw(*_grid(*a))),
        Hint(BATCH_HINT, lambda e, a: e * np.size(a[0])),
        SIGN_FLIPPED,
        Hint("you use log10 instead of the natural log np.log", lambda e, a: e / np.log(10)),
        Hint("you use log2 instead of the natural log np.log", lambda e, a: e / np.log(2)),
        Hint("you only keep the y * log(yhat) term; add (1 - y) * log(1 - yhat)",
             lambda e, a: -np.mean(flat(a)[0] * np.log(flat(a)[1]))),
        Hint("y and yhat are swapped in the formula (the signature is (y, yhat))",
             lambda e, a: _bce_raw(np.clip(flat(a)[1], 0, 1),
                                   np.clip(flat(a)[0], 1e-12, 1 - 1e-12))),
    )
    rng = case_rng(name, hidden)
    cases = _loss_cases(rng, hidden, probabilities=True)
    _loss_check(name, fn, ref_losses.binary_cross_entropy, cases, hints)

    clip_text = ("Likely bug: no clipping: log(0) is -inf (and 0 * -inf is nan). Clip yhat "
                 "to [eps, 1 - eps] first, e.g. np.clip(yhat, 1e-12, 1 - 1e-12).")
    # a confident wrong prediction: large but finite
    wrong_args = (np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    call, got = _scalar_or_explain(fn, name, wrong_args)
    value = as_student_number(got, call)
    if not np.isfinite(value):
        raise GradingError(f"{call} (confidently wrong predictions, yhat exactly 0 or 1) "
                           f"returned {value}. " + clip_text)
    if value < 5:
        raise GradingError(f"{call} (confidently wrong predictions, yhat exactly 0 or 1) "
                           f"returned {value:.4g}, but such predictions must cost a "
                           "lot. Likely bug: the clipping bound eps is far too big; use "
                           "something like 1e-12.")
    # exactly 0 or 1 where the label agrees: the loss is finite and (nearly) unchanged
    y = _labels(rng, 6)
    yhat = np.where(y == 1, 1.0, 0.0)
    yhat[:2] = rng.uniform(0.2, 0.8, size=2)
    extremes = [(y, yhat), (y, yhat.reshape(-1, 1))]
    if hidden:
        extremes.append((np.array([1.0, 0.0]), np.array([1.0, 0.0])))
    for args in extremes:
        call, got = _scalar_or_explain(fn, name, args)
        if not np.isfinite(as_student_number(got, call)):
            raise GradingError(f"{call} with yhat exactly 0 or 1 returned {float(got)}. "
                               + clip_text)
        compare(name, f"{call} with yhat exactly 0 or 1", got,
                ref_losses.binary_cross_entropy(*args), atol=1e-6, rtol=1e-6, hints=hints,
                args=args)
    passed(name, len(cases) + len(extremes) + 1)


# ---------------------------------------------------------------- neuron_backward

def _neuron_variant(x, y, w, b, two=2.0, sig_deriv=True):
    x, w = np.asarray(x, float), np.asarray(w, float)
    p = float(sigmoid(float(x @ w) + float(b)))
    dz = two * (p - float(y)) * (p * (1 - p) if sig_deriv else 1.0)
    return dz * x, dz


def _neuron_hints(part):
    pick = lambda **kw: (lambda e, a: _neuron_variant(*a, **kw)[part])
    return (
        Hint("the sigmoid derivative s * (1 - s) is missing from the chain rule",
             pick(sig_deriv=False)),
        Hint("the factor 2 from d/dpred (pred - y)^2 = 2 (pred - y) is missing", pick(two=1.0)),
        Hint("the factor 2 and the sigmoid derivative s * (1 - s) are missing",
             pick(two=1.0, sig_deriv=False)),
        SIGN_FLIPPED,
    )


def check_neuron_backward(neuron_backward, hidden=False):
    """neuron_backward(x, y, w, b) -> (dL_dw (d,), dL_db) for L = (sigmoid(x.w + b) - y)^2."""
    name = "neuron_backward"
    ensure_student_function(neuron_backward, name)
    rng = case_rng(name, hidden)
    cases = [(rng.normal(size=3), 1.0, rng.normal(size=3), 0.5),
             (rng.normal(size=5), 0.0, rng.normal(size=5), float(rng.normal()))]
    if hidden:
        cases += [(rng.normal(size=1), 1.0, rng.normal(size=1), -0.3),
                  (rng.normal(size=8), 0.25, rng.normal(scale=0.5, size=8),
                   np.float64(rng.normal())),
                  (rng.normal(size=4), 0.0, rng.normal(size=4), 0.0)]
    hints_w, hints_b = _neuron_hints(0), _neuron_hints(1)
    for args in cases:
        call = describe_call(name, args)
        dw, db = as_student_tuple(call_student(neuron_backward, name, args), call, ("dL_dw", "dL_db"))
        exp_w, exp_b = ref.neuron_backward(*args)
        compare(name, f"{call}[0] (dL_dw)", dw, exp_w, hints=hints_w, args=args)
        compare(name, f"{call}[1] (dL_db)", db, exp_b, hints=hints_b, args=args)
    passed(name, len(cases))


# ---------------------------------------------------------------- backward

def _backward_variant(X, y, params, cache, mean=True, relu_deriv=True, extra_sigmoid=False,
                      bias_axis=0, back_through_W=False):
    """The reference backward pass with one known mistake switched on.

    ``back_through_W`` sends the error back through W instead of W.T wherever W
    is square (elsewhere that mistake crashes, and the crash gets its own message).
    """
    X = np.asarray(X, float)
    num_layers = _layer_count(params)
    out = cache[f"A{num_layers}"]
    Y = np.asarray(y, float).reshape(out.shape)
    dZ = (out - Y) / (out.size if mean else 1)
    if extra_sigmoid:
        dZ = dZ * out * (1 - out)
    grads = {}
    for layer in range(num_layers, 0, -1):
        A_prev = X if layer == 1 else cache[f"A{layer - 1}"]
        grads[f"dW{layer}"] = A_prev.T @ dZ
        grads[f"db{layer}"] = dZ.sum(axis=bias_axis)
        if layer > 1:
            W = params[f"W{layer}"]
            dZ = dZ @ (W if back_through_W and W.shape[0] == W.shape[1] else W.T)
            if relu_deriv:
                dZ = dZ * (cache[f"Z{layer - 1}"] > 0)
    return grads


def _backward_hints(key):
    pick = lambda **kw: (lambda e, a: _backward_variant(*a, **kw)[key])
    hints = [
        Hint(BATCH_HINT, pick(mean=False)),
        Hint("you divide by the batch size twice", lambda e, a: e / np.asarray(a[0]).shape[0]),
        Hint("the ReLU derivative is missing: multiply dA by relu_derivative(Z) of the "
             "hidden layer", pick(relu_deriv=False)),
        Hint("you multiply by the sigmoid derivative at the output again: with binary "
             "cross-entropy dL/dZ{L} is simply (A{L} - Y) / n", pick(extra_sigmoid=True)),
        SIGN_FLIPPED,
    ]
    if key.startswith("dW"):
        hints.append(Hint("dW is transposed: use A_prev.T @ dZ", lambda e, a: e.T))
        hints.append(Hint(_BACK_THROUGH_W_TEXT, pick(back_through_W=True)))
    else:
        hints.append(Hint("the bias gradient is reduced over the wrong axis: sum dZ over the "
                          "examples, dZ.sum(axis=0)", pick(bias_axis=1)))
    return tuple(hints)


def _backward_cases(hidden):
    rng = case_rng("backward", hidden)
    # the third network has square hidden weights, so that dZ @ W runs and must be caught
    shapes = [(6, [13, 8, 1], False), (5, [4, 3, 2, 1], True), (8, [5, 5, 5, 1], False)]
    if hidden:
        shapes += [(1, [3, 1], False), (16, [13, 16, 8, 1], False), (4, [3, 4, 1], True),
                   (3, [3, 3, 1], False), (5, [4, 1], False)]
    cases = []
    for seed, (n, sizes, column) in enumerate(shapes):
        X = rng.normal(size=(n, sizes[0]))
        params = _params_for(rng, sizes, seed + 3)
        y = _labels(rng, n)
        cases.append((X, y.reshape(-1, 1) if column else y, params, ref.forward(X, params)[1]))
    return cases


def _numerical_grads(X, y, params, h=1e-5):
    """Central differences of the mean BCE of nnlib's forward, for every parameter entry."""
    work = {k: np.array(v, dtype=float) for k, v in params.items()}

    def loss():
        return ref_losses.binary_cross_entropy(y, ref.forward(X, work)[0])
    grads = {}
    for key, value in work.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + h
            plus = loss()
            value[index] = original - h
            minus = loss()
            value[index] = original
            grad[index] = (plus - minus) / (2 * h)
        grads["d" + key] = grad
    return grads


def _backward_shape(call, key, got, want, n, y):
    if got.shape == want:
        return
    text = f"{call}['{key}'] has shape {got.shape}, expected {want}."
    if key.startswith("dW") and got.shape == want[::-1]:
        text += " It looks transposed: dW = A_prev.T @ dZ."
    elif key.startswith("db"):
        if got.shape == (n,) and n != want[0]:
            text += (" The bias gradient is reduced over the wrong axis: sum dZ over the "
                     "examples, dZ.sum(axis=0).")
        elif got.shape == (1,) + want:
            text += " Drop keepdims=True: db has the shape of b."
        elif got.shape == ():
            text += " You summed over everything: sum only over the examples (axis=0)."
    elif (key.startswith("dW") and np.ndim(y) == 1 and n > 1 and want[1] == 1
          and got.shape == (want[0], n)):
        text += " Likely bug: " + _BROADCAST_TEXT + "."
    raise GradingError(text)


_BROADCAST_TEXT = ("y of shape (n,) minus yhat of shape (n, 1) broadcasts to an (n, n) grid: "
                   "reshape y to a column, y.reshape(-1, 1)")
_BACK_THROUGH_W_TEXT = ("the error is sent back through W instead of its transpose: "
                        "dA_prev = dZ @ W.T, shapes (n, d_l) @ (d_l, d_{l-1})")
_PRODUCT_SHAPES_TEXT = ("a matrix product has its operands the wrong way round. Check each one "
                        "against the shapes: dW = A_prev.T @ dZ is (d_{l-1}, n) @ (n, d_l), "
                        "dA_prev = dZ @ W.T is (n, d_l) @ (d_l, d_{l-1})")


def _column_y_fixes_it(backward, args):
    """Does the student's backward give the right gradients once y is a column?"""
    X, y, params, cache = args
    try:
        column = call_student(backward, "backward", (X, y.reshape(-1, 1), params, cache))
        expected = ref.backward(*args)
        return isinstance(column, dict) and all(
            np.allclose(np.asarray(column[k], float), v) for k, v in expected.items())
    except Exception:   # noqa: BLE001 - any failure means: no diagnosis
        return False


def _call_backward(backward, args):
    """Call the student's backward; a crash in a matrix product gets a diagnosis.

    When a column y avoids the crash, the (n,) - (n, 1) broadcast is named;
    otherwise a product with its operands the wrong way round.
    """
    try:
        return call_student(backward, "backward", args)
    except GradingError as error:
        if "not implemented" in str(error) or "in place" in str(error):
            raise
        text = str(error).rstrip(".")
        if np.ndim(args[1]) == 1 and _column_y_fixes_it(backward, args):
            raise GradingError(f"{text}. Likely bug: {_BROADCAST_TEXT}.") from None
        if "matmul" in text or "not aligned" in text:
            raise GradingError(f"{text}. Likely bug: {_PRODUCT_SHAPES_TEXT}.") from None
        raise


def check_backward(backward, hidden=False):
    """backward(X, y, params, cache) -> {dW1, db1, ...}: gradients of the mean BCE."""
    name = "backward"
    ensure_student_function(backward, name)
    cases = _backward_cases(hidden)
    for args in cases:
        X, y, params, _ = args
        call = describe_call(name, args)
        num_layers = _layer_count(params)
        keys = [f"{kind}{layer}" for layer in range(1, num_layers + 1) for kind in ("dW", "db")]
        grads = _as_dict(_call_backward(backward, args), call,
                         "with keys " + ", ".join(keys))
        _missing_keys(grads, keys, call, "every parameter needs its gradient "
                      "(dW1, db1, ..., one pair per layer)")
        expected = ref.backward(*args)
        numeric = _numerical_grads(X, y, params)
        for key in keys:
            got = as_student_array(grads[key], f"{call}['{key}']")
            _backward_shape(call, key, got, expected[key].shape, X.shape[0], y)
            compare(name, f"{call}['{key}']", got, expected[key], rtol=1e-6, atol=1e-9,
                    hints=_backward_hints(key), args=args)
            if not np.allclose(got, numeric[key], rtol=1e-4, atol=1e-7):
                raise GradingError(f"{call}['{key}'] disagrees with central finite "
                                   "differences of the mean binary cross-entropy.")
    passed(name, len(cases))
