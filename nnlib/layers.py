"""Layers with an explicit forward and backward, for models bigger than scalar autograd can handle.

Every layer follows one contract:

- ``forward(X)`` returns the output and caches what the backward pass needs;
- ``backward(dout)`` takes d loss / d output (shape of the last output) and
  returns d loss / d X, storing parameter gradients in ``grads`` (they are
  *overwritten* by each backward pass, not accumulated);
- ``parameters()`` yields ``(param, grad)`` array pairs, ``zero_grad()``
  sets every grad to 0.

Arrays keep their floating dtype: a float32 model computes in float32
throughout (integer inputs become float64, or the Linear layer's dtype).
"""
import numpy as np


def _float_input(X, name="X"):
    """``X`` as a floating array; integer or bool input becomes float64."""
    X = np.asarray(X)
    if X.dtype.kind != "f":      # kind codes: f float, i/u integer, b bool (cheaper than issubdtype)
        if X.dtype.kind not in "iub":
            raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    return X


def _check_dout(dout, expected_shape, layer):
    """Raise unless forward ran and ``dout`` has the shape of its output."""
    if expected_shape is None:
        raise RuntimeError(f"{layer}.backward called before forward")
    if dout.shape != expected_shape:
        raise ValueError(f"{layer}.backward: dout has shape {dout.shape} but the forward "
                         f"output had shape {expected_shape}")


class Module:
    """Base class of the layers: calling, parameters and zeroing their gradients."""

    needs_input_grad = True

    def __call__(self, X):
        return self.forward(X)

    def parameters(self):
        """Yield (param, grad) pairs; none for a parameter-free layer."""
        return iter(())

    def zero_grad(self):
        for _, grad in self.parameters():
            grad.fill(0)


class Linear(Module):
    """Affine map X (n, in_features) -> X @ W + b (n, out_features).

    params: W (in_features, out_features) and b (out_features,), initialised
    uniform(-1/sqrt(in), 1/sqrt(in)) like PyTorch's nn.Linear, from ``rng`` or
    default_rng(seed). ``needs_input_grad=False`` makes backward skip the
    dout @ W.T product and return None (for a first layer: nobody needs dX).
    """

    def __init__(self, in_features, out_features, dtype=np.float64, seed=0, rng=None,
                 needs_input_grad=True):
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"dtype must be a floating type, got {self.dtype}")
        rng = np.random.default_rng(seed) if rng is None else rng
        bound = 1.0 / np.sqrt(in_features)
        self.params = {
            "W": rng.uniform(-bound, bound, (in_features, out_features)).astype(self.dtype),
            "b": rng.uniform(-bound, bound, out_features).astype(self.dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.needs_input_grad = needs_input_grad
        self._X = None
        self._ones_n = np.ones(0, dtype=self.dtype)

    def forward(self, X):
        X = np.asarray(X, dtype=self.dtype)
        W, b = self.params["W"], self.params["b"]
        if X.ndim != 2 or X.shape[1] != W.shape[0]:
            raise ValueError(f"Linear({W.shape[0]}, {W.shape[1]}): X has shape {X.shape} but W has "
                             f"shape {W.shape}; X must be (n, {W.shape[0]})")
        self._X = X
        out = X @ W
        out += b               # in place: no second (n, out) temporary
        return out

    def backward(self, dout):
        dout = np.asarray(dout, dtype=self.dtype)
        X = self._X
        _check_dout(dout, None if X is None else (X.shape[0], self.params["W"].shape[1]), "Linear")
        np.matmul(X.T, dout, out=self.grads["W"])   # dW = X^T dout, written into the grad buffer
        np.matmul(self._ones(X.shape[0]), dout, out=self.grads["b"])  # db = 1^T dout: column sums
        if not self.needs_input_grad:
            return None
        return dout @ self.params["W"].T             # dX = dout W^T

    def _ones(self, n):
        """A ones vector of length n, kept between batches. As a matrix-vector product,
        the column sums run in BLAS: several times faster than dout.sum(axis=0)."""
        if self._ones_n.shape[0] != n:
            self._ones_n = np.ones(n, dtype=self.dtype)
        return self._ones_n

    def parameters(self):
        for key in self.params:
            yield self.params[key], self.grads[key]

    def __repr__(self):
        W = self.params["W"]
        return f"Linear({W.shape[0]}, {W.shape[1]}, dtype={self.dtype.name})"


class _Elementwise(Module):
    """An activation applied entrywise; subclasses define _forward and _local_grad."""

    def __init__(self):
        self._cache = None
        self._shape = None

    def forward(self, X):
        X = _float_input(X)
        out, self._cache = self._forward(X)
        self._shape = X.shape
        return out

    def backward(self, dout):
        dout = np.asarray(dout)
        _check_dout(dout, self._shape, type(self).__name__)
        if not self.needs_input_grad:
            return None
        return dout * self._local_grad(self._cache)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """max(0, X); the gradient passes where X > 0."""

    def _forward(self, X):
        mask = X > 0
        return X * mask, mask     # one multiply: faster than np.maximum(X, 0) in numpy 2

    def _local_grad(self, mask):
        return mask


class Sigmoid(_Elementwise):
    """1 / (1 + e^-X), computed as exp(-log(1 + e^-X)) so it never overflows."""

    def _forward(self, X):
        s = np.exp(-np.logaddexp(0, -X))
        return s, s

    def _local_grad(self, s):
        return s * (1 - s)


class Tanh(_Elementwise):
    """tanh(X), with d tanh = 1 - tanh^2."""

    def _forward(self, X):
        t = np.tanh(X)
        return t, t

    def _local_grad(self, t):
        return 1 - t * t


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    The first layer gets ``needs_input_grad`` (default False: a model's input
    needs no gradient, so the first Linear skips its dX product and
    ``backward`` returns None); every later layer must pass gradients on and
    is set to compute them.
    """

    def __init__(self, *layers, needs_input_grad=False):
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        self.layers = list(layers)
        for layer in self.layers[1:]:
            layer.needs_input_grad = True
        self.needs_input_grad = needs_input_grad

    @property
    def needs_input_grad(self):
        return self.layers[0].needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        self.layers[0].needs_input_grad = bool(value)

    def forward(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def parameters(self):
        for layer in self.layers:
            yield from layer.parameters()

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels, fused for stability.

    forward(logits (n, k), y (n,)) -> float loss, with log softmax computed as
    shifted - log(sum(exp(shifted))) where shifted = logits - row max.
    backward() -> dlogits (n, k) = (softmax - one_hot(y)) / n, in the logits' dtype.
    """

    def __init__(self):
        self._probs = None
        self._y = None

    def __call__(self, logits, y):
        return self.forward(logits, y)

    def forward(self, logits, y):
        Z = _float_input(logits, "logits")
        if Z.ndim != 2 or Z.shape[1] == 0:
            raise ValueError(f"logits must be (n, k) with k >= 1, got shape {Z.shape}")
        y = _labels(y, Z.shape)
        # Reductions along a short row (k classes) are slow in numpy, so the row maxima
        # come from the transposed copy and the row sums from a product with ones (BLAS).
        shifted = Z - np.ascontiguousarray(Z.T).max(axis=0)[:, None]
        probs = np.exp(shifted)
        total = probs @ np.ones(Z.shape[1], dtype=probs.dtype)
        # -log softmax(Z)[i, y_i] = log(total_i) - shifted[i, y_i], averaged over the rows
        loss = float(np.log(total).sum() - shifted[np.arange(Z.shape[0]), y].sum()) / Z.shape[0]
        probs /= total[:, None]
        self._probs, self._y = probs, y
        return loss

    def backward(self):
        if self._probs is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        n = self._probs.shape[0]
        dlogits = self._probs.copy()
        dlogits[np.arange(n), self._y] -= 1
        dlogits /= n
        return dlogits

    def __repr__(self):
        return "SoftmaxCrossEntropy()"


def _labels(y, logits_shape):
    """Check integer labels y (n,) against logits (n, k) -> y as an integer array."""
    y = np.asarray(y)
    n, k = logits_shape
    if y.shape != (n,):
        raise ValueError(f"y has shape {y.shape} but logits have shape {logits_shape}; "
                         f"need one integer label per row, shape ({n},)")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n == 0:
        raise ValueError("logits and y are empty; a mean loss needs at least one example")
    if y.min() < 0 or y.max() >= k:
        bad = np.flatnonzero((y < 0) | (y >= k))
        raise ValueError(f"labels out of range [0, {k}) at indices {bad[:5].tolist()}: "
                         f"{y[bad[:5]].tolist()}")
    return y
