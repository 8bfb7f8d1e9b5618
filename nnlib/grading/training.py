"""Checks for chapter 7 (07_train_loop): iterate_minibatches, train_sgd, fit, predict and
accuracy.

How a training loop draws its random numbers is the student's choice, so
``train_sgd`` and ``fit`` are not compared bit for bit with nnlib's loops.
Their checks test what the contract fixes instead, on small seeded data: the
shapes of the results, determinism per seed, the loss definitions, exact
updates where the randomness cannot matter (lr=0; a training set of one row;
full-batch epochs; the first-order effect of an epoch with a tiny lr) and that
training learns an easy problem.
"""
import inspect

import numpy as np

from nnlib import losses as ref_losses
from nnlib import network as ref_network
from nnlib import training as ref
from nnlib.activations import sigmoid
from nnlib.grading.core import (
    GradingError,
    Hint,
    as_student_array,
    as_student_tuple,
    call_student,
    case_rng,
    compare,
    describe,
    describe_call,
    ensure_student_function,
    passed,
)

# ---------------------------------------------------------------- iterate_minibatches

def _batches(fn, name, args):
    """The student's batches as a list of (X_batch, y_batch) arrays, or a clear failure."""
    def probe(X, y, batch_size, rng):     # the batches are made inside the guarded call
        result = fn(X, y, batch_size, rng)
        return None if result is None else list(result)
    call = describe_call(name, args)
    result = call_student(probe, name, args)
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    batches = []
    for i, item in enumerate(result):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise GradingError(f"{call}: batch {i} is a {type(item).__name__}; each batch should "
                               "be a pair (X_batch, y_batch).")
        batches.append((as_student_array(item[0], f"{call}: X_batch {i}"),
                        as_student_array(item[1], f"{call}: y_batch {i}")))
    return call, batches


def _minibatch_case(fn, name, n, d, batch_size, seed, column, rng):
    X = rng.normal(size=(n, d))
    X[:, 0] = np.arange(n) + 0.5            # row ids, to follow rows through the batches
    labels = rng.permutation(n) * 1.0 + 0.25  # distinct y per row, to check pairing
    y = labels.reshape(-1, 1) if column else labels
    args = (X, y, batch_size, np.random.default_rng(seed))
    call, batches = _batches(fn, name, args)
    if not batches:
        raise GradingError(f"{call} gave no batches.")
    for i, (Xb, yb) in enumerate(batches):
        if Xb.ndim != 2 or Xb.shape[1:] != X.shape[1:]:
            raise GradingError(f"{call}: X_batch {i} has shape {Xb.shape}; it should keep the "
                               f"columns of X, shape (batch rows, {d}).")
        if yb.shape != (Xb.shape[0],) + y.shape[1:]:
            raise GradingError(f"{call}: y_batch {i} has shape {yb.shape} while X_batch {i} has "
                               f"shape {Xb.shape}; y_batch should have one entry per row "
                               f"and the shape of y's rows {y.shape[1:]}.")
    sizes = [Xb.shape[0] for Xb, _ in batches]
    rows = np.concatenate([Xb[:, 0] for Xb, _ in batches])
    ids = np.round(rows - 0.5).astype(int)
    if not np.allclose(rows, ids + 0.5) or ids.min() < 0 or ids.max() >= n:
        raise GradingError(f"{call}: the batches hold rows that are not rows of X.")
    if sum(sizes) < n and len(set(ids)) == sum(sizes) and n % batch_size and (
            all(s == batch_size for s in sizes)):
        raise GradingError(f"{call} covers {sum(sizes)} of the {n} rows. Likely bug: the last, "
                           "smaller batch is dropped; keep it (range(0, n, batch_size)).")
    if len(set(ids)) != n or sum(sizes) != n:
        raise GradingError(f"{call}: in one epoch every row must appear exactly once, but "
                           f"{n - len(set(ids))} rows are missing and {sum(sizes) - len(set(ids))}"
                           " appear more than once. Likely bug: sampling with replacement; "
                           "shuffle with a permutation of the row indices.")
    want = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if sizes != want:
        raise GradingError(f"{call} gave batches of {sizes} rows; every batch should have "
                           "batch_size rows except a smaller last one.")
    got_labels = np.concatenate([yb.ravel() for _, yb in batches])
    if not np.array_equal(got_labels, labels[ids]):
        raise GradingError(f"{call}: X_batch and y_batch rows do not belong together. Likely "
                           "bug: X and y are shuffled separately; index both with the same "
                           "permutation.")
    return call, ids


def check_iterate_minibatches(iterate_minibatches, hidden=False):
    """iterate_minibatches(X, y, batch_size, rng): shuffled (X_batch, y_batch) pairs, one epoch."""
    name = "iterate_minibatches"
    ensure_student_function(iterate_minibatches, name)
    rng = case_rng(name, hidden)
    shapes = [(10, 3, 4, False), (12, 2, 3, True), (9, 4, 20, False)]
    if hidden:
        shapes += [(1, 3, 1, False), (17, 5, 5, True), (8, 1, 1, False), (31, 2, 8, False)]
    for i, (n, d, batch_size, column) in enumerate(shapes):
        seed = 100 + i
        call, ids = _minibatch_case(iterate_minibatches, name, n, d, batch_size, seed, column, rng)
        if n < 8:
            continue
        if np.array_equal(ids, np.arange(n)):
            raise GradingError(f"{call} keeps the rows in their original order. Likely bug: "
                               "the rows are not shuffled; use rng.permutation(n).")
        _, again = _minibatch_case(iterate_minibatches, name, n, d, batch_size, seed, column, rng)
        if not np.array_equal(ids, again):
            raise GradingError(f"{call} gives a different order for the same rng seed. Likely "
                               "bug: you shuffle with np.random instead of the rng argument.")
        _, other = _minibatch_case(iterate_minibatches, name, n, d, batch_size, seed + 50,
                                   column, rng)
        if np.array_equal(ids, other):
            raise GradingError(f"{call} gives the same order for differently seeded rngs. "
                               "Likely bug: the shuffle does not use the rng argument.")
    passed(name, len(shapes))


# ---------------------------------------------------------------- predict

def _predict_cases(hidden):
    rng = case_rng("predict", hidden)
    specs = [(8, [3, 5, 1]), (6, [4, 1])]
    if hidden:
        specs += [(2, [2, 3, 3, 1]), (20, [6, 8, 1]), (5, [3, 1])]
    cases = []
    for seed, (n, sizes) in enumerate(specs):
        params = ref_network.init_params(sizes, seed=seed + 11)
        for key in params:
            if key.startswith("b"):
                params[key] = rng.normal(scale=0.3, size=params[key].shape)
        X = rng.normal(size=(n, sizes[0]))
        cases.append((X, params))
    # an output of exactly 0.5, where both readings of the threshold are accepted
    X = rng.normal(size=(4, 3))
    params = ref_network.init_params([3, 4, 1], seed=5)
    params["W2"][:] = 0.0
    params["b2"][:] = 0.0
    params["W2"][0, 0] = 1.0
    X[:2] = -1.0                      # hidden unit 0 inactive: probability exactly 0.5
    X[2:] = np.abs(X[2:]) + 0.1       # hidden unit 0 active: probability above 0.5
    params["W1"][:, 0] = 1.0
    params["b1"][0] = 0.0
    cases.append((X, params))
    return cases


def _either_label_at_one_half(got, expected, probabilities):
    """``expected`` with the student's 0 or 1 taken wherever the probability is exactly 0.5.

    ``>= 0.5``, ``> 0.5`` and ``np.round`` (which rounds 0.5 to 0) are all correct
    readings of "threshold at 0.5" there.
    """
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):     # not numbers: compare() says what is wrong
        return expected
    tie = probabilities.reshape(expected.shape) == 0.5
    if got.shape != expected.shape or not tie.any():
        return expected
    either = tie & np.isin(got, (0, 1))
    return np.where(either, got, expected).astype(expected.dtype)


def check_predict(predict, hidden=False):
    """predict(X, params) -> (n,) class labels 0/1: forward probabilities thresholded at 0.5.

    At a probability of exactly 0.5 either label is accepted.
    """
    name = "predict"
    ensure_student_function(predict, name)
    probs = lambda a: np.ravel(ref_network.forward(a[0], a[1])[0])
    hints = (
        Hint("the threshold is on the wrong side: predict 1 when the probability is at least "
             "0.5", lambda e, a: 1 - e),
        Hint("you return the probabilities; threshold them at 0.5 to get labels 0/1",
             lambda e, a: probs(a)),
        Hint("you threshold the pre-activation Z (or the logits) at 0.5 instead of the "
             "probability: threshold sigmoid(Z) at 0.5, i.e. Z at 0",
             lambda e, a: (np.ravel(ref_network.forward(a[0], a[1])[1][
                 f"Z{len([k for k in a[1] if k.startswith('W')])}"]) >= 0.5).astype(float)),
    )
    cases = _predict_cases(hidden)
    for args in cases:
        call = describe_call(name, args)
        got = call_student(predict, name, args)
        expected = _either_label_at_one_half(got, ref.predict(*args), probs(args))
        compare(name, call, got, expected, hints=hints, args=args)
    passed(name, len(cases))


# ---------------------------------------------------------------- accuracy

def check_accuracy(accuracy, hidden=False):
    """accuracy(y_true, y_pred) -> float fraction of matching entries; (n,) and (n, 1) mix."""
    name = "accuracy"
    ensure_student_function(accuracy, name)
    rng = case_rng(name, hidden)

    def labels(n):
        return rng.integers(0, 2, size=n)

    def mostly(y, flip):
        """y with ``flip`` entries (at random places) changed."""
        pred = y.copy()
        where = rng.permutation(y.size)[:flip]
        pred[where] = 1 - pred[where]
        return pred

    y1, y2, y3 = labels(10), labels(7), labels(12)
    cases = [(y1, mostly(y1, 3)), (y2.astype(float), mostly(y2, 2).astype(float)),
             (y3.reshape(-1, 1), mostly(y3, 5))]
    if hidden:
        y4, y5, y6 = labels(9), labels(1), labels(15)
        cases += [(y4, mostly(y4, 4).reshape(-1, 1)), (y5, y5.copy()),
                  (y6.reshape(-1, 1), mostly(y6, 15).reshape(-1, 1)),
                  (y6.astype(bool), mostly(y6, 6).astype(bool))]
    hints = (
        Hint("you return the fraction of WRONG predictions; accuracy counts the matches",
             lambda e, a: 1 - e),
        Hint("you return the number of correct predictions; divide by the number of "
             "examples to get a fraction", lambda e, a: e * np.size(a[0])),
        Hint("(n,) compared with (n, 1) broadcasts to an (n, n) grid: ravel both first",
             lambda e, a: np.mean(np.asarray(a[0], float) == np.asarray(a[1], float))),
    )
    for args in cases:
        call = describe_call(name, args)
        got = call_student(accuracy, name, args)
        compare(name, call, got, ref.accuracy(*args), hints=hints, args=args)
    passed(name, len(cases))


# ---------------------------------------------------------------- shared by train_sgd and fit

def _history(values, text, length, unit, per_batch=None):
    """A loss history as a float array of ``length`` entries, or a clear failure."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise GradingError(f"{text} is a {type(values).__name__}; it should be a list with one "
                           f"loss per {unit}.")
    entries = []
    for i, value in enumerate(values):
        try:
            entry = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise GradingError(f"{text}[{i}] is a {type(value).__name__}; each entry should be "
                               "a number.") from None
        if entry.size != 1:
            raise GradingError(f"{text}[{i}] has shape {entry.shape}; each entry should be one "
                               f"number, the loss of that {unit}.")
        entries.append(float(entry.reshape(())))
    losses = np.array(entries)
    if losses.size != length:
        message = f"{text} has {losses.size} entries, expected {length} (one per {unit})."
        if losses.size == 0:
            message += f" Append the loss in every {unit}."
        elif losses.size == length + 1:
            message += " You record one loss too many (e.g. one before the loop starts)."
        elif per_batch and losses.size == length * per_batch:
            message += (" You record one loss per batch; record one per epoch (the mean over "
                        "the epoch's batches).")
        raise GradingError(message)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        raise GradingError(f"{text}[{bad[0]}] is {losses[bad[0]]}; every loss should be a finite "
                           "number. Likely bug: the parameters blow up (a step in the wrong "
                           "direction or far too large).")
    return losses


def _compare_or(hint_text, *args, **kwargs):
    """compare(*args, **kwargs); a failure that names no likely bug gets ``hint_text``."""
    try:
        compare(*args, **kwargs)
    except GradingError as error:
        message = str(error)
        if "Likely bug" in message:
            raise
        raise GradingError(f"{message} Likely bug: {hint_text}.") from None


# ---------------------------------------------------------------- train_sgd

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
            raise GradingError(f"{text} is a {type(params).__name__}; it should be a dict "
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


# ---------------------------------------------------------------- fit

FIT = "fit"

_BROADCAST = ("y of shape (n,) against the network output of shape (n, 1) broadcasts to an "
              "(n, n) grid: reshape y to a column first, y = y.reshape(-1, 1)")


def _fit_call_text(X, y, sizes, lr, epochs, batch_size, seed):
    return (f"{FIT}({describe(X)}, {describe(y)}, {list(map(int, sizes))}, lr={describe(lr)}, "
            f"epochs={epochs}, batch_size={batch_size}, seed={seed})")


def _quiet(fn):
    """progress=False for a fit that takes the chapter's optional progress argument."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {"progress": False} if "progress" in parameters else {}


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
            raise GradingError(f"{self.call}[0] (params) is a {type(params).__name__}; it "
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
