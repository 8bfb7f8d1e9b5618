"""Chapters 4 and 5: a fully connected binary classifier kept in a dict of parameters.

Layer l (1..L) maps A{l-1} (n, d_{l-1}) to Z{l} = A{l-1} @ W{l} + b{l} (n, d_l),
with W{l} (d_{l-1}, d_l) and b{l} (d_l,). Hidden layers apply ReLU, the output
layer a sigmoid, so A{L} holds probabilities; A0 is the input X (n, d).
For layer_sizes [13, 8, 1]: W1 (13, 8), b1 (8,), W2 (8, 1), b2 (1,).

The loss is the binary cross-entropy averaged over all entries of A{L} (for
the usual single output: over the batch). With a sigmoid output its gradient
with respect to Z{L} collapses to the clean (A{L} - Y) / n.
"""
import re

import numpy as np

from nnlib._validate import as_float_array
from nnlib.activations import relu, relu_derivative, sigmoid


def init_params(layer_sizes, seed=0):
    """He-initialised weights W{l} ~ N(0, 1) * sqrt(2 / fan_in) and zero biases b{l}.

    ``layer_sizes`` lists the widths [d_0, d_1, ..., d_L] (input first, at
    least two entries); random numbers come from np.random.default_rng(seed).
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output size (at least 2 entries), got {sizes}")
    for i, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"layer_sizes must hold positive integers, got {size!r} at index {i}")
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        params[f"b{layer}"] = np.zeros(fan_out)
    return params


def _num_layers(params):
    """Number of layers L in ``params``; ValueError naming any missing W{l}/b{l}."""
    indices = [int(m.group(1)) for key in params if (m := re.fullmatch(r"[Wb]([1-9][0-9]*)", str(key)))]
    if not indices:
        raise ValueError(f"params has no layers: expected keys W1, b1, ..., got {sorted(map(str, params))}")
    num_layers = max(indices)
    missing = [f"{kind}{layer}" for layer in range(1, num_layers + 1) for kind in "Wb"
               if f"{kind}{layer}" not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (found {sorted(map(str, params))})")
    return num_layers


def _weights(params, X):
    """Validated [(W1, b1), ..., (WL, bL)] for input X; ValueError naming shapes that don't chain."""
    num_layers = _num_layers(params)
    layers = []
    width_in, source = X.shape[1], "X"
    for layer in range(1, num_layers + 1):
        W = as_float_array(params[f"W{layer}"], f"W{layer}", ndim=2)
        b = as_float_array(params[f"b{layer}"], f"b{layer}", ndim=1)
        if W.shape[0] != width_in:
            shape_in = X.shape if layer == 1 else layers[-1][0].shape
            raise ValueError(f"{source} has shape {shape_in} but W{layer} has shape {W.shape}; "
                             f"{source}.shape[1] must equal W{layer}.shape[0]")
        if b.shape != (W.shape[1],):
            raise ValueError(f"W{layer} has shape {W.shape} but b{layer} has shape {b.shape}; "
                             f"b{layer} must have shape ({W.shape[1]},)")
        layers.append((W, b))
        width_in, source = W.shape[1], f"W{layer}"
    return layers


def forward(X, params):
    """Forward pass: X (n, d) -> (yhat (n, d_L), cache {"A0": X, "Z1", "A1", ..., "ZL", "AL"}).

    ReLU on hidden layers, sigmoid on the output layer; L is read off the keys
    of ``params``.
    """
    X = as_float_array(X, "X", ndim=2)
    layers = _weights(params, X)
    cache = {"A0": X}
    A = X
    for layer, (W, b) in enumerate(layers, start=1):
        Z = A @ W + b
        A = sigmoid(Z) if layer == len(layers) else relu(Z)
        cache[f"Z{layer}"] = Z
        cache[f"A{layer}"] = A
    return A, cache


def backward(X, y, params, cache):
    """Gradients of the mean binary cross-entropy -> {"dW1", "db1", ..., "dWL", "dbL"}.

    ``y`` holds 0/1 labels, shape (n,) or (n, 1) for one output unit, (n, d_L)
    in general; ``cache`` comes from forward(X, params). Each gradient has the
    shape of its parameter.
    """
    X = as_float_array(X, "X", ndim=2)
    layers = _weights(params, X)
    num_layers = len(layers)
    missing = [key for layer in range(1, num_layers + 1) for key in (f"Z{layer}", f"A{layer}")
               if key not in cache]
    if missing:
        raise ValueError(f"cache is missing {', '.join(missing)}; pass the cache returned by forward(X, params)")
    output = cache[f"A{num_layers}"]
    if output.shape[0] != X.shape[0]:
        raise ValueError(f"X has shape {X.shape} but the cached output A{num_layers} has shape {output.shape}; "
                         "the cache must come from forward on this X")
    y = as_float_array(y, "y")
    Y = y.reshape(-1, 1) if y.ndim == 1 and output.shape == (y.shape[0], 1) else y
    if Y.shape != output.shape:
        raise ValueError(f"y has shape {y.shape} but the network output A{num_layers} has shape {output.shape}")
    bad = np.argwhere((Y != 0) & (Y != 1))
    if bad.size:
        raise ValueError(f"y must hold 0/1 labels, got {Y[tuple(bad[0])]} at row {bad[0][0]}")

    grads = {}
    dZ = (output - Y) / output.size  # sigmoid + cross-entropy: dL/dZ{L} in one step
    for layer in range(num_layers, 0, -1):
        A_prev = X if layer == 1 else cache[f"A{layer - 1}"]
        grads[f"dW{layer}"] = A_prev.T @ dZ
        grads[f"db{layer}"] = dZ.sum(axis=0)
        if layer > 1:
            dA_prev = dZ @ layers[layer - 1][0].T
            dZ = dA_prev * relu_derivative(cache[f"Z{layer - 1}"])
    return {key: grads[key] for layer in range(1, num_layers + 1) for key in (f"dW{layer}", f"db{layer}")}


def _scalar(value, name):
    """A number, or an array holding exactly one, as a float."""
    arr = as_float_array(value, name)
    if arr.size != 1:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))


def neuron_backward(x, y, w, b):
    """Gradients of L = (sigmoid(x . w + b) - y)^2 for one example -> (dL_dw (d,), dL_db float).

    Chain rule: dL/dpred = 2 (pred - y), dpred/dz = s (1 - s), dz/dw = x, dz/db = 1.
    """
    x = as_float_array(x, "x", ndim=1)
    w = as_float_array(w, "w", ndim=1)
    if x.shape != w.shape:
        raise ValueError(f"x has shape {x.shape} but w has shape {w.shape}; they must match")
    y = _scalar(y, "y")
    b = _scalar(b, "b")
    z = float(x @ w) + b
    pred = float(sigmoid(z))
    dL_dpred = 2.0 * (pred - y)
    dpred_dz = pred * (1.0 - pred)
    dL_dz = dL_dpred * dpred_dz
    return dL_dz * x, dL_dz * 1.0
