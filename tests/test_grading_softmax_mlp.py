"""Tests for nnlib.grading.softmax_mlp: the chapter 9 class check (09_softmax_mlp).

Every "student" function here is written the way notebook code would be: plain
classes defined in this module, never nnlib's own.
"""

import numpy as np
import pytest

from nnlib import softmax_mlp as ref_mlp
from nnlib.grading import core
from nnlib.grading.core import GradingError
from nnlib.grading import softmax_mlp as checks
from nnlib.grading import softmax_mlp_fit, softmax_mlp_model

from gradingtools import HIDDEN, assert_no_leak, failure, passes
from test_grading_softmax import backward_eye, ce_clip, softmax_keepdims, softmax_logsumexp


# ---------------------------------------------------------------- SoftmaxMLP
#
# Correct classes the way students write them, then bugs as small subclasses that override
# one method (a notebook would hold the whole class; the bug is what matters here).

class LoopMLP:
    """Loops over the layers with a list of caches; in-place updates; max-shifted softmax."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        self.sizes = list(layer_sizes)
        self.reg = reg
        self.L = len(self.sizes) - 1
        self.rng = np.random.default_rng(seed)
        self.params = {}
        for l in range(1, self.L + 1):
            fan_in, fan_out = self.sizes[l - 1], self.sizes[l]
            self.params[f"W{l}"] = self.init_weights(fan_in, fan_out)
            self.params[f"b{l}"] = np.zeros(fan_out)

    def init_weights(self, fan_in, fan_out):
        return self.rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)

    def forward(self, X):
        A = X
        caches = []
        for l in range(1, self.L + 1):
            Z = A @ self.params[f"W{l}"] + self.params[f"b{l}"]
            caches.append((A, Z))
            A = np.maximum(0, Z) if l < self.L else Z
        return A, caches

    def probs(self, scores):
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def penalty(self):
        return 0.5 * self.reg * sum(np.sum(self.params[f"W{l}"] ** 2)
                                    for l in range(1, self.L + 1))

    def loss(self, X, y):
        scores, _ = self.forward(X)
        p = self.probs(scores)
        data = -np.mean(np.log(p[np.arange(len(y)), y]))
        return float(data + self.penalty())

    def gradients(self, X, y):
        scores, caches = self.forward(X)
        m = X.shape[0]
        dZ = self.probs(scores)
        dZ[np.arange(m), y] -= 1
        dZ /= m
        grads = {}
        for l in range(self.L, 0, -1):
            A_prev, _ = caches[l - 1]
            grads[f"W{l}"] = A_prev.T @ dZ + self.reg * self.params[f"W{l}"]
            grads[f"b{l}"] = dZ.sum(axis=0)
            if l > 1:
                dA = dZ @ self.params[f"W{l}"].T
                dZ = dA * (caches[l - 2][1] > 0)
        return grads

    def step(self, grads, lr):
        for key in self.params:
            self.params[key] -= lr * grads[key]

    def fit(self, X, y, lr, epochs, batch_size):
        history = []
        for _ in range(epochs):
            order = self.rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                rows = order[start:start + batch_size]
                self.step(self.gradients(X[rows], y[rows]), lr)
            history.append(self.loss(X, y))
        return history

    def predict(self, X):
        scores, _ = self.forward(X)
        return np.argmax(scores, axis=1)


def he(rng, fan_in, fan_out):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


class DictMLP:
    """Caches in a dict keyed Z1, A1, ...; logsumexp; rebinding updates; numpy scalar loss;
    batches in order, no shuffling."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.layer_sizes = layer_sizes
        self.reg = reg
        self.params = {}
        for i in range(len(layer_sizes) - 1):
            self.params["W" + str(i + 1)] = he(rng, layer_sizes[i], layer_sizes[i + 1])
            self.params["b" + str(i + 1)] = np.zeros(layer_sizes[i + 1])

    def _forward(self, X):
        n_layers = len(self.layer_sizes) - 1
        cache = {"A0": X}
        for i in range(1, n_layers + 1):
            cache["Z" + str(i)] = cache["A" + str(i - 1)] @ self.params["W" + str(i)] \
                + self.params["b" + str(i)]
            if i < n_layers:
                cache["A" + str(i)] = np.maximum(cache["Z" + str(i)], 0)
        return cache["Z" + str(n_layers)], cache

    def loss(self, X, y):
        y = np.asarray(y).astype(int)
        scores, _ = self._forward(X)
        top = scores.max(axis=1, keepdims=True)
        log_probs = scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
        l2 = sum((W ** 2).sum() for k, W in self.params.items() if k[0] == "W")
        return -log_probs[range(len(y)), y].mean() + self.reg / 2 * l2

    def gradients(self, X, y):
        y = np.asarray(y).astype(int)
        n_layers = len(self.layer_sizes) - 1
        scores, cache = self._forward(X)
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
        onehot = np.eye(scores.shape[1])[y]
        dZ = (probs - onehot) / len(y)
        grads = {}
        for i in reversed(range(1, n_layers + 1)):
            grads["W" + str(i)] = cache["A" + str(i - 1)].T @ dZ + self.reg * self.params["W" + str(i)]
            grads["b" + str(i)] = np.sum(dZ, axis=0)
            if i > 1:
                dA = dZ @ self.params["W" + str(i)].T
                dZ = np.where(cache["Z" + str(i - 1)] > 0, dA, 0.0)
        return grads

    def fit(self, X, y, lr, epochs, batch_size):
        for epoch in range(epochs):
            for start in range(0, len(X), batch_size):
                grads = self.gradients(X[start:start + batch_size], y[start:start + batch_size])
                for k in self.params:
                    self.params[k] = self.params[k] - lr * grads[k]

    def predict(self, X):
        scores, _ = self._forward(X)
        return scores.argmax(axis=1)


class ListMLP(LoopMLP):
    """Weights and biases in lists; params is a property over the same (live) arrays."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes, self.reg, self.L = list(layer_sizes), reg, len(layer_sizes) - 1
        self.rng = rng
        self.weights = [rng.standard_normal((layer_sizes[i], layer_sizes[i + 1]))
                        * np.sqrt(2 / layer_sizes[i]) for i in range(self.L)]
        self.biases = [np.zeros(b) for b in layer_sizes[1:]]

    @property
    def params(self):
        out = {}
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            out[f"W{l}"], out[f"b{l}"] = W, b
        return out


class ComposedMLP(LoopMLP):
    """Builds on the chapter's own functions: softmax, clipped cross_entropy, one_hot backward;
    fit draws each epoch's batches with a fresh permutation and rebinds the arrays."""

    def loss(self, X, y):
        scores, _ = self.forward(X)
        return ce_clip(softmax_logsumexp(scores), y) + self.penalty()

    def gradients(self, X, y):
        scores, caches = self.forward(X)
        dZ = backward_eye(softmax_keepdims(scores), y)
        grads = {}
        for l in reversed(range(1, self.L + 1)):
            A_prev = caches[l - 1][0]
            W = self.params["W" + str(l)]
            grads["W" + str(l)] = np.dot(A_prev.T, dZ) + self.reg * W
            grads["b" + str(l)] = np.sum(dZ, axis=0)
            if l > 1:
                dZ = np.dot(dZ, W.T) * (caches[l - 2][1] > 0)
        return grads

    def step(self, grads, lr):
        self.params = {k: v - lr * grads[k] for k, v in self.params.items()}


@HIDDEN
@pytest.mark.parametrize("cls", [LoopMLP, DictMLP, ListMLP, ComposedMLP])
def test_mlp_accepts_correct_classes(cls, hidden, capsys):
    passes(checks.check_SoftmaxMLP, cls, hidden, capsys, "SoftmaxMLP")
    assert capsys.readouterr().out == ""


@HIDDEN
@pytest.mark.parametrize("where", ["in-process", "verdict-outside"])
def test_mlp_fit_passes_where_the_test_values_kill_a_layers_relus(where, hidden, capsys,
                                                                  monkeypatch):
    """The test values are drawn from the grading secret: where they happen to switch off
    every ReLU of the first layer for the check's rows, b1 gets no gradient and a correct
    fit leaves it as it was. That is not "an update left out" (it failed the solution
    notebook now and then under course grade). The same with the class in a student
    process of its own (the values are drawn, and the verdict made, on the grader's side)."""
    drawn = softmax_mlp_fit._values

    def dead_first_layer(rng, sizes, **options):
        values = drawn(rng, sizes, **options)
        values["b1"][...] = -50.0
        return values
    monkeypatch.setattr(softmax_mlp_fit, "_values", dead_first_layer)
    if where == "verdict-outside":
        from remotetools import parts_failing
        assert parts_failing({"SoftmaxMLP": LoopMLP}, "grading.check_SoftmaxMLP(SoftmaxMLP, "
                             f"hidden={hidden}, part={{part}})", ["training"], 120) == set()
        return
    passes(lambda cls, hidden: checks.check_SoftmaxMLP(cls, hidden=hidden, part="training"),
           LoopMLP, hidden, capsys, "SoftmaxMLP, predict and fit")


def test_mlp_prints_one_line_on_success(capsys):
    checks.check_SoftmaxMLP(LoopMLP)
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and out.startswith("✓ SoftmaxMLP: ")


def test_mlp_must_reach_the_chapters_accuracy_with_the_students_own_class(monkeypatch):
    assert [run[-2] for run in softmax_mlp_fit.CHAPTER_RUNS] == [0.97, 0.95]
    digits = softmax_mlp_fit.CHAPTER_RUNS[1]
    monkeypatch.setattr(softmax_mlp_fit, "CHAPTER_RUNS", [digits[:-2] + (0.999, "test")])
    failure(checks.check_SoftmaxMLP, LoopMLP, True,
            r"^SoftmaxMLP\(\[64, 64, 10\], reg=0\.0001, seed=0\)\.fit\(X=array \(1437, 64\)"
            r".*\) on the digits: the test accuracy is 9\d\.\d%; the chapter's model reaches at "
            r"least 100% this way\.")


def test_mlp_variant_backprop_agrees_with_the_reference():
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 2]
    values = checks._values(rng, sizes)
    X, y = checks._data(rng, 7, sizes)
    right = checks._grad_variants(values, X, y, 0.2)["right"]
    expected = checks._reference(sizes, 0.2, values).gradients(X, y)
    for key in expected:
        np.testing.assert_allclose(right[key], expected[key], rtol=1e-12, atol=1e-15)


def mlp_failure(cls, hidden, match, monkeypatch):
    """Run the check on ``cls``; one clear line matching ``match`` that hides the expected."""
    seen = {}
    compare = checks.compare

    def recording_compare(name, call, got, expected, **kwargs):
        seen["expected"] = expected
        return compare(name, call, got, expected, **kwargs)
    for module in (checks, softmax_mlp_fit, softmax_mlp_model):
        monkeypatch.setattr(module, "compare", recording_compare)
    message = failure(checks.check_SoftmaxMLP, cls, hidden, match)
    if "expected" in seen:
        assert_no_leak(message, seen["expected"])
    return message


# ---- the message contract shared by every class check

def stub_class():
    class SoftmaxMLP:
        def __init__(self, layer_sizes, reg=0.0, seed=0):
            raise NotImplementedError()

        def loss(self, X, y):
            raise NotImplementedError()

        def gradients(self, X, y):
            raise NotImplementedError()

        def fit(self, X, y, lr, epochs, batch_size):
            raise NotImplementedError()

        def predict(self, X):
            raise NotImplementedError()
    return SoftmaxMLP


def only(method, body, base=LoopMLP):
    """``base`` with ``method`` replaced by ``body``."""
    return type(f"{base.__name__}_{method}", (base,), {method: body})


def raise_not_implemented(self, *args):
    raise NotImplementedError()


def forgot_return(self, *args):
    print(len(args), end="")


def type_error(self, *args, **kwargs):
    return len(3.5)


def endless(self, *args, **kwargs):
    total = 0.0
    while True:
        total += 1.0


@HIDDEN
def test_mlp_stub_class_is_not_implemented(hidden):
    failure(checks.check_SoftmaxMLP, stub_class(), hidden,
            r"^SoftmaxMLP is not implemented yet: it still raises NotImplementedError")


def test_mlp_generic_stub_taking_any_arguments_is_not_implemented():
    class SoftmaxMLP:
        def __init__(self, *args):
            raise NotImplementedError()
    failure(checks.check_SoftmaxMLP, SoftmaxMLP, False,
            r"^SoftmaxMLP is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@pytest.mark.parametrize("method", ["loss", "gradients", "predict", "fit"])
def test_mlp_method_stub_is_named(method, hidden):
    failure(checks.check_SoftmaxMLP, only(method, raise_not_implemented), hidden,
            rf"^SoftmaxMLP\.{method} is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@pytest.mark.parametrize("method", ["__init__", "loss", "gradients", "predict", "fit"])
def test_mlp_exception_is_one_line(method, hidden):
    failure(checks.check_SoftmaxMLP, only(method, type_error), hidden,
            r"^SoftmaxMLP\(.*raised TypeError: object of type 'float' has no len\(\)$")


@HIDDEN
@pytest.mark.parametrize("method", ["loss", "gradients", "predict"])
def test_mlp_returning_none_asks_for_return(method, hidden):
    failure(checks.check_SoftmaxMLP, only(method, forgot_return), hidden,
            r"^SoftmaxMLP\(.*returned None\. Did you forget the `return` statement\?$")


def test_mlp_fit_may_return_nothing(capsys):
    def fit(self, X, y, lr, epochs, batch_size):
        LoopMLP.fit(self, X, y, lr, epochs, batch_size)
    passes(checks.check_SoftmaxMLP, only("fit", fit), False, capsys, "SoftmaxMLP")


def test_mlp_bare_class_returning_none_asks_for_return():
    class SoftmaxMLP:      # no params at all: the first method's answer is the problem
        def __init__(self, *args):
            pass
        loss = gradients = predict = fit = forgot_return
    failure(checks.check_SoftmaxMLP, SoftmaxMLP, False,
            r"^SoftmaxMLP\(\[4, 6, 3\], reg=0\.1, seed=0\)\.loss\(X=array \(5, 4\), "
            r"y=array \(5,\)\) returned None\. Did you forget the `return` statement\?$")


@HIDDEN
def test_mlp_reference_class_is_rejected(hidden):
    failure(checks.check_SoftmaxMLP, ref_mlp.SoftmaxMLP, hidden,
            r"^SoftmaxMLP is nnlib's reference implementation, not yours\. ")


@pytest.mark.parametrize("value, kind", [(np.zeros(3), "ndarray"), (LoopMLP([2, 3]), "LoopMLP"),
                                         (lambda sizes: None, "function")])
def test_mlp_value_in_place_of_the_class_is_rejected(value, kind):
    failure(checks.check_SoftmaxMLP, value, False,
            rf"^SoftmaxMLP should be a class, but it is a {kind}\. Did you overwrite it with a "
            r"value\? ")


@pytest.mark.parametrize("method", ["__init__", "loss", "gradients", "predict", "fit"])
def test_mlp_endless_loop_is_stopped(method, monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)
    failure(checks.check_SoftmaxMLP, only(method, endless), False,
            r"^SoftmaxMLP\(.* did not finish within 0\.3 s\. Look for a loop that never ends\.$")


def test_mlp_missing_method_is_named():
    class SoftmaxMLP(LoopMLP):
        predict = None
    failure(checks.check_SoftmaxMLP, SoftmaxMLP, False,
            r"^SoftmaxMLP\(.*\) has no method predict\. Define it inside the class")


# ---- construction and initialisation

def init_scaled(factor):
    def init_weights(self, fan_in, fan_out):
        return self.rng.standard_normal((fan_in, fan_out)) * factor(fan_in, fan_out)
    return only("init_weights", init_weights)


def init_uniform(self, fan_in, fan_out):
    limit = np.sqrt(6 / fan_in)
    return self.rng.uniform(-limit, limit, size=(fan_in, fan_out))


def init_global(self, fan_in, fan_out):
    return np.random.randn(fan_in, fan_out) * np.sqrt(2 / fan_in)


def init_fixed_seed(self, fan_in, fan_out):
    return np.random.default_rng(42).standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)


def init_zero(self, fan_in, fan_out):
    return np.zeros((fan_in, fan_out))


class TransposedMLP(LoopMLP):
    """W stored (fan_out, fan_in), used consistently as A @ W.T."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        for key in list(self.params):
            if key.startswith("W"):
                self.params[key] = np.ascontiguousarray(self.params[key].T)

    def forward(self, X):
        A, caches = X, []
        for l in range(1, self.L + 1):
            Z = A @ self.params[f"W{l}"].T + self.params[f"b{l}"]
            caches.append((A, Z))
            A = np.maximum(0, Z) if l < self.L else Z
        return A, caches


class RandomBiasMLP(LoopMLP):
    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        for key in self.params:
            if key.startswith("b"):
                self.params[key] = self.rng.standard_normal(self.params[key].shape)


class RowBiasMLP(LoopMLP):
    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        for key in self.params:
            if key.startswith("b"):
                self.params[key] = np.zeros((1, self.params[key].shape[0]))


class ZeroBasedMLP(LoopMLP):
    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        self.params = {f"{k[0]}{int(k[1:]) - 1}": v for k, v in self.params.items()}


class OneHiddenLayerMLP(LoopMLP):
    """Follows the screencast literally: exactly one hidden layer, whatever layer_sizes says."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__([layer_sizes[0], layer_sizes[1], layer_sizes[-1]], reg, seed)


class IntBiasMLP(LoopMLP):
    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        for key in self.params:
            if key.startswith("b"):
                self.params[key] = np.zeros(self.params[key].shape, dtype=int)


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (init_scaled(lambda i, o: 1.0), (r"\.params\['W1'\]: the standard deviation of the entries "
                                     r"is .*Likely bug: you scale by the plain standard normal")),
    (init_scaled(lambda i, o: np.sqrt(1 / i)), r"Likely bug: you scale by sqrt\(1 / fan_in\)"),
    (init_scaled(lambda i, o: np.sqrt(2 / o)), r"Likely bug: you use fan_out"),
    (init_scaled(lambda i, o: 2 / i), r"Likely bug: you multiply by 2 / fan_in without"),
    (only("init_weights", init_uniform), r"the entries look uniformly distributed"),
    (only("init_weights", init_global), (r"built twice gave different weights\. Draw them from a "
                                         r"generator made from the seed")),
    (only("init_weights", init_fixed_seed), r"gave the same weights\. Use the seed argument"),
    (only("init_weights", init_zero), r"\.params\['W1'\] has all entries equal"),
    (TransposedMLP, (r"\.params\['W1'\] has shape \(6, 4\), expected shape \(4, 6\)\. It looks "
                     r"transposed")),
    (RandomBiasMLP, r"\.params\['b1'\] is not all zeros\. Start the biases at zero"),
    (RowBiasMLP, (r"\.params\['b1'\] has shape \(1, 6\), expected shape \(6,\)\. Keep the biases "
                  r"1-D")),
    (ZeroBasedMLP, r"\.params has the keys W0, b0, W1, b1; .*Number the layers from 1"),
    (OneHiddenLayerMLP, (r"^SoftmaxMLP\(\[3, 5, 4, 2\], .*\.params has the keys W1, b1, W2, b2; "
                         r".*W3, b3 .*any number of hidden layers")),
    (IntBiasMLP, r"\.params\['b1'\] has dtype int64; the course computes in float64"),
], ids=["std-1", "xavier", "fan-out", "no-sqrt", "uniform", "global-rng", "fixed-seed",
        "zero-weights", "transposed", "random-bias", "row-bias", "zero-based", "one-hidden",
        "int-bias"])
def test_mlp_rejects_wrong_construction(cls, match, hidden, monkeypatch):
    mlp_failure(cls, hidden, match, monkeypatch)


# ---- loss

def loss_from(data_fn=None, penalty_fn=None):
    """LoopMLP whose loss uses another data term or penalty."""
    def loss(self, X, y):
        scores, _ = self.forward(X)
        p = self.probs(scores)
        data = (data_fn or (lambda s, p, y: -np.mean(np.log(p[np.arange(len(y)), y]))))(
            scores, p, y)
        return float(data + (penalty_fn(self) if penalty_fn else self.penalty()))
    return only("loss", loss)


def weights(model):
    return [model.params[f"W{l}"] for l in range(1, model.L + 1)]


def biases(model):
    return [model.params[f"b{l}"] for l in range(1, model.L + 1)]


class NoReluMLP(LoopMLP):
    def forward(self, X):
        A, caches = X, []
        for l in range(1, self.L + 1):
            Z = A @ self.params[f"W{l}"] + self.params[f"b{l}"]
            caches.append((A, Z))
            A = Z
        return A, caches


class ReluEverywhereMLP(LoopMLP):
    def forward(self, X):
        A, caches = X, []
        for l in range(1, self.L + 1):
            Z = A @ self.params[f"W{l}"] + self.params[f"b{l}"]
            caches.append((A, Z))
            A = np.maximum(0, Z)
        return A, caches


class NaiveSoftmaxMLP(LoopMLP):
    def probs(self, scores):
        return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)


class ColumnSoftmaxMLP(LoopMLP):
    def probs(self, scores):
        e = np.exp(scores - scores.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)


class CopiesMLP(LoopMLP):
    """Keeps its own W and b lists; params is a dict of copies made once in __init__."""

    def __init__(self, layer_sizes, reg=0.0, seed=0):
        super().__init__(layer_sizes, reg, seed)
        self.live = self.params
        self.params = {k: v.copy() for k, v in self.live.items()}

    def forward(self, X):
        saved, self.params = self.params, self.live
        try:
            return super().forward(X)
        finally:
            self.params = saved

    def penalty(self):
        return 0.5 * self.reg * sum(np.sum(v ** 2) for k, v in self.live.items() if k[0] == "W")


class CopyingPropertyMLP(ListMLP):
    @property
    def params(self):
        out = {}
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            out[f"W{l}"], out[f"b{l}"] = W.copy(), b.copy()
        return out


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (loss_from(penalty_fn=lambda m: 0.0), (r"\.loss\(X=array \(5, 4\), y=array \(5,\)\) with test "
                                           r"values written into model\.params is wrong: .*"
                                           r"Likely bug: the L2 penalty is missing")),
    (loss_from(penalty_fn=lambda m: 0.5 * m.reg * sum(np.sum(p ** 2) for p in weights(m)
                                                      + biases(m))),
     r"Likely bug: you penalise the biases too"),
    (loss_from(penalty_fn=lambda m: m.reg * sum(np.sum(W ** 2) for W in weights(m))),
     r"Likely bug: the 0\.5 is missing"),
    (loss_from(penalty_fn=lambda m: 0.5 * m.reg * sum(np.linalg.norm(W) for W in weights(m))),
     r"Likely bug: you use the norm of W"),
    (loss_from(data_fn=lambda s, p, y: -np.sum(np.log(p[np.arange(len(y)), y]))),
     r"Likely bug: off by the batch size"),
    (loss_from(data_fn=lambda s, p, y: np.mean(np.log(p[np.arange(len(y)), y]))),
     r"Likely bug: the sign of the cross-entropy is flipped"),
    (NoReluMLP, r"Likely bug: the hidden layers have no ReLU"),
    (ReluEverywhereMLP, r"Likely bug: you apply ReLU to the output scores too"),
    (ColumnSoftmaxMLP, r"Likely bug: your softmax normalises over the wrong axis"),
    (NaiveSoftmaxMLP, (r"with output scores of about ±1000 returned nan, where a finite number "
                       r"is expected\. Likely bug: no max-shift in the softmax")),
    (loss_from(data_fn=lambda s, p, y: -np.sum(np.eye(p.shape[1])[y] * np.log(p)) / len(y)),
     r"with output scores of about ±1000 returned nan, .*Likely bug: log\(0\)"),
    (CopiesMLP, r"Likely bug: your loss ignores the values written into model\.params"),
    (CopyingPropertyMLP, (r"^Writing into SoftmaxMLP\(.*\)\.params\['W1'\] in place did not "
                          r"change the model")),
], ids=["no-reg", "reg-bias", "no-half", "norm", "sum", "sign", "no-relu", "relu-out",
        "columns", "naive-softmax", "log-zero", "copies", "copying-property"])
def test_mlp_rejects_wrong_loss(cls, match, hidden, monkeypatch):
    with np.errstate(all="ignore"):
        mlp_failure(cls, hidden, match, monkeypatch)


def test_mlp_loss_warning_is_reported(monkeypatch):
    def loss(self, X, y):      # right number, but log of an underflowed probability on the way
        scores, _ = self.forward(X)
        logp = np.log(self.probs(scores))
        return float(-np.mean(logp[np.arange(len(y)), y]) + self.penalty())
    mlp_failure(only("loss", loss), False, r"with output scores of about ±1000 gives the right "
                                           r"number but warns 'divide by zero", monkeypatch)


def test_mlp_loss_must_be_one_number(monkeypatch):
    def loss(self, X, y):
        scores, _ = self.forward(X)
        p = self.probs(scores)
        return -np.log(p[np.arange(len(y)), y])
    mlp_failure(only("loss", loss), False, r"\.loss\(.* returned an array of shape \(5,\); it "
                                           r"should return a single number", monkeypatch)


# ---- gradients

def backprop_with(gate=None, mean=True, reg_w=1.0, reg_b=0.0, db=None, dw=None, sign=1.0):
    """LoopMLP whose gradients contain one of the classic backprop mistakes."""
    def gradients(self, X, y):
        scores, caches = self.forward(X)
        m = X.shape[0]
        dZ = self.probs(scores)
        dZ[np.arange(m), y] -= 1
        if mean:
            dZ /= m
        grads = {}
        for l in range(self.L, 0, -1):
            A_prev, _ = caches[l - 1]
            W, b = self.params[f"W{l}"], self.params[f"b{l}"]
            grads[f"W{l}"] = sign * (A_prev.T @ dZ + reg_w * self.reg * W)
            grads[f"b{l}"] = sign * (dZ.sum(axis=0) + reg_b * self.reg * b)
            if dw:
                grads[f"W{l}"] = dw(grads[f"W{l}"])
            if db:
                grads[f"b{l}"] = db(dZ)
            if l > 1:
                dA = dZ @ W.T
                dZ = (gate or (lambda dA, Z, A: dA * (Z > 0)))(dA, caches[l - 2][1], A_prev)
        return grads
    return only("gradients", gradients)


def gradients_step_in_place(self, X, y):
    grads = LoopMLP.gradients(self, X, y)
    for key in grads:               # "reuses" the parameter arrays as gradient buffers
        self.params[key] *= 1.0
        self.params[key] += 0.0 * grads[key] + 1e-3
    return grads


def gradients_tuple(self, X, y):
    grads = LoopMLP.gradients(self, X, y)
    return tuple(grads.values())


def gradients_d_keys(self, X, y):
    return {"d" + k: v for k, v in LoopMLP.gradients(self, X, y).items()}


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (backprop_with(mean=False), (r"\.gradients\(X=array \(5, 4\), y=array \(5,\)\) with test "
                                 r"values written into model\.params\['W2'\] is wrong at .*"
                                 r"Likely bug: off by the batch size")),
    (backprop_with(reg_w=0.0), (r"\['W2'\] is wrong at .*Likely bug: the reg \* W term of the L2 "
                                r"penalty is missing")),
    (backprop_with(reg_b=1.0), (r"\['b2'\] is wrong at .*Likely bug: you add reg \* b to the "
                                r"bias gradient")),
    (backprop_with(reg_w=0.5), r"Likely bug: the penalty's term is reg \* W .*not 0\.5 \* reg"),
    (backprop_with(gate=lambda dA, Z, A: dA), (r"\['W1'\] is wrong at .*Likely bug: the ReLU gate "
                                               r"is missing")),
    (backprop_with(gate=lambda dA, Z, A: dA * A), (r"Likely bug: the ReLU gate multiplies by the "
                                                   r"activations A")),
    (backprop_with(gate=lambda dA, Z, A: np.maximum(dA, 0)),
     r"Likely bug: the ReLU gate looks at the sign of the gradient"),
    (backprop_with(sign=-1.0), r"\['W2'\] is wrong at .*Likely bug: the sign is flipped"),
    (backprop_with(db=lambda d: d.sum(axis=1)), (r"\['b2'\] has shape \(5,\), expected shape "
                                                 r"\(3,\)\. Likely bug: you sum over axis 1")),
    (backprop_with(db=lambda d: d.sum(axis=0, keepdims=True)),
     r"\['b2'\] has shape \(1, 3\), expected shape \(3,\)\. Drop the extra axis"),
    (backprop_with(dw=lambda dW: dW.T), (r"\['W2'\] has shape \(3, 6\), expected shape "
                                         r"\(6, 3\)\. It looks transposed")),
    (only("gradients", gradients_step_in_place), (r"\.gradients\(.* changed "
                                                  r"model\.params\['W1'\]\. Compute the gradients "
                                                  r"without updating")),
    (only("gradients", gradients_tuple), (r"\.gradients\(.* returned a tuple; it should return "
                                          r"a dict")),
    (only("gradients", gradients_d_keys), (r"\.gradients\(.* has the keys dW2, db2, dW1, db1; "
                                           r".*Name them after the parameters")),
], ids=["no-mean", "no-reg", "reg-bias", "half-reg", "no-gate", "gate-values", "gate-grad",
        "sign", "db-axis1", "db-keepdims", "dw-transposed", "modifies-params", "tuple",
        "d-keys"])
def test_mlp_rejects_wrong_gradients(cls, match, hidden, monkeypatch):
    mlp_failure(cls, hidden, match, monkeypatch)


def test_mlp_finite_differences_of_the_own_loss_catch_what_the_reference_misses(monkeypatch):
    monkeypatch.setattr(checks, "_check_grads", lambda *args: None)
    failure(checks.check_SoftmaxMLP, backprop_with(mean=False), False,
            r"\['W2'\] compared with central finite differences of your own loss is wrong at "
            r".*Likely bug: off by the batch size")


# ---- predict

def predict_probs(self, X):
    scores, _ = self.forward(X)
    return self.probs(scores)


def predict_scores(self, X):
    return self.forward(X)[0]


def predict_axis0(self, X):
    return np.argmax(self.forward(X)[0], axis=0)


def predict_float(self, X):
    return np.argmax(self.forward(X)[0], axis=1).astype(float)


def predict_keepdims(self, X):
    return np.argmax(self.forward(X)[0], axis=1, keepdims=True)


def predict_column_probs(self, X):
    return np.argmax(ColumnSoftmaxMLP.probs(self, self.forward(X)[0]), axis=1)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (predict_probs, (r"\.predict\(X=array \(8, 4\)\) with test values written into model\.params "
                     r"returned shape \(8, 3\), expected shape \(8,\)\. Likely bug: you return the "
                     r"probabilities")),
    (predict_scores, r"returned shape \(8, 3\), .*Likely bug: you return the scores"),
    (predict_axis0, (r"returned shape \(3,\), expected shape \(8,\)\. Likely bug: argmax over "
                     r"axis 0")),
    (predict_float, r"returned an array of dtype float64; return integer class labels"),
    (predict_keepdims, r"returned shape \(8, 1\), .*Drop the extra axis"),
    (predict_column_probs, (r"\.predict\(.* is wrong at index \[\d+\]: .*Likely bug: you take "
                            r"the argmax of probabilities normalised over the wrong axis")),
], ids=["probs", "scores", "axis0", "float", "keepdims", "column-probs"])
def test_mlp_rejects_wrong_predict(fn, match, hidden, monkeypatch):
    mlp_failure(only("predict", fn), hidden, match, monkeypatch)


# ---- fit

def step_ascent(self, grads, lr):
    for key in self.params:
        self.params[key] += lr * grads[key]


def step_no_lr(self, grads, lr):
    for key in self.params:
        self.params[key] -= grads[key]


def step_lost(self, grads, lr):
    for key in self.params:
        W = self.params[key]
        W = W - lr * grads[key]


def step_weights_only(self, grads, lr):
    for key in self.params:
        if key.startswith("W"):
            self.params[key] -= lr * grads[key]


def fit_once(self, X, y, lr, epochs, batch_size):
    self.step(self.gradients(X, y), lr)


def fit_full_batch(self, X, y, lr, epochs, batch_size):
    for _ in range(epochs):
        self.step(self.gradients(X, y), lr)


def fit_per_row(self, X, y, lr, epochs, batch_size):
    for _ in range(epochs):
        for i in range(X.shape[0]):
            self.step(self.gradients(X[i:i + 1], y[i:i + 1]), lr)


def fit_shuffles_in_place(self, X, y, lr, epochs, batch_size):
    for _ in range(epochs):
        order = self.rng.permutation(X.shape[0])
        X[...], y[...] = X[order], y[order]
        for start in range(0, X.shape[0], batch_size):
            self.step(self.gradients(X[start:start + batch_size], y[start:start + batch_size]), lr)


class RebindingListMLP(ListMLP):
    """Rebinds entries of the dict that the params property builds afresh: updates are lost."""

    def step(self, grads, lr):
        params = self.params
        for key in params:
            params[key] = params[key] - lr * grads[key]


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (only("step", step_ascent), (r"\.fit\(X=array \(6, 4\), y=array \(6,\), lr=0\.05, epochs=1, "
                                 r"batch_size=6\) with test values written into model\.params: "
                                 r"model\.params\['W1'\] afterwards is wrong .*Likely bug: "
                                 r"gradient ascent")),
    (only("step", step_no_lr), r"Likely bug: lr is ignored"),
    (only("step", step_lost), (r"\.fit\(.* did not change model\.params\. Likely bug: the update "
                               r"is lost")),
    (RebindingListMLP, (r"\.fit\(.* did not change model\.params\. Likely bug: the update is "
                        r"lost")),
    (only("step", step_weights_only), (r"\.fit\(.* changed some parameters but not "
                                       r"model\.params\['b1'\]")),
    (only("fit", fit_once), r"epochs=2, .*Likely bug: only one step was taken"),
    (only("fit", fit_full_batch), (r"12 rows in batches of 3 make 4 steps per epoch, .* but your "
                                   r"parameters moved like 1 step\. Likely bug: batch_size is "
                                   r"ignored")),
    (only("fit", fit_per_row), (r"batch_size=6\) .*afterwards is wrong at .* With batch_size >= the "
                                r"number of rows, each epoch is exactly one step")),
    (only("fit", fit_shuffles_in_place), r"\.fit\(.* changed its argument number 1 in place"),
], ids=["ascent", "no-lr", "lost", "rebinding-property", "weights-only", "once", "full-batch",
        "per-row", "shuffles-X"])
def test_mlp_rejects_wrong_fit(cls, match, hidden, monkeypatch):
    mlp_failure(cls, hidden, match, monkeypatch)


def test_mlp_one_step_per_row_is_named(monkeypatch):
    monkeypatch.setattr(checks, "_mlp_fit_full_batch", lambda cls, rng, hidden, **options: 0)
    failure(checks.check_SoftmaxMLP, only("fit", fit_per_row), False,
            r"moved like 12 steps\. Likely bug: one step per row")


def test_mlp_training_that_goes_uphill_is_named(monkeypatch):
    monkeypatch.setattr(checks, "_mlp_fit_full_batch", lambda cls, rng, hidden, **options: 0)
    monkeypatch.setattr(checks, "_mlp_fit_batches", lambda cls, rng, **options: 0)
    with np.errstate(all="ignore"):
        failure(checks.check_SoftmaxMLP, only("step", step_ascent), False,
                r"\.fit\(.*\) on well-separated blobs: your loss rose, from .* Likely bug: "
                r"gradient ascent")


def test_mlp_predict_that_ignores_training_is_named(monkeypatch):
    class SoftmaxMLP(LoopMLP):
        def __init__(self, layer_sizes, reg=0.0, seed=0):
            super().__init__(layer_sizes, reg, seed)
            self.initial = {k: v.copy() for k, v in self.params.items()}

        def predict(self, X):
            if self.params["W1"].shape[0] == 2 and X.shape[0] == 60:   # the training set
                trained, self.params = self.params, self.initial
                try:
                    return LoopMLP.predict(self, X) * 0
                finally:
                    self.params = trained
            return LoopMLP.predict(self, X)
    failure(checks.check_SoftmaxMLP, SoftmaxMLP, False,
            r"on well-separated blobs: afterwards only \d+% of the training rows are predicted "
            r"right")


# ---- graded in steps: a slip costs its own step only

def fit_ascent(self, X, y, lr, epochs, batch_size):
    for _ in range(epochs):
        for start in range(0, len(y), batch_size):
            grads = self.gradients(X[start:start + batch_size], y[start:start + batch_size])
            for key in self.params:
                self.params[key] += lr * grads[key]


STEP_BUGS = [
    (loss_from(penalty_fn=lambda m: 0.0), {"model"}),                     # no L2 term
    (loss_from(data_fn=lambda s, p, y: -np.sum(np.log(p[np.arange(len(y)), y]))), {"model"}),
    (backprop_with(mean=False), {"gradients"}),                           # summed, not averaged
    (backprop_with(reg_w=0.0), {"gradients"}),                            # no reg * W
    (backprop_with(gate=lambda dA, Z, A: dA), {"gradients"}),             # no ReLU gate
    (only("fit", fit_ascent), {"training"}),
    (only("predict", lambda self, X: np.argmin(self.forward(X)[0], axis=1)), {"training"}),
]


@HIDDEN
@pytest.mark.parametrize("where", ["in-process", "verdict-outside"])
@pytest.mark.parametrize("cls, broken", STEP_BUGS, ids=["no-penalty", "summed-loss",
                                                        "summed-gradient", "no-reg-gradient",
                                                        "no-gate", "ascent", "argmin"])
def test_mlp_is_graded_in_steps_and_a_slip_costs_only_its_own(cls, broken, where, hidden,
                                                               capsys):
    """A wrong loss does not cost the gradients (compared with nnlib's, not with differences
    of that loss) or the training (measured by nnlib's loss); wrong gradients do not cost the
    training (fit is followed along the student's own gradients). The same with the class in
    a student process of its own, as course grade runs it."""
    failed = set()
    if where == "verdict-outside":
        from remotetools import parts_failing
        assert parts_failing({"SoftmaxMLP": cls}, "grading.check_SoftmaxMLP(SoftmaxMLP, "
                             f"hidden={hidden}, part={{part}})", checks.PARTS, 120) == broken
        return
    for part in checks.PARTS:
        try:
            checks.check_SoftmaxMLP(cls, hidden=hidden, part=part)
        except GradingError:
            failed.add(part)
    assert failed == broken
    assert capsys.readouterr().out.count("✓ SoftmaxMLP, ") == len(checks.PARTS) - len(broken)


def test_mlp_steps_are_the_test_cells_of_the_curriculum():
    from coursetools.curriculum import PARTS as TEST_CELL_PARTS
    assert list(checks.PARTS)[1:] == TEST_CELL_PARTS["SoftmaxMLP"]
    with pytest.raises(ValueError, match="part must be one of model, gradients, training"):
        checks.check_SoftmaxMLP(LoopMLP, part="all")
