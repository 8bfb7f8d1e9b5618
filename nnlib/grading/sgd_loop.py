"""Check for chapter 7 (07_train_loop): ``train_sgd``, the video course's loop of one
random training row per iteration.

How the loop draws its rows is the student's choice, so it is not compared bit for bit
with nnlib's: the check tests what the contract fixes on small seeded data (the shapes
of the results, determinism per seed, the two loss definitions, exact updates where the
randomness cannot matter: lr=0, a training set of one row) and that it learns.
"""
import numpy as np

from nnlib.activations import sigmoid
from nnlib.grading.core import (GradingError, Hint, as_student_array, as_student_tuple,
                                call_student, case_rng, compare, describe_call,
                                ensure_student_function, passed, type_name)
from nnlib.grading.training import _compare_or, _history


SGD = "train_sgd"


class _SgdRun:
    """One call of the student's train_sgd, its arguments and its checked results."""

    def __init__(self, fn, X_train, y_train, X_test, y_test, lr, iterations, seed):
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.lr, self.iterations, self.seed = lr, iterations, seed
        args = (X_train, y_train, X_test, y_test, lr, iterations, seed)
        self.call = describe_call(SGD, args[:4], {"lr": lr, "iterations": iterations,
                                                  "seed": seed})
        result = call_student(fn, SGD, args, call=self.call)
        params, train_losses, test_losses = as_student_tuple(result, self.call,
                                                   ("params", "train_losses", "test_losses"))
        self.w, self.b = self._params(params, X_train.shape[1])
        self.train = _history(train_losses, f"{self.call}[1] (train_losses)", iterations,
                              "iteration")
        self.test = _history(test_losses, f"{self.call}[2] (test_losses)", iterations,
                             "iteration")

    def _params(self, params, d):
        text = f"{self.call}[0] (params)"
        if not isinstance(params, dict):
            raise GradingError(f"{text} is a {type_name(params)}; it should be a dict "
                               f"{{'w': weights of shape ({d},), 'b': the bias}}.")
        if "w" not in params or "b" not in params:
            found = ", ".join(repr(k) for k in params) or "nothing"
            raise GradingError(f"{text} has the keys {found}; it should have 'w' (the weights, "
                               f"shape ({d},)) and 'b' (the bias, a number).")
        w = as_student_array(params["w"], f"{self.call}[0]['w']")
        if w.shape != (d,):
            extra = " Keep the weights 1-D: one per feature." if w.size == d else ""
            raise GradingError(f"{self.call}[0]['w'] has shape {w.shape}, expected ({d},)."
                               + extra)
        b = as_student_array(params["b"], f"{self.call}[0]['b']")
        if b.size != 1:
            raise GradingError(f"{self.call}[0]['b'] has shape {b.shape}; the bias should be "
                               "one number.")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise GradingError(f"{self.call}[0] (params) holds inf or nan. Likely bug: the "
                               "parameters blow up (a step in the wrong direction or far too "
                               "large).")
        return w, float(b.reshape(()))

    def same(self, other):
        return (np.allclose(self.w, other.w, rtol=1e-12, atol=1e-14)
                and np.isclose(self.b, other.b, rtol=1e-12, atol=1e-14)
                and np.allclose(self.train, other.train, rtol=1e-12, atol=1e-14)
                and np.allclose(self.test, other.test, rtol=1e-12, atol=1e-14))


def _prob(X, w, b):
    return sigmoid(np.asarray(X, float) @ np.asarray(w, float) + b)


def _sse(X, y, w, b):
    """Sum of squared errors of one sigmoid neuron over a data set."""
    return float(np.sum((_prob(X, w, b) - np.asarray(y, float)) ** 2))


def _row_errors(X, y, w, b):
    return (_prob(X, w, b) - np.asarray(y, float)) ** 2


def _separable(rng, n, m, d, integer_labels=False):
    """A linearly separable set (margin 0.8), split into n training and m test rows.

    Both splits hold both classes.
    """
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    X = rng.normal(size=(n + m, d))
    side = X @ direction
    signs = np.where(side > 0, 1.0, -1.0)
    signs[[0, n]] = 1.0
    signs[[1, n + 1]] = -1.0
    X += ((0.8 + np.abs(side)) * signs - side)[:, None] * direction
    y = (signs > 0).astype(np.int64 if integer_labels else np.float64)
    return X[:n], y[:n], X[n:], y[n:]


def _test_loss_hints():
    """Known mistakes in the test-set loss.

    args are (X_train, y_train, X_test, y_test, [(w, b), ...]) with the parameters each
    recorded loss should use; the answer checked is one loss or a list of them.
    """
    def each(loss):
        return lambda e, a: np.reshape([loss(a, w, b) for w, b in a[4]], np.shape(e))
    return (
        Hint("you record the MEAN squared error over the test set; test_losses holds the SUM "
             "of the squared errors over the whole test set", lambda e, a: e / len(a[3])),
        Hint("you record the loss on the training set; test_losses is the sum of squared "
             "errors over X_test, y_test", each(lambda a, w, b: _sse(a[0], a[1], w, b))),
        Hint("you record the mean loss on the training set; test_losses is the SUM of squared "
             "errors over X_test, y_test",
             each(lambda a, w, b: _sse(a[0], a[1], w, b) / len(a[1]))),
        Hint("the errors are not squared: sum (prediction - y)^2 over the test set",
             each(lambda a, w, b: np.sum(np.abs(_prob(a[2], w, b) - a[3])))),
        Hint("the sigmoid is missing: the prediction is sigmoid(X_test @ w + b)",
             each(lambda a, w, b: np.sum((np.asarray(a[2], float) @ w + b - a[3]) ** 2))),
    )


def _check_train_range(run):
    bad = np.flatnonzero((run.train < -1e-12) | (run.train > 1 + 1e-12))
    if bad.size:
        t = bad[0]
        raise GradingError(f"{run.call}: train_losses[{t}] is {run.train[t]:.6g}, outside "
                           "[0, 1], but the squared error of a probability against a 0/1 label "
                           "lies in [0, 1]. Likely bug: you record a sum over several rows, or "
                           "the error of z = x @ w + b without the sigmoid.")


def _check_seeding(fn, run):
    data = (run.X_train, run.y_train, run.X_test, run.y_test, run.lr, run.iterations)
    again = _SgdRun(fn, *data, run.seed)
    if not run.same(again):
        raise GradingError(f"{run.call} gives different results when called twice with the "
                           "same seed. Likely bug: the random numbers do not come from the seed "
                           "(np.random's global state, or default_rng() without it); create "
                           "rng = np.random.default_rng(seed) and draw everything from it.")
    other = _SgdRun(fn, *data, run.seed + 1)
    if run.same(other):
        raise GradingError(f"{run.call} gives the same result for seed {run.seed} and seed "
                           f"{run.seed + 1}. Likely bug: the seed argument is ignored; create "
                           "the generator from it: rng = np.random.default_rng(seed).")


def _train_loss_diagnosis(run, value):
    """Why a train_losses entry is no single row's squared error (run has lr=0)."""
    X, y, w, b = run.X_train, np.asarray(run.y_train, float), run.w, run.b
    p = _prob(X, w, b)
    errors = (p - y) ** 2
    scalars = (
        (np.mean(errors), "you record the mean squared error over the whole training set; "
                          "record the squared error of the ONE row used in that iteration"),
        (np.sum(errors), "you record the sum of squared errors over the whole training set; "
                         "record the squared error of the ONE row used in that iteration"),
        (_sse(run.X_test, run.y_test, w, b), "you append the test-set loss to train_losses"),
    )
    for candidate, text in scalars:
        if np.isclose(value, candidate, rtol=1e-6, atol=1e-12):
            return text
    rows = (
        (np.abs(p - y), "the error is not squared: record (prediction - y)^2"),
        (p - y, "the error is not squared: record (prediction - y)^2"),
        (errors / 2, "there is an extra factor 1/2: record (prediction - y)^2"),
        ((X @ w + b - y) ** 2, "the sigmoid is missing: the prediction is sigmoid(x @ w + b)"),
    )
    for candidates, text in rows:
        if np.isclose(value, candidates, rtol=1e-6, atol=1e-12).any():
            return text
    return ("record (sigmoid(x_i @ w + b) - y_i)^2 for the row i you picked, with the "
            "parameters before the update")


def _check_frozen(run):
    """lr=0: parameters fixed, so every loss is exactly checkable."""
    if not np.allclose(run.test, run.test[0], rtol=1e-9, atol=1e-12):
        raise GradingError(f"{run.call}: with lr=0 the parameters must not change, yet "
                           f"test_losses varies from {run.test.min():.6g} to "
                           f"{run.test.max():.6g}. Likely bug: the lr argument is ignored (a "
                           "fixed learning rate is used); update with w -= lr * dL_dw.")
    args = (run.X_train, run.y_train, run.X_test, run.y_test, [(run.w, run.b)])
    compare(SGD, f"{run.call}: test_losses[-1]", run.test[-1],
            _sse(run.X_test, run.y_test, run.w, run.b), hints=_test_loss_hints(), args=args)
    errors = _row_errors(run.X_train, run.y_train, run.w, run.b)
    picked = []
    for t, value in enumerate(run.train):
        match = np.isclose(value, errors, rtol=1e-6, atol=1e-12)
        if not match.any():
            raise GradingError(f"{run.call}: train_losses[{t}] is {value:.6g}, which is not the "
                               "squared error of any training row under the current "
                               "parameters. Likely bug: "
                               f"{_train_loss_diagnosis(run, value)}.")
        picked.append(int(np.argmax(match)) if match.sum() == 1 else -1)
    n = run.X_train.shape[0]
    if np.ptp(errors) > 1e-9 and np.ptp(run.train) == 0:
        raise GradingError(f"{run.call}: train_losses holds the same row's error in all "
                           f"{run.iterations} iterations. Likely bug: the row is chosen once "
                           "(or fixed); draw a new random row in every iteration, e.g. "
                           "i = rng.integers(len(X_train)).")
    if picked == [t % n for t in range(len(picked))]:
        raise GradingError(f"{run.call}: the rows are visited in order (0, 1, 2, ...). "
                           "Likely bug: no random choice; pick a random row in every "
                           "iteration, e.g. i = rng.integers(len(X_train)).")


def _sgd_steps(x, y, w, b, lr, steps, two=2.0, derivative=True, sign=-1.0, times_x=True,
               update_w=True, update_b=True):
    """Parameters after each of ``steps`` single-row updates, with one known mistake switched on."""
    x, w = np.asarray(x, float).ravel(), np.asarray(w, float).copy()
    history = []
    for _ in range(steps):
        p = float(sigmoid(float(x @ w) + b))
        dz = two * (p - y) * (p * (1 - p) if derivative else 1.0)
        if update_w:
            w = w + sign * lr * dz * (x if times_x else 1.0)
        if update_b:
            b = b + sign * lr * dz
        history.append((w, b))
    return history


def _fixed_rate_steps(fixed, part):
    return lambda e, a: _sgd_steps(*a[:4], fixed, a[5])[-1][part]


def _step_hints(part):
    """Mistakes in the update of w (part 0) or b (part 1); args are (x, y, w0, b0, lr, steps)."""
    def final(**kw):
        return lambda e, a: _sgd_steps(*a, **kw)[-1][part]
    hints = [
        Hint("the factor 2 from d/dpred (pred - y)^2 = 2 (pred - y) is missing", final(two=1.0)),
        Hint("the sigmoid derivative pred * (1 - pred) is missing from the chain rule",
             final(derivative=False)),
        Hint("the factor 2 and the sigmoid derivative pred * (1 - pred) are both missing",
             final(two=1.0, derivative=False)),
        Hint("the step goes uphill (gradient ascent): subtract lr * gradient",
             final(sign=1.0)),
        Hint("lr is applied twice (lr * lr * gradient)",
             lambda e, a: _sgd_steps(*a[:4], a[4] ** 2, a[5])[-1][part]),
    ]
    hints += [Hint("the lr argument is ignored (a fixed learning rate is used)",
                   _fixed_rate_steps(fixed, part)) for fixed in (0.1, 0.01, 0.001, 1.0)]
    if part == 0:
        hints += [Hint("the weights are never updated", final(update_w=False)),
                  Hint("the input x is missing from the weight gradient: dL/dw = dL/dz * x",
                       final(times_x=False))]
    else:
        hints.append(Hint("the bias is never updated: it needs its own step, "
                          "b -= lr * dL_db", final(update_b=False)))
    return tuple(hints)


def _check_one_row(fn, rng, d, label, lr, steps, seed):
    """A training set of ONE row forces the row choice: the updates are exactly checkable."""
    X = rng.normal(scale=0.5, size=(1, d))
    y = np.array([float(label)])
    X_test = rng.normal(size=(5, d))
    y_test = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    start = _SgdRun(fn, X, y, X_test, y_test, 0.0, steps, seed)
    run = _SgdRun(fn, X, y, X_test, y_test, lr, steps, seed)
    w0, b0 = start.w, start.b
    where = "(a one-row training set, from your lr=0 parameters)"
    path = _sgd_steps(X[0], y[0], w0, b0, lr, steps)
    args = (X[0], y[0], w0, b0, lr, steps)
    compare(SGD, f"{run.call}[0]['w'] {where}", run.w, path[-1][0], hints=_step_hints(0),
            args=args)
    compare(SGD, f"{run.call}[0]['b'] {where}", run.b, path[-1][1], hints=_step_hints(1),
            args=args)
    before = [(w0, b0)] + path[:-1]
    expected = [float((_prob(X[0], w, b) - y[0]) ** 2) for w, b in before]
    after = [float((_prob(X[0], w, b) - y[0]) ** 2) for w, b in path]
    compare(SGD, f"{run.call}: train_losses {where}", run.train, expected,
            hints=(Hint("you record the training loss after the update; record it before",
                        lambda e, a: after),), args=args)
    before_hint = Hint("the test loss is recorded before the update; record it after the step",
                       lambda e, a: [_sse(X_test, y_test, w, b) for w, b in before])
    compare(SGD, f"{run.call}: test_losses {where}", run.test,
            [_sse(X_test, y_test, w, b) for w, b in path],
            hints=(before_hint,) + _test_loss_hints(), args=(X, y, X_test, y_test, path))


def _check_learning(run, start_loss):
    final = run.test[-1]
    if final <= 0.5 * start_loss or final < 0.5:
        return
    raise GradingError(f"{run.call}: on a linearly separable set the test loss went from "
                       f"{start_loss:.4g} (your lr=0 run) to only {final:.4g}; it should fall "
                       "clearly. Likely bug: the update does not follow the gradient of the "
                       "chosen row (take x and y from the same row and subtract lr * "
                       "gradient).")


def check_train_sgd(train_sgd, hidden=False):
    """train_sgd(X_train, y_train, X_test, y_test, lr, iterations, seed) -> (params, train, test)."""
    ensure_student_function(train_sgd, SGD)
    rng = case_rng(SGD, hidden)
    sets = [(20, 10, 3, False, 3)]
    if hidden:
        sets += [(24, 8, 5, True, 11)]
    runs = []
    for n, m, d, integer_labels, seed in sets:
        data = _separable(rng, n, m, d, integer_labels)
        run = _SgdRun(train_sgd, *data, 1.0, 300, seed)
        _check_train_range(run)
        _check_seeding(train_sgd, run)
        frozen = _SgdRun(train_sgd, *data, 0.0, 60, seed)
        _check_frozen(frozen)
        runs.append((data, run, frozen))
    rows = [(3, 1, 0.8, 1, 5)]
    if hidden:
        rows += [(4, 0, 0.3, 1, 6), (2, 1, 0.6, 3, 7), (1, 0, 2.0, 2, 8)]
    for d, label, lr, steps, seed in rows:
        _check_one_row(train_sgd, rng, d, label, lr, steps, seed)
    for data, run, frozen in runs:
        _compare_or("record the test loss after the update, with the parameters you return",
                    SGD, f"{run.call}: test_losses[-1]", run.test[-1],
                    _sse(data[2], data[3], run.w, run.b), hints=_test_loss_hints(),
                    args=(*data, [(run.w, run.b)]))
        _check_learning(run, frozen.test[0])
    passed(SGD, len(sets) * 4 + len(rows))
