"""Check for chapter 7 (07_train_loop): ``fit``, mini-batch training of the network of
chapters 4 and 5.

How the epochs shuffle is the student's choice, so ``fit`` is not compared bit for bit
with nnlib's: the check tests the start from init_params, exact full-batch epochs, the
first-order effect of an epoch with a tiny lr, the loss per epoch, learning an easy
problem, and the chapter's accuracy on the breast-cancer split.
"""

import numpy as np

from nnlib import losses as ref_losses
from nnlib import network as ref_network
from nnlib.grading.core import (GradingError, Hint, as_student_array, as_student_tuple,
                                call_student, case_rng, compare, describe, ensure_student_function,
                                parameter_names, passed, type_name)
from nnlib.grading.training import _compare_or, _history


FIT = "fit"

_BROADCAST = ("y of shape (n,) against the network output of shape (n, 1) broadcasts to an "
              "(n, n) grid: reshape y to a column first, y = y.reshape(-1, 1)")


def _fit_call_text(X, y, sizes, lr, epochs, batch_size, seed):
    return (f"{FIT}({describe(X)}, {describe(y)}, {list(map(int, sizes))}, lr={describe(lr)}, "
            f"epochs={epochs}, batch_size={batch_size}, seed={seed})")


def _quiet(fn):
    """progress=False for a fit that takes the chapter's optional progress argument."""
    return {"progress": False} if "progress" in (parameter_names(fn) or ()) else {}


def _call_fit(fn, args, call):
    """Call the student's fit; a crash that a column y avoids gets that diagnosis."""
    quiet = _quiet(fn)
    try:
        return call_student(fn, FIT, args, quiet, call=call)
    except GradingError as error:
        y = args[1]
        if np.ndim(y) != 1 or f"{call} raised " not in str(error):
            raise
        try:
            call_student(fn, FIT, (args[0], y.reshape(-1, 1)) + tuple(args[2:]), quiet,
                         call=call)
        except GradingError:
            raise error from None
        raise GradingError(f"{str(error).rstrip('.')}. Likely bug: {_BROADCAST}.") from None


class _FitRun:
    """One call of the student's fit, its arguments and its checked results."""

    def __init__(self, fn, X, y, sizes, lr, epochs, batch_size, seed):
        self.X, self.y, self.sizes = X, y, list(sizes)
        self.lr, self.epochs, self.batch_size, self.seed = lr, epochs, batch_size, seed
        self.call = _fit_call_text(X, y, sizes, lr, epochs, batch_size, seed)
        args = (X, y, list(sizes), lr, epochs, batch_size, seed)
        params, losses = as_student_tuple(_call_fit(fn, args, self.call), self.call, ("params", "losses"))
        self.params = self._params(params)
        batches = -(-X.shape[0] // batch_size)
        self.losses = _history(losses, f"{self.call}[1] (losses)", epochs, "epoch",
                               per_batch=batches if batches > 1 else None)

    def _params(self, params):
        layers = len(self.sizes) - 1
        keys = [f"{kind}{layer}" for layer in range(1, layers + 1) for kind in "Wb"]
        if not isinstance(params, dict):
            raise GradingError(f"{self.call}[0] (params) is a {type_name(params)}; it "
                               f"should be a dict with {', '.join(keys)}.")
        missing = [k for k in keys if k not in params]
        if missing:
            found = ", ".join(map(str, params)) or "nothing"
            raise GradingError(f"{self.call}[0] (params) has no {', '.join(missing)} (it has "
                               f"{found}); return the trained dict of init_params(layer_sizes) "
                               "with the same keys.")
        expected = ref_network.init_params(self.sizes)
        arrays = {}
        for key in keys:
            text = f"{self.call}[0]['{key}']"
            value = as_student_array(params[key], text)
            want = expected[key].shape
            if value.shape != want:
                message = f"{text} has shape {value.shape}, expected {want}."
                n = self.X.shape[0]
                if np.ndim(self.y) == 1 and n in value.shape and n not in want:
                    message += f" Likely bug: {_BROADCAST}."
                raise GradingError(message)
            if not np.isfinite(value).all():
                raise GradingError(f"{text} holds inf or nan. Likely bug: the parameters blow "
                                   "up (a step in the wrong direction or far too large).")
            arrays[key] = value
        return arrays

    def same(self, other):
        return (all(np.allclose(v, other.params[k], rtol=1e-12, atol=1e-14)
                    for k, v in self.params.items())
                and np.allclose(self.losses, other.losses, rtol=1e-12, atol=1e-14))


def _descent(X, y, sizes, lr, steps, seed, sign=-1.0, init_seed=None):
    """Parameters after each of ``steps`` full-batch gradient steps (entry 0: the start)."""
    params = ref_network.init_params(sizes, seed if init_seed is None else init_seed)
    path = [params]
    for _ in range(steps):
        _, cache = ref_network.forward(X, params)
        grads = ref_network.backward(X, y, params, cache)
        params = {k: v + sign * lr * grads["d" + k] for k, v in params.items()}
        path.append(params)
    return path


def _constant(value):
    return lambda *ignored: value


def _full_batch_hints(key, n):
    """Mistakes in full-batch training; args are (X, y, sizes, lr, epochs, seed)."""
    def final(lr=lambda lr: lr, steps=lambda k: k, sign=-1.0, init_seed=None):
        def wrong(e, a):
            X, y, sizes, rate, epochs, seed = a
            return _descent(X, y, sizes, lr(rate), steps(epochs), seed, sign=sign,
                            init_seed=init_seed)[-1][key]
        return wrong
    hints = [
        Hint("you return the parameters from before training (the updates never reach the "
             "dict you return)", final(steps=lambda k: 0)),
        Hint("the steps go uphill (gradient ascent): subtract lr * gradient", final(sign=1.0)),
        Hint("OFF BY THE BATCH SIZE: the gradient is summed over the batch instead of "
             "averaged (backward averages over the rows)", final(lr=lambda lr: lr * n)),
        Hint("lr is applied twice (lr * lr * gradient)", final(lr=lambda lr: lr * lr)),
        Hint("one update is missing: every epoch (the first and the last too) makes one "
             "update per batch", final(steps=lambda k: k - 1)),
        Hint("there is one update too many: loop over range(epochs)",
             final(steps=lambda k: k + 1)),
        Hint("every batch is used for two updates", final(steps=lambda k: 2 * k)),
        Hint("training starts from init_params(layer_sizes, 0) whatever the seed: pass seed "
             "to init_params", final(init_seed=0)),
    ]
    hints += [Hint("the lr argument is ignored (a fixed learning rate is used)",
                   final(lr=_constant(fixed))) for fixed in (0.1, 0.01, 0.001, 1.0)]
    return tuple(hints)


def _bce(y, params, X):
    return float(ref_losses.binary_cross_entropy(y, ref_network.forward(X, params)[0]))


def _all_close(params, reference):
    return all(np.allclose(params[k], v, rtol=1e-9, atol=1e-12) for k, v in reference.items())


def _check_start(fn, X, y, sizes, batch_size, seed):
    """With lr=0 the result must be init_params(layer_sizes, seed) exactly."""
    frozen = _FitRun(fn, X, y, sizes, 0.0, 1, batch_size, seed)
    init = ref_network.init_params(sizes, seed)
    if _all_close(frozen.params, init):
        return
    if seed != 0 and _all_close(frozen.params, ref_network.init_params(sizes, 0)):
        raise GradingError(f"{frozen.call} starts from init_params(layer_sizes, 0) whatever the "
                           "seed. Likely bug: the seed argument is ignored; start from "
                           "init_params(layer_sizes, seed).")
    moved = _FitRun(fn, X, y, sizes, 0.05, 1, batch_size, seed)
    if frozen.same(moved):
        raise GradingError(f"{frozen.call} gives the same parameters as with lr=0.05. Likely "
                           "bug: the lr argument is ignored (a fixed learning rate is used); "
                           "update with params[key] -= lr * grads['d' + key].")
    key = next(k for k, v in init.items() if not _all_close(frozen.params, {k: v}))
    raise GradingError(f"{frozen.call}[0]['{key}']: with lr=0 the parameters must stay at "
                       "their starting values, init_params(layer_sizes, seed), but they differ. "
                       "Likely bug: the parameters are initialised another way; start from "
                       "nnlib.init_params(layer_sizes, seed) (the check follows its exact "
                       "numbers).")


def _check_full_batch(fn, X, y, sizes, lr, epochs, batch_size, seed):
    run = _FitRun(fn, X, y, sizes, lr, epochs, batch_size, seed)
    _check_start(fn, X, y, sizes, batch_size, seed)
    n = X.shape[0]
    path = _descent(X, y, sizes, lr, epochs, seed)
    args = (X, y, sizes, lr, epochs, seed)
    where = "(batch_size >= n: one full-batch step per epoch)"
    for key, expected in path[-1].items():
        compare(FIT, f"{run.call}[0]['{key}'] {where}", run.params[key], expected, rtol=1e-6,
                atol=1e-9, hints=_full_batch_hints(key, n), args=args)
    bce = [_bce(y, params, X) for params in path]
    for e, value in enumerate(run.losses):
        low, high = min(bce[e], bce[e + 1]), max(bce[e], bce[e + 1])
        if low * (1 - 1e-6) - 1e-9 <= value <= high * (1 + 1e-6) + 1e-9:
            continue
        raise GradingError(f"{run.call}: losses[{e}] is {value:.6g}, not the mean binary "
                           "cross-entropy of that epoch. Likely bug: "
                           f"{_loss_text(value, bce[e], bce[e + 1], n, 1)}.")
    return run


def _loss_text(value, before, after, n, batches):
    def near(target):
        return min(before, after) * (1 - 1e-3) - 1e-9 <= target <= max(before, after) * (
            1 + 1e-3) + 1e-9
    if near(value / n):
        return "you sum the loss over the rows instead of averaging it"
    if batches > 1 and near(value / batches):
        return ("you add up the batches' mean losses; divide by the number of batches (or "
                "weight each by its rows and divide by n)")
    if near(-value):
        return "the sign is flipped: BCE = -mean(y log p + (1 - y) log(1 - p))"
    return ("losses[e] should be the mean binary cross-entropy over all the rows of epoch e "
            "(each batch's loss weighted by its rows)")


def _check_epoch_sum(fn, X, y, sizes, epochs, batch_size, seed):
    """With a tiny lr an epoch of k batches moves the parameters by lr * k * the full gradient.

    Each batch step subtracts lr * (its mean gradient); to first order in lr, their sum
    over an epoch that covers every row once in equal batches is k times the full-data mean
    gradient, whatever the order of the rows.
    """
    lr = 1e-5
    n = X.shape[0]
    batches = n // batch_size
    run = _FitRun(fn, X, y, sizes, lr, epochs, batch_size, seed)
    init = ref_network.init_params(sizes, seed)
    _, cache = ref_network.forward(X, init)
    grads = ref_network.backward(X, y, init, cache)
    scale = max(float(np.max(np.abs(g))) for g in grads.values())
    for key, start in init.items():
        moved = (start - run.params[key]) / lr
        expected = epochs * batches * grads["d" + key]
        g = grads["d" + key]
        hints = (
            Hint("you return the parameters unchanged (the updates never reach the dict you "
                 "return)", _constant(np.zeros_like(g))),
            Hint("the epoch's updates add up to ONE full-batch step: make one update per "
                 "batch, each with that batch's mean gradient (is batch_size ignored?)",
                 _constant(epochs * g)),
            Hint("OFF BY THE BATCH SIZE: each batch's gradient is summed over its rows "
                 "instead of averaged", _constant(epochs * n * g)),
            Hint("the steps go uphill (gradient ascent): subtract lr * gradient",
                 _constant(-expected)),
        )
        _compare_or("an epoch must visit every row exactly once, in batches of batch_size "
                    "rows, with one update per batch (check the loop over the batches and the "
                    "shuffling)",
                    FIT, f"{run.call}[0]['{key}']: (start - end) / lr, which with so small "
                         f"an lr must be {epochs * batches} times the mean gradient over all "
                         "rows at the start,",
                    moved, expected, rtol=2e-3, atol=2e-3 * scale, hints=hints)
    start_loss = _bce(y, init, X)
    for e, value in enumerate(run.losses):
        if np.isclose(value, start_loss, rtol=1e-3, atol=1e-9):
            continue
        raise GradingError(f"{run.call}: losses[{e}] is {value:.6g}, not the mean binary "
                           "cross-entropy over the epoch's rows. Likely bug: "
                           f"{_loss_text(value, start_loss, start_loss, n, batches)}.")


def _blobs(rng, n, d):
    y = (np.arange(n) % 2).astype(float)
    rng.shuffle(y)
    centre = rng.normal(size=d)
    centre *= 1.5 / np.linalg.norm(centre)
    X = rng.normal(scale=0.6, size=(n, d)) + np.where(y[:, None] == 1, centre, -centre)
    return X, y


def _check_learning_fit(fn, rng, seed):
    X, y = _blobs(rng, 40, 2)
    sizes = [2, 8, 1]
    run = _FitRun(fn, X, y, sizes, 0.5, 25, 10, seed)
    again = _FitRun(fn, X, y, sizes, 0.5, 25, 10, seed)
    if not run.same(again):
        raise GradingError(f"{run.call} gives different results when called twice with the "
                           "same seed. Likely bug: the batches are shuffled with np.random's "
                           "global state (or default_rng() without the seed); shuffle with "
                           "rng = np.random.default_rng(seed).")
    start_loss = _bce(y, ref_network.init_params(sizes, seed), X)
    final_loss = _bce(y, run.params, X)
    probs = ref_network.forward(X, run.params)[0].ravel()
    accuracy = float(np.mean((probs >= 0.5) == (y == 1)))
    if final_loss > 0.6 * start_loss or accuracy < 0.85:
        raise GradingError(f"{run.call}: after training on two well-separated blobs the "
                           f"returned parameters reach a mean binary cross-entropy of "
                           f"{final_loss:.4g} and an accuracy of {accuracy:.0%}; training "
                           "should do much better. Likely bug: the updates do not follow the "
                           "batch gradients (params[key] -= lr * grads['d' + key] for every "
                           "layer, X and y batches from the same rows).")


#: the chapter's run on the breast-cancer split and the test accuracy it must reach
BREAST_CANCER_RUN = {"layer_sizes": [30, 16, 1], "lr": 0.1, "epochs": 30, "batch_size": 32,
                     "seed": 0}
BREAST_CANCER_ACCURACY = 0.95


def _check_breast_cancer(fn):
    """The chapter's run on the real data reaches the accuracy the text promises."""
    from nnlib.datasets import load_and_split       # scikit-learn loads only when needed

    X_train, X_test, y_train, y_test = load_and_split()
    run = _FitRun(fn, X_train, y_train, *BREAST_CANCER_RUN.values())
    labels = (ref_network.forward(X_test, run.params)[0].ravel() >= 0.5).astype(float)
    test_accuracy = float(np.mean(labels == y_test))
    if test_accuracy < BREAST_CANCER_ACCURACY:
        raise GradingError(f"{run.call}: on the breast-cancer split the trained network "
                           f"classifies {test_accuracy:.1%} of the test rows correctly; it "
                           f"should reach at least {BREAST_CANCER_ACCURACY:.0%}. Likely bug: "
                           "training stops early or does not follow the batch gradients (one "
                           "update per batch, every epoch, params[key] -= lr * grads['d' + "
                           "key]).")


def check_fit(fit, hidden=False):
    """fit(X, y, layer_sizes, lr, epochs, batch_size, seed=0) -> (params, losses)."""
    ensure_student_function(fit, FIT)
    rng = case_rng(FIT, hidden)
    full = [(24, [3, 5, 1], False, 0.5, 4, 24, 2), (16, [2, 4, 3, 1], True, 0.3, 3, 16, 5)]
    if hidden:
        full += [(10, [4, 1], True, 1.0, 3, 50, 0), (12, [5, 6, 4, 1], False, 0.2, 2, 12, 9)]
    epochs_sum = [(24, [3, 4, 1], False, 1, 6, 3)]
    if hidden:
        epochs_sum += [(30, [3, 5, 1], True, 1, 5, 4), (20, [2, 3, 1], False, 2, 10, 8)]
    for n, sizes, column, lr, epochs, batch_size, seed in full:
        X, y = _blobs(rng, n, sizes[0])
        y = y.reshape(-1, 1) if column else y
        _check_full_batch(fit, X, y, sizes, lr, epochs, batch_size, seed)
    for n, sizes, column, epochs, batch_size, seed in epochs_sum:
        X, y = _blobs(rng, n, sizes[0])
        y = y.reshape(-1, 1) if column else y
        _check_epoch_sum(fit, X, y, sizes, epochs, batch_size, seed)
    _check_learning_fit(fit, rng, 7 if hidden else 1)
    _check_breast_cancer(fit)
    passed(FIT, len(full) + len(epochs_sum) + 2)
