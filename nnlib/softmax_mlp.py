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

    def fit(self, X, y, lr, epochs, batch_size):
        """Mini-batch SGD; returns the loss per epoch (mean over its batches, weighted by size)."""
        X, y = self._inputs(X, y)
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        history = []
        for _ in range(epochs):
            total = 0.0
            for X_batch, y_batch in iterate_minibatches(X, y, batch_size, self._rng):
                total += self._backprop(X_batch, y_batch) * X_batch.shape[0]
                for linear in self._linears:
                    W, b = linear.params["W"], linear.params["b"]
                    W -= lr * (linear.grads["W"] + self.reg * W)
                    b -= lr * linear.grads["b"]
            history.append(total / X.shape[0])
        return history

    def __repr__(self):
        return f"SoftmaxMLP({self.layer_sizes}, reg={self.reg})"
