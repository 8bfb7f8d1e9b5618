"""The training step of chapter 9's SoftmaxMLP check: predict, fit, and (hidden) the
chapter's own runs."""
import numpy as np

from nnlib import activations as ref_act
from nnlib.grading.core import GradingError, Hint, as_student_number, compare
from nnlib.grading.softmax_mlp_model import (_MLP, _NOTE, _Model, _data, _grad_variants,
                                             _predict_shape, _reference, _values)

def _mlp_predict(cls, rng, hidden):
    cases = [([4, 6, 3], 8), ([3, 5, 4, 2], 7)]
    if hidden:
        cases += [([2, 7, 6, 5, 4], 10), ([5, 3], 6)]
    for sizes, n in cases:
        model = _Model(cls, sizes, 0.1)
        values = _values(rng, sizes, w_scale=2.0, b_scale=0.5)
        X = rng.normal(size=(n, sizes[0]))
        model.set(values)
        got, call = model.call("predict", (X,), ("X",), _NOTE)
        scores = _reference(sizes, 0.1, values).scores(X)
        _predict_shape(got, call, n, sizes[-1])
        arr = np.asarray(got)
        if not np.issubdtype(arr.dtype, np.integer):
            raise GradingError(f"{call} returned an array of dtype {arr.dtype}; return integer "
                               "class labels (np.argmax gives them).")
        compare(f"{_MLP}.predict", call, arr, np.argmax(scores, axis=1), rtol=0, atol=0,
                hints=(Hint("you take the argmax of probabilities normalised over the wrong "
                            "axis; the softmax is row-wise",
                            lambda e, a: np.argmax(ref_act.softmax(a[0], axis=0), axis=1)),
                       Hint("you return the least likely class (argmin)",
                            lambda e, a: np.argmin(a[0], axis=1))),
                args=(scores,))
    return len(cases)




def _descend(sizes, reg, values, X, y, lr, steps, sign=1.0, grads="right"):
    """Parameters after ``steps`` full-batch steps of size lr (grads: a _grad_variants key)."""
    current = {k: v.copy() for k, v in values.items()}
    for _ in range(steps):
        g = (_reference(sizes, reg, current).gradients(X, y) if grads == "right"
             else _grad_variants(current, X, y, reg)[grads])
        current = {k: current[k] - sign * lr * g[k] for k in current}
    return current


_FIT_HINTS = (
    Hint("gradient ascent: the update adds lr * gradient; subtract it (W -= lr * dW)",
         lambda e, a: a[1]["ascent"][a[0]]),
    Hint("lr is ignored: the step should be lr * gradient", lambda e, a: a[1]["no_lr"][a[0]]),
    Hint("only one step was taken: run `epochs` epochs", lambda e, a: a[1]["once"][a[0]]),
    Hint("the update leaves out the reg * W term of the gradient",
         lambda e, a: a[1]["no_reg"][a[0]]),
    Hint("the update uses the gradient summed over the batch; it is the mean (divide by the "
         "batch size)", lambda e, a: a[1]["no_mean"][a[0]]),
)


def _descend_own(model, values, X, y, lr, steps, sign=1.0):
    """Parameters after ``steps`` full-batch steps of size lr along the student's OWN
    gradients (fit checked on its own where gradients is wrong: steps 2 and 3 apart)."""
    current = {k: v.copy() for k, v in values.items()}
    for _ in range(steps):
        current = {k: current[k] - sign * lr * g for k, g in _own_gradients(model, current, X,
                                                                              y).items()}
    return current


def _own_gradients(model, values, X, y):
    """The student's gradients(X, y) at ``values``, as float64 arrays of params' shapes."""
    model.set(values)
    got, call = model.call("gradients", (X, y), ("X", "y"), _NOTE)
    try:
        arrays = {k: np.asarray(got[k], dtype=np.float64) for k in values}
        if all(arrays[k].shape == values[k].shape for k in values):
            return arrays
    except Exception:  # noqa: BLE001  not a dict of arrays: said below
        pass
    raise GradingError(f"fit cannot be checked on its own: {call} does not return a dict of "
                       "arrays shaped like params (see the checks of gradients).")


def _mlp_fit_full_batch(cls, rng, hidden, own_gradients=False):
    """With batch_size >= n, each epoch is exactly one full-batch gradient step (along
    nnlib's gradients, or with ``own_gradients`` along the student's own)."""
    cases = [([4, 6, 3], 0.1, 6, 0.05, 1, 6), ([3, 5, 4, 2], 0.05, 7, 0.1, 2, 10)]
    if hidden:
        cases += [([2, 7, 6, 5, 4], 0.01, 9, 0.2, 3, 9), ([5, 3], 0.2, 4, 0.3, 1, 100)]
    for sizes, reg, n, lr, epochs, batch_size in cases:
        X, y = _data(rng, n, sizes)
        values = _values(rng, sizes)
        model = _Model(cls, sizes, reg)
        model.set(values)
        _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                             ("X", "y", "lr", "epochs", "batch_size"), _NOTE)
        after = model.snapshot()
        if all(np.array_equal(after[k], values[k]) for k in values):
            raise GradingError(f"{call} did not change model.params. Likely bug: the update is "
                               "lost: `W = W - lr * dW` only rebinds a local name; update in "
                               "place (W -= lr * dW) or store the new array in self.params."
                               + (" With batch_size >= the number of rows, an epoch is one "
                                  "step on all rows." if batch_size > n else ""))
        if own_gradients:
            expected = _descend_own(model, values, X, y, lr, epochs)
            variants = {"ascent": _descend_own(model, values, X, y, lr, epochs, sign=-1.0),
                        "no_lr": _descend_own(model, values, X, y, 1.0, epochs),
                        "once": _descend_own(model, values, X, y, lr, 1),
                        "no_reg": expected, "no_mean": expected}     # nnlib's: not known here
        else:
            variants = {"ascent": _descend(sizes, reg, values, X, y, lr, epochs, sign=-1.0),
                        "no_lr": _descend(sizes, reg, values, X, y, 1.0, epochs),
                        "once": _descend(sizes, reg, values, X, y, lr, 1),
                        "no_reg": _descend(sizes, reg, values, X, y, lr, epochs, grads="no_reg"),
                        "no_mean": _descend(sizes, reg, values, X, y, lr, epochs,
                                            grads="no_mean")}
            expected = _descend(sizes, reg, values, X, y, lr, epochs)
        for key in values:     # a parameter whose gradient is 0 here (dead ReLUs) stays put
            if (np.array_equal(after[key], values[key])
                    and not np.array_equal(expected[key], values[key])):
                raise GradingError(f"{call} changed some parameters but not "
                                   f"model.params['{key}']: update every W and b.")
        for key in values:
            try:
                compare(f"{_MLP}.fit", f"{call}: model.params['{key}'] afterwards", after[key],
                        expected[key], rtol=1e-7, atol=1e-10, hints=_FIT_HINTS,
                        args=(key, variants))
            except GradingError as error:
                if "Likely bug" in str(error):
                    raise
                raise GradingError(f"{error} With batch_size >= the number of rows, each epoch "
                                   "is exactly one step params - lr * gradients(X, y) on all "
                                   "rows.") from None
    return len(cases)


def _mlp_fit_batches(cls, rng, own_gradients=False):
    """One epoch of tiny steps moves the parameters by lr * (n / batch_size) * gradient
    (nnlib's gradient, or with ``own_gradients`` the student's own)."""
    sizes, reg, n, batch_size, lr = [4, 6, 3], 0.1, 12, 3, 1e-5
    X, y = _data(rng, n, sizes)
    values = _values(rng, sizes)
    model = _Model(cls, sizes, reg)
    model.set(values)
    _, call = model.call("fit", (X, y, lr, 1, batch_size),
                         ("X", "y", "lr", "epochs", "batch_size"), _NOTE)
    after = model.snapshot()
    wanted = n // batch_size
    move = np.concatenate([(values[k] - after[k]).ravel() for k in values]) / lr
    if own_gradients:
        g = _own_epoch(model, values, X, y, batch_size) / wanted
    else:
        grads = _reference(sizes, reg, values).gradients(X, y)
        g = np.concatenate([grads[k].ravel() for k in values])
    steps = float(move @ g / (g @ g))
    cosine = float(move @ g / (np.linalg.norm(move) * np.linalg.norm(g) + 1e-300))
    if abs(steps - wanted) <= 0.03 * wanted and cosine > 0.999:
        return 1
    message = (f"{call}: {n} rows in batches of {batch_size} make {wanted} steps per epoch, "
               f"each with the mean gradient of its batch, but your parameters moved like "
               f"{steps:.3g} step{'' if f'{steps:.3g}' == '1' else 's'}.")
    if abs(steps - 1.0) <= 0.05:
        message += (" Likely bug: batch_size is ignored (one full-batch step per epoch), or the "
                    "batches' gradients are combined into one step.")
    elif abs(steps - n) <= 0.05 * n:
        message += (" Likely bug: one step per row, or the batch gradient is summed instead of "
                    "averaged.")
    elif cosine <= 0.999:
        message += " Each epoch must visit every row exactly once (shuffling is fine)."
    raise GradingError(message)


def _own_epoch(model, values, X, y, batch_size):
    """What one epoch of tiny steps along the student's own gradients moves the parameters by
    (divided by lr): the sum over the batches of gradients(batch). Any split into batches of
    the same size gives the same sum (a gradient is a sum or mean over its rows plus a term
    per call, reg * W), so consecutive batches stand for the shuffled ones."""
    total = 0.0
    for start in range(0, len(y), batch_size):
        grads = _own_gradients(model, values, X[start:start + batch_size],
                               y[start:start + batch_size])
        total = total + np.concatenate([grads[k].ravel() for k in values])
    return total


def _blobs(rng, centres, per_class):
    centres = np.asarray(centres, dtype=float)
    X = np.concatenate([c + 0.5 * rng.normal(size=(per_class, centres.shape[1]))
                        for c in centres])
    y = np.repeat(np.arange(len(centres)), per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _mlp_fit_trains(cls, rng, hidden, own_loss=True):
    """On well-separated blobs the loss falls clearly and the training accuracy is high
    (the loss measured by the student's own loss, or without ``own_loss`` by nnlib's on the
    student's params)."""
    if not hidden:
        sizes, centres = [2, 16, 3], [[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]]
    else:
        sizes, centres = [3, 10, 10, 4], [[3, 0, 0], [0, 3, 0], [0, 0, 3], [-2, -2, -2]]
    X, y = _blobs(rng, centres, 20)
    model = _Model(cls, sizes, 1e-3, seed=1)
    loss_call = model.describe("loss", (X, y), ("X", "y"))

    def loss():
        if not own_loss:
            return _reference(sizes, 1e-3, model.snapshot()).loss(X, y)
        return as_student_number(model.call("loss", (X, y), ("X", "y"))[0], loss_call)
    before = loss()
    lr, epochs, batch_size = 0.5, 25, 10
    _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                         ("X", "y", "lr", "epochs", "batch_size"), " on well-separated blobs")
    after = loss()
    if not np.isfinite(after) or after > 0.5 * before:
        trend = "rose" if not after <= before else "barely fell"
        raise GradingError(f"{call}: your loss {trend}, from {before:.4g} to {after:.4g}. "
                           + ("Likely bug: gradient ascent (subtract lr * gradient)."
                              if trend == "rose" else
                              "Make each step params -= lr * gradients on the batch."))
    predict_call = model.describe("predict", (X,), ("X",), " after fit")
    labels = model.call("predict", (X,), ("X",), " after fit")[0]
    _predict_shape(labels, predict_call, len(y), sizes[-1])
    accuracy = float(np.mean(np.asarray(labels) == y))
    if accuracy < 0.95:
        raise GradingError(f"{call}: afterwards only {accuracy:.0%} of the training rows are "
                           "predicted right on data that is easy to separate. Check that "
                           "predict uses the trained parameters.")
    return 1




#: the chapter's two runs, as (name, data, layer_sizes, reg, lr, epochs, batch_size, needed, on):
#: nnlib's reference reaches 98.3-99.3% (spiral, training rows) and 96.1-97.5% (digits, test rows)
#: over seeds 0-11, whatever the shuffling
CHAPTER_RUNS = [
    ("the spiral", "spiral", [2, 25, 3], 1e-3, 1.0, 2000, 300, 0.97, "training"),
    ("the digits", "digits", [64, 64, 10], 1e-4, 0.5, 20, 32, 0.95, "test"),
]


def _chapter_data(name):
    """(X_fit, y_fit, X_measured, y_measured) of one of the chapter's runs."""
    from nnlib import datasets
    if name == "spiral":
        X, y = datasets.make_spiral()
        return X, y, X, y
    X_train, X_test, y_train, y_test = datasets.load_digits_split()
    return X_train, y_train, X_test, y_test


def _mlp_reaches_the_chapters_accuracy(cls):
    """The student's own class, trained as the chapter trains it, is as accurate as the text says."""
    for what, data, sizes, reg, lr, epochs, batch_size, needed, rows in CHAPTER_RUNS:
        X, y, X_measured, y_measured = _chapter_data(data)
        model = _Model(cls, sizes, reg, seed=0)
        _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                             ("X", "y", "lr", "epochs", "batch_size"), f" on {what}")
        labels = model.call("predict", (X_measured,), ("X",), f" after fit on {what}")[0]
        _predict_shape(labels, model.describe("predict", (X_measured,), ("X",)),
                       len(y_measured), sizes[-1])
        accuracy = float(np.mean(np.asarray(labels) == y_measured))
        if accuracy < needed:
            raise GradingError(f"{call}: the {rows} accuracy is {accuracy:.1%}; the chapter's model "
                               f"reaches at least {needed:.0%} this way. Check fit's update (each "
                               "batch's mean gradient, reg * W included) and the He "
                               "initialisation of the weights.")
    return len(CHAPTER_RUNS)

