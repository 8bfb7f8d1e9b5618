"""Checks for chapter 7 (07_train_loop): iterate_minibatches, predict and accuracy, and
the helpers the checks of train_sgd (grading/sgd_loop.py) and fit (grading/fitting.py)
share with them.
"""
import numpy as np

from nnlib import network as ref_network
from nnlib import training as ref
from nnlib.grading.core import (GradingError, Hint, as_student_array, call_student, case_rng,
                                compare, describe_call, ensure_student_function, passed, type_name)


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
            raise GradingError(f"{call}: batch {i} is a {type_name(item)}; each batch should "
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
        raise GradingError(f"{text} is a {type_name(values)}; it should be a list with one "
                           f"loss per {unit}.")
    entries = []
    for i, value in enumerate(values):
        try:
            entry = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise GradingError(f"{text}[{i}] is a {type_name(value)}; each entry should be "
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
