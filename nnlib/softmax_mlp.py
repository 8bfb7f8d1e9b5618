"""Chapter 9: a multi-class MLP with ReLU hidden layers and a softmax output.

Built from nnlib.layers: Linear -> ReLU -> ... -> Linear, then the fused
softmax cross-entropy. Weights are He-initialised (kaiming_init), biases zero.
The loss adds L2 regularisation on the weights (not the biases):

    loss = mean_i -log softmax(scores_i)[y_i] + 0.5 * reg * sum_l sum(W_l ** 2)

so each weight gradient gains reg * W_l.
"""
import numpy as np

from nnlib._validate import as_float_array
from nnlib.activations import softmax
from nnlib.layers import Linear, ReLU, Sequential, SoftmaxCrossEntropy
from nnlib.losses import _class_labels
from nnlib.training import iterate_minibatches


def kaiming_init(fan_in, fan_out, rng):
    """He initialisation: standard normal (fan_in, fan_out) * sqrt(2 / fan_in), drawn from ``rng``."""
    for name, size in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{name} must be a positive integer, got {size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


class SoftmaxMLP:
    """Classifier with layer widths ``layer_sizes`` = [d_in, hidden..., n_classes].

    ``params`` maps "W1", "b1", ..., "WL", "bL" to the layers' own arrays
    (W{l} (d_{l-1}, d_l), b{l} (d_l,)); change them in place to change the model.
    Weights are drawn with np.random.default_rng(seed) in the order W1, W2, ...;
    the same Generator then shuffles the mini-batches in ``fit``.
    """

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        sizes = list(layer_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs an input and an output size, got {sizes}")
        if not np.isfinite(reg) or reg < 0:
            raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
        self.layer_sizes = sizes
        self.reg = float(reg)
        self._rng = np.random.default_rng(seed)
        self._linears = []
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            linear = Linear(fan_in, fan_out)
            linear.params["W"][...] = kaiming_init(fan_in, fan_out, self._rng)  # He, not nn.Linear's
            linear.params["b"][...] = 0.0
            self._linears.append(linear)
            layers += [linear, ReLU()]
        self.net = Sequential(*layers[:-1])   # no ReLU after the output layer
        self.criterion = SoftmaxCrossEntropy()

    @property
    def params(self):
        """{"W1": ..., "b1": ..., ...}: the layers' arrays themselves, not copies."""
        return {f"{key}{l}": linear.params[key]
                for l, linear in enumerate(self._linears, start=1) for key in ("W", "b")}

    def _inputs(self, X, y=None):
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X has shape {X.shape} but the model expects {self.layer_sizes[0]} "
                             f"features per row (layer_sizes {self.layer_sizes})")
        if y is None:
            return X
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"X has shape {X.shape} but y has shape {y.shape}; need one label per row")
        return X, _class_labels(y, self.layer_sizes[-1])

    def _penalty(self):
        return 0.5 * self.reg * sum(float(np.sum(lin.params["W"] ** 2)) for lin in self._linears)

    def scores(self, X):
        """Logits (n, n_classes) for X (n, d_in)."""
        return self.net.forward(self._inputs(X))

    def predict_proba(self, X):
        """Class probabilities (n, n_classes); rows sum to 1."""
        return softmax(self.scores(X))

    def predict(self, X):
        """Most likely class per row -> int64 labels (n,)."""
        return np.argmax(self.scores(X), axis=1)

    def loss(self, X, y):
        """Mean cross-entropy over the rows of X (n, d_in), y (n,) plus the L2 penalty -> float."""
        X, y = self._inputs(X, y)
        return self.criterion.forward(self.net.forward(X), y) + self._penalty()

    def _backprop(self, X, y):
        """Forward + backward on validated X, y; layer grads hold d data-loss; returns the loss."""
        loss = self.criterion.forward(self.net.forward(X), y) + self._penalty()
        self.net.backward(self.criterion.backward())
        return loss

    def gradients(self, X, y):
        """d loss / d params as a new dict {"W1": (d0, d1), "b1": (d1,), ...}, reg * W included."""
        self._backprop(*self._inputs(X, y))
        grads = {}
        for l, linear in enumerate(self._linears, start=1):
            grads[f"W{l}"] = linear.grads["W"] + self.reg * linear.params["W"]
            grads[f"b{l}"] = linear.grads["b"].copy()
        return grads

    def fit(self, X, y, lr, epochs, batch_size, validation=None, patience=None):
        """Mini-batch SGD; returns the training loss per epoch (mean over its batches,
        weighted by size).

        ``validation=(X_val, y_val)`` records after every epoch, in ``self.history``, the
        loss on those rows (``loss``: cross-entropy plus the penalty) and the accuracy there.
        ``patience=k`` (with ``validation``) stops early: once the validation loss has not
        improved for ``k`` epochs in a row, training stops and the parameters of the epoch
        with the lowest validation loss are put back (``self.history["best epoch"]``).
        """
        X, y = self._inputs(X, y)
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        watch = self._validation(validation, patience)
        losses = []
        for _ in range(epochs):
            total = 0.0
            for X_batch, y_batch in iterate_minibatches(X, y, batch_size, self._rng):
                total += self._backprop(X_batch, y_batch) * X_batch.shape[0]
                for linear in self._linears:
                    W, b = linear.params["W"], linear.params["b"]
                    W -= lr * (linear.grads["W"] + self.reg * W)
                    b -= lr * linear.grads["b"]
            losses.append(total / X.shape[0])
            if watch is not None and watch(losses[-1]):
                break
        return losses

    def _validation(self, validation, patience):
        """None without ``validation``; else a function called after each epoch with its
        training loss, which records the epoch in ``self.history`` and says whether to stop."""
        if validation is None:
            if patience is not None:
                raise ValueError("patience needs validation=(X_val, y_val): early stopping "
                                 "watches the loss on rows the model is not trained on")
            return None
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise ValueError("validation must be a pair (X_val, y_val), got "
                             f"{type(validation).__name__}")
        X_val, y_val = self._inputs(*validation)
        if patience is not None and (isinstance(patience, bool) or patience < 1
                                     or not isinstance(patience, (int, np.integer))):
            raise ValueError(f"patience must be a positive integer (epochs), got {patience!r}")
        history = self.history = {"epoch": [], "training loss": [], "validation loss": [],
                                  "validation accuracy": [], "best epoch": None}
        best = {"loss": np.inf, "params": None}

        def after_epoch(training_loss):
            scores = self.net.forward(X_val)
            loss = self.criterion.forward(scores, y_val) + self._penalty()
            history["epoch"].append(len(history["epoch"]) + 1)
            history["training loss"].append(training_loss)
            history["validation loss"].append(loss)
            history["validation accuracy"].append(float(np.mean(scores.argmax(axis=1) == y_val)))
            if loss < best["loss"]:
                best["loss"], history["best epoch"] = loss, history["epoch"][-1]
                if patience is not None:
                    best["params"] = {k: v.copy() for k, v in self.params.items()}
            stop = patience is not None and history["epoch"][-1] - history["best epoch"] >= patience
            if stop:
                for key, value in self.params.items():
                    value[...] = best["params"][key]
            return stop
        return after_epoch

    def __repr__(self):
        return f"SoftmaxMLP({self.layer_sizes}, reg={self.reg})"
