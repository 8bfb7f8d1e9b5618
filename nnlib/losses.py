"""Chapters 4 and 9: loss functions and the gradient of softmax + cross-entropy.

Binary losses compare labels ``y`` with predictions ``yhat`` elementwise. The
chapter-4 network outputs a column (n, 1) while labels are usually (n,); both
layouts are accepted and treated as the same column, because numpy would
otherwise broadcast (n,) - (n, 1) to an (n, n) matrix and return a wrong loss
without any error. Any other shape mismatch raises ValueError.

Multi-class losses take integer labels ``y`` (n,) and probabilities or logits
(n, k), one row per example.
"""
import numpy as np

from nnlib._validate import as_float_array
from nnlib.activations import log_softmax


def _column_of(flat, column):
    """True when ``flat`` is (n,) and ``column`` is (n, 1)."""
    return flat.ndim == 1 and column.shape == (flat.shape[0], 1)


def _paired(y, yhat, name_y="y", name_yhat="yhat"):
    """Return (y, yhat) as float64 arrays of one shape; (n,) and (n, 1) count as the same."""
    y = as_float_array(y, name_y)
    yhat = as_float_array(yhat, name_yhat)
    if y.shape != yhat.shape:
        if not (_column_of(y, yhat) or _column_of(yhat, y)):
            raise ValueError(f"{name_y} has shape {y.shape} but {name_yhat} has shape {yhat.shape}; "
                             "they must match ((n,) and (n, 1) are both accepted)")
        y, yhat = y.reshape(-1), yhat.reshape(-1)
    if y.size == 0:
        raise ValueError(f"{name_y} and {name_yhat} are empty; a mean loss needs at least one example")
    return y, yhat


def _binary_labels(y, name="y"):
    """Raise ValueError naming the first label that is not 0 or 1."""
    bad = np.flatnonzero((y != 0) & (y != 1))
    if bad.size:
        index = np.unravel_index(bad[0], y.shape)
        raise ValueError(f"{name} must hold 0/1 labels, got {y[index]} at index {tuple(int(i) for i in index)}")


def _class_labels(y, num_classes, name="y"):
    """Check that 1-D ``y`` holds integers in [0, num_classes) -> int64 array."""
    if type(y) is np.ndarray and y.dtype.kind in "iu" and y.ndim == 1 and (
            y.size == 0 or (y.min() >= 0 and y.max() < num_classes)):
        return y.astype(np.int64)       # integer labels in range: nothing more to check
    y = as_float_array(y, name, ndim=1)
    not_integral = np.flatnonzero(y != np.round(y))
    if not_integral.size:
        i = not_integral[0]
        raise ValueError(f"{name} must hold integer class labels, got {y[i]} at index {i}")
    out_of_range = np.flatnonzero((y < 0) | (y >= num_classes))
    if out_of_range.size:
        i = out_of_range[0]
        raise ValueError(f"label {y[i]:g} at index {i} of {name} is out of range for "
                         f"{num_classes} classes (valid labels are 0..{num_classes - 1})")
    return y.astype(np.int64)


def _scores_and_labels(scores, y, name):
    """Validate (n, k) ``scores`` and (n,) integer labels -> (scores, int labels)."""
    scores = as_float_array(scores, name, ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if scores.shape[0] != y.shape[0]:
        raise ValueError(f"{name} has shape {scores.shape} but y has shape {y.shape}; "
                         f"need one label per row of {name}")
    if y.size == 0:
        raise ValueError(f"{name} and y are empty; a mean loss needs at least one example")
    return scores, _class_labels(y, scores.shape[1])


def _probabilities(p, name):
    """Raise ValueError naming the first entry of ``p`` outside [0, 1]."""
    bad = np.flatnonzero((p < 0) | (p > 1))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], p.shape))
        raise ValueError(f"{name} must hold probabilities in [0, 1], got {p[index]} at index {index} "
                         "(pass logits to the *_from_logits version instead)")


def mse_loss(y, yhat):
    """Mean squared error mean((yhat - y)^2) -> float. Shapes (n,) and (n, 1) mix."""
    y, yhat = _paired(y, yhat)
    return float(np.mean((yhat - y) ** 2))


def binary_cross_entropy(y, yhat, eps=1e-12):
    """Mean of -(y log p + (1 - y) log(1 - p)), p = clip(yhat, eps, 1 - eps) -> float.

    ``y`` holds 0/1 labels, ``yhat`` probabilities; finite even for yhat of
    exactly 0 or 1. Shapes (n,) and (n, 1) mix.
    """
    y, yhat = _paired(y, yhat)
    _binary_labels(y)
    _probabilities(yhat, "yhat")
    p = np.clip(yhat, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def binary_cross_entropy_from_logits(y, z):
    """Mean binary cross-entropy of 0/1 labels ``y`` and logits ``z`` (p = sigmoid(z)) -> float.

    Uses -log sigmoid(z) = log(1 + e^-z) in the form max(z, 0) - z y + log(1 + e^-abs(z)),
    whose exponent is never positive: finite for abs(z) of 1e4.
    """
    y, z = _paired(y, z, "y", "z")
    _binary_labels(y)
    with np.errstate(under="ignore"):  # e^-|z| underflowing to 0 is the right answer
        softplus_tail = np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(np.maximum(z, 0.0) - z * y + softplus_tail))


def one_hot(y, num_classes):
    """Integer labels (n,) -> one-hot rows (n, num_classes), float64."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    labels = _class_labels(y, num_classes)
    encoded = np.zeros((labels.shape[0], num_classes))
    encoded[np.arange(labels.shape[0]), labels] = 1.0
    return encoded


def cross_entropy(probs, y, eps=1e-12):
    """Mean negative log-likelihood -mean(log probs[i, y_i]) of labels y (n,) under probs (n, k).

    Probabilities are clipped to at least ``eps`` so a zero gives a large,
    finite loss.
    """
    probs, labels = _scores_and_labels(probs, y, "probs")
    _probabilities(probs, "probs")
    picked = probs[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.clip(picked, eps, 1.0))))


def cross_entropy_from_logits(Z, y):
    """Mean cross-entropy of labels y (n,) under softmax(Z), Z (n, k), via log_softmax -> float."""
    Z, labels = _scores_and_labels(Z, y, "Z")
    return float(-np.mean(log_softmax(Z)[np.arange(labels.shape[0]), labels]))


def softmax_cross_entropy_backward(probs, y):
    """Gradient of the mean cross-entropy w.r.t. the logits: (probs - one_hot(y)) / n, shape (n, k)."""
    probs, labels = _scores_and_labels(probs, y, "probs")
    _probabilities(probs, "probs")
    return (probs - one_hot(labels, probs.shape[1])) / labels.shape[0]
