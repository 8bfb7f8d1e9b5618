"""Chapter 1: vectors, the dot product, and the neuron as a weighted sum.

Shapes: a sample ``x`` is (d,), a weight vector ``w`` is (d,), a batch ``X`` is
(n, d), a weight matrix ``W`` is (d, h) and a bias ``b`` is (h,).
"""
import numpy as np

from nnlib._validate import as_float_array, same_length


def dot_loop(x, w):
    """Dot product of two 1-D sequences with an explicit Python loop -> float."""
    if len(x) != len(w):
        raise ValueError(f"dot_loop: x has length {len(x)} but w has length {len(w)}")
    total = 0.0
    for xi, wi in zip(x, w):
        total += float(xi) * float(wi)
    return total


def dot(x, w):
    """Vectorised dot product of (d,) and (d,) -> float."""
    x = as_float_array(x, "x", ndim=1)
    w = as_float_array(w, "w", ndim=1)
    same_length(x, w, "x", "w")
    return float(x @ w)


def cosine_similarity(x, w):
    """cos(theta) = x.w / (norm(x) norm(w)) for (d,) vectors -> float in [-1, 1]."""
    x = as_float_array(x, "x", ndim=1)
    w = as_float_array(w, "w", ndim=1)
    same_length(x, w, "x", "w")
    norms = np.linalg.norm(x) * np.linalg.norm(w)
    if norms == 0.0:
        raise ValueError("cosine_similarity is undefined for a zero vector")
    return float(np.clip(x @ w / norms, -1.0, 1.0))


def most_similar(x, candidates):
    """Index of the row of ``candidates`` (k, d) with the largest dot product with x (d,)."""
    x = as_float_array(x, "x", ndim=1)
    candidates = as_float_array(candidates, "candidates", ndim=2)
    if candidates.shape[1] != x.shape[0]:
        raise ValueError(f"candidates has shape {candidates.shape} but x has shape {x.shape}; "
                         "each candidate row must have len(x) entries")
    if candidates.shape[0] == 0:
        raise ValueError("most_similar needs at least one candidate row")
    return int(np.argmax(candidates @ x))


def neuron(x, w, b):
    """Pre-activation of one neuron: x . w + b for x, w of shape (d,) and scalar b -> float."""
    return dot(x, w) + float(b)


def dense(X, W, b):
    """Pre-activation of a dense layer: (n, d) @ (d, h) + (h,) -> (n, h)."""
    X = as_float_array(X, "X", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has shape {X.shape} and W has shape {W.shape}; "
                         "X.shape[1] must equal W.shape[0]")
    if b.shape[0] != W.shape[1]:
        raise ValueError(f"W has shape {W.shape} and b has shape {b.shape}; "
                         "b must have W.shape[1] entries")
    return X @ W + b
