"""Chapter 2 (and 9): activation functions and their derivatives, elementwise.

All functions take any array shape (or a Python scalar) and return float64 of
the same shape. They are finite and warning-free for inputs as large as 1e4.
"""
import numpy as np

from nnlib._validate import as_float_array


def sigmoid(z):
    """1 / (1 + e^-z), computed without overflow: e^-abs(z) never exceeds 1."""
    z = as_float_array(z, "z")
    with np.errstate(under="ignore"):  # e^-|z| underflowing to 0 is the right answer
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """d sigmoid / dz = s (1 - s) with s = sigmoid(z)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def relu(z):
    """max(0, z)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0.0)


def relu_derivative(z):
    """1 where z > 0, else 0 (the convention at z = 0 is 0)."""
    z = as_float_array(z, "z")
    return (z > 0).astype(np.float64)


def tanh(z):
    """Hyperbolic tangent (numpy's, with nnlib's input checks)."""
    return np.tanh(as_float_array(z, "z"))


def tanh_derivative(z):
    """d tanh / dz = 1 - tanh(z)^2."""
    t = tanh(z)
    return 1.0 - t * t


def log_softmax(Z, axis=-1):
    """log softmax along ``axis``: Z - logsumexp(Z), stable for logits of 1e4."""
    Z = as_float_array(Z, "Z")
    shifted = Z - Z.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):  # exp of a very negative logit is 0, harmlessly
        total = np.exp(shifted).sum(axis=axis, keepdims=True)
    return shifted - np.log(total)


def softmax(Z, axis=-1):
    """Row-wise (by default) softmax: exp normalised to sum to 1, stable for logits of 1e4."""
    Z = as_float_array(Z, "Z")
    with np.errstate(under="ignore"):  # exp of a very negative logit is 0, harmlessly
        e = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
