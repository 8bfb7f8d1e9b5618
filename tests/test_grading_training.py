"""Tests for nnlib.grading.training: the chapter 7 checks (07_train_loop).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, assert_no_leak, failure, passes, recording, wrong

import nnlib
from nnlib import training as ref
from nnlib import grading as checks
from nnlib.grading import fitting


def _sig(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------- iterate_minibatches

def minibatches_generator(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = idx[start:start + batch_size]
        yield X[rows], y[rows]


def minibatches_list(X, y, batch_size, rng):
    idx = np.arange(X.shape[0])
    rng.shuffle(idx)
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(idx), batch_size)]


def minibatches_shuffled_copies(X, y, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    Xs, ys = X[order], y[order]
    n_batches = int(np.ceil(len(X) / batch_size))
    return [(Xs[i * batch_size:(i + 1) * batch_size], ys[i * batch_size:(i + 1) * batch_size])
            for i in range(n_batches)]


@HIDDEN
@pytest.mark.parametrize("fn", [minibatches_generator, minibatches_list,
                                minibatches_shuffled_copies])
def test_minibatches_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_iterate_minibatches, fn, hidden, capsys, "iterate_minibatches")


def minibatches_unshuffled(X, y, batch_size, rng):
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def minibatches_drops_last(X, y, batch_size, rng):
    idx = rng.permutation(len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X) - batch_size + 1, batch_size)]


def minibatches_replacement(X, y, batch_size, rng):
    idx = rng.integers(0, len(X), size=len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


def minibatches_unpaired(X, y, batch_size, rng):
    ix, iy = rng.permutation(len(X)), rng.permutation(len(X))
    return [(X[ix[i:i + batch_size]], y[iy[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


def minibatches_global_random(X, y, batch_size, rng):
    idx = np.random.permutation(len(X))
    return [(X[idx[i:i + batch_size]], y[idx[i:i + batch_size]])
            for i in range(0, len(X), batch_size)]


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (minibatches_unshuffled, "rows are not shuffled"),
    (minibatches_drops_last, "last, smaller batch is dropped"),
    (minibatches_replacement, "sampling with replacement"),
    (minibatches_unpaired, "X and y are shuffled separately"),
    (minibatches_global_random, "np.random instead of the rng argument"),
])
def test_minibatches_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_iterate_minibatches, fn, hidden, match)


# ---------------------------------------------------------------- predict

def _forward(X, params):
    A = X
    layers = len([k for k in params if k.startswith("W")])
    for layer in range(1, layers + 1):
        Z = A @ params[f"W{layer}"] + params[f"b{layer}"]
        A = np.maximum(Z, 0) if layer < layers else _sig(Z)
    return A, Z


def predict_astype(X, params):
    return (_forward(X, params)[0] >= 0.5).astype(int).ravel()


def predict_where(X, params):
    return np.where(_forward(X, params)[0][:, 0] >= 0.5, 1.0, 0.0)


def predict_logit(X, params):
    return (_forward(X, params)[1] >= 0).reshape(-1)


def predict_strict(X, params):
    return (_forward(X, params)[0] > 0.5).astype(int).ravel()


def predict_round(X, params):                      # np.round takes 0.5 to 0, as the article's
    return np.round(_forward(X, params)[0]).ravel()


@HIDDEN
@pytest.mark.parametrize("fn", [predict_astype, predict_where, predict_logit, predict_strict,
                                predict_round])
def test_predict_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_predict, fn, hidden, capsys, "predict")


def predict_flipped(X, params):
    return (_forward(X, params)[0] < 0.5).astype(int).ravel()


def predict_probabilities(X, params):
    return _forward(X, params)[0].ravel()


def predict_column(X, params):
    return (_forward(X, params)[0] >= 0.5).astype(int)


def predict_thresholds_z(X, params):
    return (_forward(X, params)[1] >= 0.5).astype(int).ravel()


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (predict_flipped, "threshold is on the wrong side"),
    (predict_probabilities, "you return the probabilities"),
    (predict_column, r"returned shape \(\d+, 1\), expected shape \(\d+,\)\. You kept an extra axis"),
    (predict_thresholds_z, "threshold the pre-activation Z"),
])
def test_predict_diagnoses_mistakes(fn, match, hidden):
    wrong(checks.check_predict, fn, ref.predict, hidden, match)


# ---------------------------------------------------------------- accuracy

def accuracy_mean(y_true, y_pred):
    return float(np.mean(np.ravel(y_true) == np.ravel(y_pred)))


def accuracy_count(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    return np.sum(y_true == y_pred) / len(y_true)


def accuracy_loop(y_true, y_pred):
    a, b = list(np.ravel(y_true)), list(np.ravel(y_pred))
    return sum(1 for p, q in zip(a, b) if p == q) / len(a)


@HIDDEN
@pytest.mark.parametrize("fn", [accuracy_mean, accuracy_count, accuracy_loop])
def test_accuracy_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_accuracy, fn, hidden, capsys, "accuracy")


def accuracy_error_rate(y_true, y_pred):
    return float(np.mean(np.ravel(y_true) != np.ravel(y_pred)))


def accuracy_counts(y_true, y_pred):
    return int(np.sum(np.ravel(y_true) == np.ravel(y_pred)))


def accuracy_broadcasts(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (accuracy_error_rate, "fraction of WRONG predictions"),
    (accuracy_counts, "number of correct predictions"),
    (accuracy_broadcasts, r"\(n, n\) grid"),
])
def test_accuracy_diagnoses_mistakes(fn, match, hidden):
    wrong(checks.check_accuracy, fn, ref.accuracy, hidden, match)


# ---------------------------------------------------------------- train_sgd

def train_sgd_like_the_video(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(X_train.shape[1])
    b = rng.standard_normal()
    train_losses, test_losses = [], []
    for _ in range(iterations):
        i = rng.integers(len(X_train))
        x, y = X_train[i], y_train[i]
        pred = _sig(x @ w + b)
        train_losses.append(float((pred - y) ** 2))
        dL_dz = 2 * (pred - y) * pred * (1 - pred)
        w = w - lr * dL_dz * x
        b = b - lr * dL_dz
        test_losses.append(float(np.sum((_sig(X_test @ w + b) - y_test) ** 2)))
    return {"w": w, "b": b}, train_losses, test_losses


class NeuronModel:
    """The lecture's model class: weights, bias, forward, backward and an optimizer step."""

    def __init__(self, n_features, lr, rng):
        self.w = rng.normal(0.0, 1.0, size=n_features)
        self.b = np.array(rng.normal())
        self.lr = lr

    def forward(self, x):
        return 1.0 / (1.0 + np.exp(-(np.dot(x, self.w) + self.b)))

    def backward(self, x, y):
        p = self.forward(x)
        dL_dp = 2.0 * (p - y)
        dp_dz = p * (1.0 - p)
        return dL_dp * dp_dz * x, dL_dp * dp_dz

    def step(self, dw, db):
        self.w -= self.lr * dw
        self.b -= self.lr * db


def train_sgd_class_shuffled(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    rng = np.random.default_rng(seed)
    model = NeuronModel(X_train.shape[1], lr, rng)
    order = []
    train_losses = np.zeros(iterations)
    test_losses = np.zeros(iterations)
    for t in range(iterations):
        if not order:
            order = list(rng.permutation(len(X_train)))
        i = order.pop()
        train_losses[t] = (model.forward(X_train[i]) - y_train[i]) ** 2
        model.step(*model.backward(X_train[i], y_train[i]))
        test_losses[t] = ((model.forward(X_test) - y_test) ** 2).sum()
    return {"w": model.w, "b": model.b}, train_losses, test_losses


def train_sgd_legacy_seed(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    state = np.random.RandomState(seed)
    params = {"w": np.zeros(X_train.shape[1]), "b": np.zeros(1)}
    hist_train, hist_test = [], []
    n = X_train.shape[0]
    for _ in range(iterations):
        idx = state.randint(0, n)
        z = X_train[idx].dot(params["w"]) + params["b"]
        p = _sig(z)
        hist_train.append((p - y_train[idx]) ** 2)       # a (1,) array, like b
        grad_z = 2 * (p - y_train[idx]) * p * (1 - p)
        params["w"] -= lr * grad_z * X_train[idx]
        params["b"] -= lr * grad_z
        hist_test.append(np.sum(np.square(_sig(X_test @ params["w"] + params["b"]) - y_test)))
    return params, hist_train, hist_test


@HIDDEN
@pytest.mark.parametrize("fn", [train_sgd_like_the_video, train_sgd_class_shuffled,
                                train_sgd_legacy_seed])
def test_train_sgd_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_train_sgd, fn, hidden, capsys, "train_sgd")


def _sgd_with(two=2.0, derivative=True, sign=-1.0, fixed_lr=None, test_loss="sum",
              test_before=False, train_loss="row", train_after=False, rows="random",
              rng_kind="seeded"):
    """train_sgd_like_the_video with one mistake switched on."""
    def train_sgd(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
        rng = {"seeded": np.random.default_rng(seed), "fixed": np.random.default_rng(0),
               "unseeded": np.random.default_rng()}[rng_kind]
        rate = lr if fixed_lr is None else fixed_lr
        w = rng.standard_normal(X_train.shape[1])
        b = rng.standard_normal()
        train_losses, test_losses = [], []
        for t in range(iterations):
            if rows == "random":
                i = rng.integers(len(X_train))
            else:
                i = 0 if rows == "first" else t % len(X_train)
            x, y = X_train[i], y_train[i]
            pred = _sig(x @ w + b)
            if test_before:
                test_losses.append(np.sum((_sig(X_test @ w + b) - y_test) ** 2))
            if not train_after:
                train_losses.append((pred - y) ** 2 if train_loss == "row"
                                    else np.mean((_sig(X_train @ w + b) - y_train) ** 2))
            dL_dz = two * (pred - y) * (pred * (1 - pred) if derivative else 1.0)
            w = w + sign * rate * dL_dz * x
            b = b + sign * rate * dL_dz
            if train_after:
                train_losses.append((_sig(x @ w + b) - y) ** 2)
            if not test_before:
                if test_loss == "sum":
                    test_losses.append(np.sum((_sig(X_test @ w + b) - y_test) ** 2))
                elif test_loss == "mean":
                    test_losses.append(np.mean((_sig(X_test @ w + b) - y_test) ** 2))
                else:
                    test_losses.append(np.sum((_sig(X_train @ w + b) - y_train) ** 2))
        return {"w": w, "b": b}, train_losses, test_losses
    return train_sgd


def train_sgd_column_w(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    params, train_losses, test_losses = train_sgd_like_the_video(
        X_train, y_train, X_test, y_test, lr, iterations, seed)
    return {"w": params["w"].reshape(-1, 1), "b": params["b"]}, train_losses, test_losses


def train_sgd_extra_loss(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    params, train_losses, test_losses = train_sgd_like_the_video(
        X_train, y_train, X_test, y_test, lr, iterations, seed)
    return params, train_losses, [np.sum((_sig(X_test @ params["w"]) - y_test) ** 2)] + test_losses


def train_sgd_two_values(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    params, _, test_losses = train_sgd_like_the_video(
        X_train, y_train, X_test, y_test, lr, iterations, seed)
    return params, test_losses


def train_sgd_in_place(X_train, y_train, X_test, y_test, lr=0.1, iterations=1000, seed=0):
    X_train -= X_train.mean(axis=0)
    return train_sgd_like_the_video(X_train, y_train, X_test, y_test, lr, iterations, seed)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (_sgd_with(test_loss="mean"), r"test_losses\[-1\] is wrong.*MEAN squared error over the "
                                  r"test set"),
    (_sgd_with(test_before=True), r"test_losses \(a one-row training set, from your lr=0 "
                                  r"parameters\) is wrong.*recorded before the update"),
    (_sgd_with(test_loss="train"), r"test_losses\[-1\] is wrong.*loss on the training set"),
    (_sgd_with(rng_kind="unseeded"), r"different results when called twice with the same "
                                     r"seed\. Likely bug: .*np\.random"),
    (_sgd_with(rng_kind="fixed"), r"same result for seed 3 and seed 4\. Likely bug: the seed "
                                  r"argument is ignored"),
    (_sgd_with(two=1.0), r"\[0\]\['w'\] \(a one-row training set, from your lr=0 parameters\) "
                         r"is wrong.*the factor 2 .*is missing"),
    (_sgd_with(derivative=False), r"\['w'\].*is wrong.*sigmoid derivative pred \* \(1 - pred\) "
                                  r"is missing"),
    (_sgd_with(sign=1.0), r"\['w'\].*is wrong.*uphill \(gradient ascent\)"),
    (_sgd_with(fixed_lr=0.1), r"lr=0, iterations=60, seed=3\): with lr=0 the parameters must "
                              r"not change.*lr argument is ignored"),
    (_sgd_with(train_loss="mean"), r"train_losses\[0\] is [\d.e-]+, which is not the squared "
                                   r"error of any training row.*mean squared error over the "
                                   r"whole training set"),
    (_sgd_with(train_after=True), r"train_losses \(a one-row training set.*training loss after "
                                  r"the update"),
    (_sgd_with(rows="first"), r"same row's error in all 60 iterations"),
    (_sgd_with(rows="in order"), r"rows are visited in order"),
    (train_sgd_column_w, r"\[0\]\['w'\] has shape \(3, 1\), expected \(3,\)\. Keep the weights "
                         r"1-D"),
    (train_sgd_extra_loss, r"\[2\] \(test_losses\) has 301 entries, expected 300 \(one per "
                           r"iteration\)\. You record one loss too many"),
    (train_sgd_two_values, r"returned a tuple of 2; it should return 3 values: return params, "
                           r"train_losses, test_losses"),
    (train_sgd_in_place, r"changed its argument number 1 in place"),
], ids=["test-mean", "test-before-update", "test-on-train", "unseeded", "seed-ignored",
        "no-factor-2", "no-sigmoid-derivative", "ascent", "lr-ignored", "train-mean",
        "train-after-update", "same-row", "rows-in-order", "w-column", "extra-loss",
        "two-values", "in-place"])
def test_train_sgd_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_train_sgd, fn, hidden, match)


def test_train_sgd_one_row_message_shows_no_expected_parameters():
    spy = recording(_sgd_with(two=1.0))
    message = failure(checks.check_train_sgd, spy, False, "factor 2")
    X, y, X_test, y_test, lr, iterations, seed = spy.calls[-1]
    right, _, _ = train_sgd_like_the_video(X, y, X_test, y_test, lr, iterations, seed)
    assert_no_leak(message, np.append(right["w"], right["b"]))


# ---------------------------------------------------------------- fit

def fit_with_nnlib_parts(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    params = nnlib.init_params(layer_sizes, seed)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
            yhat, cache = nnlib.forward(X_batch, params)
            total += nnlib.binary_cross_entropy(y_batch, yhat) * len(X_batch)
            grads = nnlib.backward(X_batch, y_batch, params, cache)
            for key in params:
                params[key] = params[key] - lr * grads["d" + key]
        losses.append(total / len(X))
    return params, losses


def _own_forward(X, params):
    layers = len(params) // 2
    activations, A = [X], X
    for layer in range(1, layers + 1):
        Z = A @ params[f"W{layer}"] + params[f"b{layer}"]
        A = _sig(Z) if layer == layers else np.maximum(Z, 0)
        activations.append(A)
    return activations


def _own_backward(activations, Y, params):
    layers = len(params) // 2
    grads = {}
    dZ = (activations[-1] - Y) / len(Y)
    for layer in range(layers, 0, -1):
        grads[f"W{layer}"] = activations[layer - 1].T @ dZ
        grads[f"b{layer}"] = dZ.sum(axis=0)
        if layer > 1:
            dZ = (dZ @ params[f"W{layer}"].T) * (activations[layer - 1] > 0)
    return grads


def fit_own_math(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    Y = np.asarray(y, dtype=float).reshape(-1, 1)
    params = nnlib.init_params(layer_sizes, seed=seed)
    rng = np.random.default_rng(seed + 1)
    losses = []
    for epoch in range(epochs):
        perm = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            rows = perm[start:start + batch_size]
            grads = _own_backward(_own_forward(X[rows], params), Y[rows], params)
            params = {k: v - lr * grads[k] for k, v in params.items()}
        p = np.clip(_own_forward(X, params)[-1], 1e-12, 1 - 1e-12)
        losses.append(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)))   # after the epoch
    return params, np.array(losses)


def fit_legacy_shuffle(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    params = nnlib.init_params(layer_sizes, seed)
    shuffler = np.random.RandomState(seed)
    y = y.reshape(len(y), -1)
    losses = []
    for epoch in range(epochs):
        idx = np.arange(len(X))
        shuffler.shuffle(idx)
        batch_losses = []
        for k in range(int(np.ceil(len(X) / batch_size))):
            rows = idx[k * batch_size:(k + 1) * batch_size]
            acts = _own_forward(X[rows], params)
            p = np.clip(acts[-1], 1e-12, 1 - 1e-12)
            batch_losses.append(-np.mean(y[rows] * np.log(p) + (1 - y[rows]) * np.log(1 - p)))
            grads = _own_backward(acts, y[rows], params)
            for key in params:
                params[key] -= lr * grads[key]
        losses.append(np.mean(batch_losses))      # equal batches here: the mean of means
    return params, losses


def fit_with_progress_bar(X, y, layer_sizes, lr, epochs, batch_size, seed=0, progress=True):
    from tqdm import tqdm
    params = nnlib.init_params(layer_sizes, seed)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in tqdm(range(epochs), disable=not progress):
        total = 0.0
        for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
            yhat, cache = nnlib.forward(X_batch, params)
            total += nnlib.binary_cross_entropy(y_batch, yhat) * len(X_batch)
            nnlib.sgd_step(params, nnlib.backward(X_batch, y_batch, params, cache), lr)
        losses.append(total / len(X))
    return params, losses


@HIDDEN
@pytest.mark.parametrize("fn", [fit_with_nnlib_parts, fit_own_math, fit_legacy_shuffle,
                                fit_with_progress_bar])
def test_fit_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_fit, fn, hidden, capsys, "fit")


def test_fit_check_keeps_a_progress_bar_quiet(capsys):
    checks.check_fit(fit_with_progress_bar)
    assert capsys.readouterr().err == ""


def test_fit_must_reach_the_chapters_accuracy_on_breast_cancer():
    def fit_that_barely_trains(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
        return fit_with_nnlib_parts(X, y, layer_sizes, lr * 1e-4, epochs, batch_size, seed)
    with pytest.raises(AssertionError, match=r"classifies [\d.]+% of the test rows correctly; "
                                             r"it should reach at least 95%"):
        fitting._check_breast_cancer(fit_that_barely_trains)
    fitting._check_breast_cancer(fit_with_nnlib_parts)


def _fit_with(init="nnlib", fixed_lr=None, sign=-1.0, summed=False, extra_epoch=False,
              before=False, full_batch=False, one_batch=False, loss="mean", shuffle="seeded",
              column=True):
    """fit_with_nnlib_parts' loop, written out, with one mistake switched on."""
    def fit(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
        if init == "nnlib":
            params = nnlib.init_params(layer_sizes, seed)
        elif init == "seed 0":
            params = nnlib.init_params(layer_sizes, 0)
        else:
            rng = np.random.default_rng(seed)
            params = {}
            for layer in range(1, len(layer_sizes)):
                params[f"W{layer}"] = rng.standard_normal(
                    (layer_sizes[layer - 1], layer_sizes[layer])) * 0.01
                params[f"b{layer}"] = np.zeros(layer_sizes[layer])
        trained = {k: v.copy() for k, v in params.items()}
        Y = y.reshape(-1, 1) if column else y
        rng = np.random.default_rng(seed) if shuffle == "seeded" else np.random.default_rng()
        rate = lr if fixed_lr is None else fixed_lr
        size = len(X) if full_batch else batch_size
        losses = []
        for _ in range(epochs + (1 if extra_epoch else 0)):
            order = rng.permutation(len(X))
            total = 0.0
            for start in range(0, len(X), size):
                rows = order[start:start + size]
                acts = _own_forward(X[rows], trained)
                p = np.clip(acts[-1], 1e-12, 1 - 1e-12)
                bce = -np.mean(Y[rows] * np.log(p) + (1 - Y[rows]) * np.log(1 - p))
                total += bce if loss == "sum of means" else bce * len(rows)
                grads = _own_backward(acts, Y[rows], trained)
                if summed:      # a backward that forgot to divide by the batch size
                    grads = {k: g * len(rows) for k, g in grads.items()}
                trained = {k: v + sign * rate * grads[k] for k, v in trained.items()}
                if one_batch:
                    break
            losses.append(total if loss == "sum of means" else total / len(X))
        return (params if before else trained), losses[:epochs]
    return fit


def fit_broadcast_bug(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    params = nnlib.init_params(layer_sizes, seed)
    losses = []
    for _ in range(epochs):
        acts = _own_forward(X, params)
        dZ = (acts[-1] - y) / len(y)            # (n, 1) - (n,) -> (n, n)
        grads = {}
        for layer in range(len(layer_sizes) - 1, 0, -1):
            grads[f"W{layer}"] = acts[layer - 1].T @ dZ
            grads[f"b{layer}"] = dZ.sum(axis=0)
            if layer > 1:
                dZ = (dZ @ params[f"W{layer}"].T) * (acts[layer - 1] > 0)
        for key in params:
            params[key] -= lr * grads[key]
        losses.append(0.5)
    return params, losses


def fit_loss_per_batch(X, y, layer_sizes, lr, epochs, batch_size, seed=0):
    params = nnlib.init_params(layer_sizes, seed)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
            yhat, cache = nnlib.forward(X_batch, params)
            losses.append(nnlib.binary_cross_entropy(y_batch, yhat))
            grads = nnlib.backward(X_batch, y_batch, params, cache)
            params = nnlib.sgd_step(params, grads, lr)
    return params, losses


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (_fit_with(init="own"), r"with lr=0 the parameters must stay at their starting values.*"
                            r"initialised another way"),
    (_fit_with(init="seed 0"), r"starts from init_params\(layer_sizes, 0\) whatever the seed"),
    (_fit_with(fixed_lr=0.1), r"gives the same parameters as with lr=0\.05\. Likely bug: the lr "
                              r"argument is ignored"),
    (_fit_with(sign=1.0), r"\['W1'\] \(batch_size >= n: one full-batch step per epoch\) is "
                          r"wrong.*gradient ascent"),
    (_fit_with(summed=True), r"\['W1'\].*is wrong.*OFF BY THE BATCH SIZE"),
    (_fit_with(extra_epoch=True), r"one update too many"),
    (_fit_with(before=True), r"parameters from before training"),
    (_fit_with(full_batch=True), r"lr=1e-05, epochs=1, batch_size=6, seed=3\)\[0\]"
                                 r"\['W1'\]: .* is wrong.*ONE full-batch step"),
    (_fit_with(one_batch=True), r"\[0\]\['W1'\]: \(start - end\) / lr, which with so small an "
                                r"lr must be 4 times the mean gradient over all rows at the "
                                r"start, is wrong.*Likely bug: an epoch must visit every row "
                                r"exactly once"),
    (_fit_with(loss="sum of means"), r"losses\[0\] is [\d.]+, not the mean binary cross-entropy"
                                     r".*add up the batches' mean losses"),
    (_fit_with(shuffle="unseeded"), r"different results when called twice with the same seed"
                                    r".*np\.random"),
    (fit_broadcast_bug, r"\(n, n\) grid: reshape y to a column"),
    (fit_loss_per_batch, r"batch_size=6, seed=3\)\[1\] \(losses\) has 4 entries, expected 1 "
                         r"\(one per epoch\)\. You record one loss per batch"),
], ids=["own-init", "seed-ignored", "lr-ignored", "ascent", "summed-gradient", "extra-epoch",
        "returns-init", "batch-size-ignored", "one-batch-per-epoch", "loss-summed",
        "unseeded-shuffle", "broadcast", "loss-per-batch"])
def test_fit_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_fit, fn, hidden, match)


def test_fit_message_shows_no_expected_parameters():
    spy = recording(_fit_with(sign=1.0))
    message = failure(checks.check_fit, spy, False, "gradient ascent")
    right, _ = fit_with_nnlib_parts(*spy.calls[-1])
    assert_no_leak(message, np.concatenate([v.ravel() for v in right.values()]))
