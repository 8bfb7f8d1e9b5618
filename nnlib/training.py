"""Chapter 7: training loops, prediction and accuracy.

Two loops live here. ``train_sgd`` is the video course's loop for a single
sigmoid neuron: one random training row per iteration, squared error, and the
test-set loss tracked after every update. ``fit`` trains the dict-of-params
network of chapters 4-5 with mini-batch gradient descent on the binary
cross-entropy.
"""
import numpy as np

from nnlib._validate import as_float_array
from nnlib.activations import sigmoid
from nnlib.losses import _column_of, binary_cross_entropy
from nnlib.network import backward, forward, init_params, neuron_backward
from nnlib.optim import sgd_step


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _rows_match(X, y, name_X="X", name_y="y"):
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{name_X} has shape {X.shape} but {name_y} has shape {y.shape}; "
                         "they need the same number of rows")
    if X.shape[0] == 0:
        raise ValueError(f"{name_X} and {name_y} have no rows")


def iterate_minibatches(X, y, batch_size, rng):
    """Yield (X_batch, y_batch) pairs covering every row of X (n, ...) and y (n, ...) once.

    Rows are shuffled with a fresh ``rng.permutation(n)`` (``rng`` a
    np.random.Generator) drawn when this function is called; all batches have
    ``batch_size`` rows except possibly a smaller last one.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y need a row axis, got shapes {X.shape} and {y.shape}")
    _rows_match(X, y)
    _positive_int(batch_size, "batch_size")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (e.g. np.random.default_rng(0)), "
                        f"got {type(rng).__name__}")
    order = rng.permutation(X.shape[0])

    def batches():
        for start in range(0, order.shape[0], batch_size):
            rows = order[start:start + batch_size]
            yield X[rows], y[rows]

    return batches()


def train_sgd(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    """Train one sigmoid neuron with per-example SGD on the squared error.

    X_train (n, d), y_train (n,), X_test (m, d), y_test (m,). Weights (d,) and
    the bias start as standard normal draws from np.random.default_rng(seed).
    Each iteration picks one random training row, records its squared error
    (before the update), takes a step with neuron_backward, then records the
    SUM of squared errors over the whole test set.
    Returns (params {"w": (d,), "b": float}, train_losses, test_losses), the
    two lists having ``iterations`` entries.
    """
    X_train = as_float_array(X_train, "X_train", ndim=2)
    X_test = as_float_array(X_test, "X_test", ndim=2)
    y_train = as_float_array(y_train, "y_train", ndim=1)
    y_test = as_float_array(y_test, "y_test", ndim=1)
    _rows_match(X_train, y_train, "X_train", "y_train")
    _rows_match(X_test, y_test, "X_test", "y_test")
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_train has shape {X_train.shape} but X_test has shape {X_test.shape}; "
                         "they need the same number of features")
    _positive_int(iterations, "iterations")
    rng = np.random.default_rng(seed)
    params = {"w": rng.standard_normal(X_train.shape[1]), "b": float(rng.standard_normal())}
    train_losses, test_losses = [], []
    for _ in range(iterations):
        i = rng.integers(X_train.shape[0])
        x, target = X_train[i], y_train[i]
        pred = float(sigmoid(x @ params["w"] + params["b"]))
        train_losses.append(float((pred - target) ** 2))
        dL_dw, dL_db = neuron_backward(x, target, params["w"], params["b"])
        sgd_step(params, {"w": dL_dw, "b": dL_db}, lr)
        test_preds = sigmoid(X_test @ params["w"] + params["b"])
        test_losses.append(float(np.sum((test_preds - y_test) ** 2)))
    return params, train_losses, test_losses


def fit(X, y, layer_sizes, lr, epochs, batch_size, seed=0, progress=True):
    """Mini-batch gradient descent on the network of chapters 4-5 -> (params, losses).

    X (n, d), 0/1 labels y (n,) or (n, 1); ``layer_sizes`` starts with d. Parameters
    come from init_params(layer_sizes, seed) and batches are shuffled with
    np.random.default_rng(seed). ``losses[e]`` is the mean binary
    cross-entropy over all training examples seen in epoch e (each batch's
    loss measured before its update). A tqdm progress bar over the epochs shows
    the latest loss; ``progress=False`` keeps training silent.
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must have shape (n,) or (n, 1), got {y.shape}")
    _rows_match(X, y)
    _positive_int(epochs, "epochs")
    params = init_params(layer_sizes, seed)
    if params["W1"].shape[0] != X.shape[1]:
        raise ValueError(f"X has shape {X.shape} but layer_sizes {list(layer_sizes)} starts with "
                         f"{params['W1'].shape[0]}; layer_sizes[0] must equal X.shape[1]")
    rng = np.random.default_rng(seed)
    epoch_numbers = range(epochs)
    if progress:
        from tqdm import tqdm      # imported when used, so importing nnlib stays quick
        epoch_numbers = tqdm(epoch_numbers, desc="fit", unit="epoch")
    losses = []
    for _ in epoch_numbers:
        total = 0.0
        for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
            yhat, cache = forward(X_batch, params)
            total += binary_cross_entropy(y_batch, yhat) * X_batch.shape[0]
            sgd_step(params, backward(X_batch, y_batch, params, cache), lr)
        losses.append(total / X.shape[0])
        if progress:
            epoch_numbers.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return params, losses


def predict(X, params):
    """Class predictions: forward(X, params) probabilities thresholded at 0.5 -> (n,) ints 0/1.

    (For a network with several output units the result is (n, d_L).)
    """
    probs, _ = forward(X, params)
    labels = (probs >= 0.5).astype(np.int64)
    return labels.ravel() if labels.shape[1] == 1 else labels


def accuracy(y_true, y_pred):
    """Fraction of entries where y_pred equals y_true -> float. (n,) and (n, 1) mix."""
    y_true = as_float_array(y_true, "y_true")
    y_pred = as_float_array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        if not (_column_of(y_true, y_pred) or _column_of(y_pred, y_true)):
            raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                             "they must match ((n,) and (n, 1) are both accepted)")
        y_true, y_pred = y_true.ravel(), y_pred.ravel()
    if y_true.size == 0:
        raise ValueError("accuracy of empty arrays is undefined")
    return float(np.mean(y_true == y_pred))
