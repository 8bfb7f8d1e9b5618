"""Check for chapter 9 (09_softmax_mlp): the SoftmaxMLP class, method by method, in three
steps graded on their own (PARTS): the model and its loss, the gradients, training."""
import warnings

import numpy as np

from nnlib.grading.core import (GradingError, as_student_number, case_rng, compare,
                                ensure_student_class, passed)
from nnlib.grading.softmax import _he_scale
from nnlib.grading.softmax_mlp_fit import (_mlp_fit_batches, _mlp_fit_full_batch,
                                           _mlp_fit_trains, _mlp_predict,
                                           _mlp_reaches_the_chapters_accuracy)
from nnlib.grading.softmax_mlp_model import (_GRAD_HINTS, _LOSS_HINTS, _MLP, _NOTE, _Model,
                                             _backprop_order, _check_grads, _data,
                                             _grad_variants, _loss_variants, _mlp_loss_cases,
                                             _own_differences, _reference, _values)

def _mlp_first_loss(cls, rng):
    """Build a model and ask it for a loss before anything else: the first method written."""
    model = _Model(cls, [4, 6, 3], 0.1)
    model.params(required=False)       # a wrong layout explains a failing loss best
    X, y = _data(rng, 5, model.sizes)
    got, call = model.call("loss", (X, y), ("X", "y"))
    as_student_number(got, call)
    return 1


def _mlp_construction(cls, hidden):
    count = 0
    sizes_list = [[4, 6, 3], [3, 5, 4, 2], [2, 8, 2]]
    if hidden:
        sizes_list += [[5, 3], [2, 7, 6, 5, 4]]
    for sizes in sizes_list:
        model = _Model(cls, sizes, 0.0)
        params = model.params()
        for key, value in params.items():
            where = f"{model.text}.params['{key}']"
            if not np.isfinite(value).all():
                raise GradingError(f"{where} holds nan or inf.")
            if key.startswith("b") and np.any(value != 0):
                raise GradingError(f"{where} is not all zeros. Start the biases at zero: "
                                   f"np.zeros({value.shape[0]}).")
            if key.startswith("W") and value.size > 1 and np.all(value == value.flat[0]):
                raise GradingError(f"{where} has all entries equal. Draw the weights at random "
                                   "(He/Kaiming: rng.standard_normal((fan_in, fan_out)) * "
                                   "np.sqrt(2 / fan_in)); equal weights keep every unit identical.")
        count += 1
    sizes, seed = [4, 6, 3], 3 + (10 if hidden else 0)
    first = _Model(cls, sizes, 0.0, seed=seed)
    again = _Model(cls, sizes, 0.0, seed=seed)
    other = _Model(cls, sizes, 0.0, seed=seed + 1)
    a, b, c = first.snapshot(), again.snapshot(), other.snapshot()
    if any(not np.array_equal(a[k], b[k]) for k in a):
        raise GradingError(f"{first.text} built twice gave different weights. Draw them from a "
                           "generator made from the seed: rng = np.random.default_rng(seed).")
    if all(np.array_equal(a[k], c[k]) for k in a):
        raise GradingError(f"{first.text} and {other.text} gave the same weights. Use the seed "
                           "argument (rng = np.random.default_rng(seed)), not a fixed seed.")
    big = _Model(cls, [150, 100, 80, 3] if not hidden else [120, 160, 90, 4], 0.0,
                 seed=5 + (10 if hidden else 0))
    for key, W in big.params().items():
        if key.startswith("W") and W.size >= 8000:
            _he_scale(np.array(W), W.shape[0], f"{big.text}.params['{key}']", tol=0.04)
    return count + 3



def _mlp_loss(cls, rng, hidden):
    cases = _mlp_loss_cases(rng, hidden)
    for sizes, reg, X, y, values in cases:
        model = _Model(cls, sizes, reg)
        original = model.snapshot()
        model.set(values)
        got, call = model.call("loss", (X, y), ("X", "y"), _NOTE)
        expected = _reference(sizes, reg, values).loss(X, y)
        compare(f"{_MLP}.loss", call, got, expected, rtol=1e-7, atol=1e-10, hints=_LOSS_HINTS,
                args=(_loss_variants(values, original, X, y, reg),))
    _mlp_large_scores(cls, rng)
    return len(cases) + 1


def _mlp_large_scores(cls, rng):
    """Scores of about ±1000: naive np.exp overflows; the loss itself is of order 1."""
    sizes = [4, 6, 3]
    model = _Model(cls, sizes, 0.0)
    X = rng.normal(size=(6, 4))
    y = np.array([0, 1, 1, 0, 1, 0])               # never the class whose score is -1000
    values = _values(rng, sizes)
    values["b2"] = np.array([1000.0, 1000.5, -1000.0])
    model.set(values)
    call = model.describe("loss", (X, y), ("X", "y"), " with output scores of about ±1000")
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        got, _ = model.call("loss", (X, y), ("X", "y"), " with output scores of about ±1000")
    value = as_student_number(got, call)
    text = " ".join(str(w.message) for w in caught)
    if not np.isfinite(value):
        cause = ("log(0): a probability underflowed to 0 (take -log of the true class's "
                 "probability only, clip it, or use log-softmax: shifted - "
                 "log(sum(exp(shifted))))" if "divide" in text and "overflow" not in text else
                 "no max-shift in the softmax: np.exp of a large score overflows. Subtract each "
                 "row's maximum first, Z - Z.max(axis=1, keepdims=True)")
        raise GradingError(f"{call} returned {value}, where a finite number is expected. "
                           f"Likely bug: {cause}.")
    compare(f"{_MLP}.loss", call, got, _reference(sizes, 0.0, values).loss(X, y), rtol=1e-7,
            atol=1e-10, hints=_LOSS_HINTS,
            args=(_loss_variants(values, values, X, y, 0.0),))
    if caught:
        raise GradingError(f"{call} gives the right number but warns '{caught[0].message}'. "
                           "Likely bug: np.exp of a large score overflows, or log of a zero "
                           "probability: subtract each row's maximum before np.exp and take the "
                           "log of the true class's probability only.")


def _mlp_gradients(cls, rng, hidden, own_loss=True):
    """The gradients against nnlib's, then (``own_loss``) against finite differences of the
    student's own loss."""
    cases = _mlp_loss_cases(rng, hidden)
    for sizes, reg, X, y, values in cases:
        model = _Model(cls, sizes, reg)
        model.set(values)
        got, call = model.call("gradients", (X, y), ("X", "y"), _NOTE)
        after = model.snapshot()
        for key, value in values.items():
            if not np.array_equal(after[key], value):
                raise GradingError(f"{call} changed model.params['{key}']. Compute the gradients "
                                   "without updating the parameters (updating is fit's job).")
        variants = _grad_variants(values, X, y, reg)
        expected = _reference(sizes, reg, values).gradients(X, y)
        _check_grads(got, model, X, y, call, expected, variants)
        for key in _backprop_order(values) if own_loss else ():
            numeric = _own_differences(model, X, y, key, rng)
            yours = np.asarray(got[key], dtype=np.float64)     # its shape is checked above
            compare(f"{_MLP}.gradients", f"{call}['{key}'] compared with central finite "
                    "differences of your own loss", got[key],
                    np.where(np.isnan(numeric), yours, numeric), rtol=1e-5, atol=1e-7,
                    hints=_GRAD_HINTS, args=(key, variants))
    return 2 * len(cases)


#: the exercise's steps, each graded in a test cell of its own (test_SoftmaxMLP, then
#: test_SoftmaxMLP-<part>): what each one checks
PARTS = {"model": "params and loss", "gradients": "gradients", "training": "predict and fit"}


def check_SoftmaxMLP(SoftmaxMLP, hidden=False, part=None):
    """SoftmaxMLP(layer_sizes, reg=0.0, seed=0) with params, loss, gradients, predict and fit.

    The class keeps its parameters in ``model.params``, a dict "W1", "b1", ..., "WL", "bL" of
    its own float64 arrays (W{l} (d_{l-1}, d_l), b{l} (d_l,)): the check writes test values
    into them in place. loss(X, y) is the mean cross-entropy of softmax(scores) plus
    0.5 * reg * sum of squared weights; gradients(X, y) returns a new dict with the same keys;
    predict(X) returns integer labels (n,); fit(X, y, lr, epochs, batch_size) runs mini-batch
    gradient descent, each epoch one step per batch of batch_size rows, covering every row once.

    ``part`` checks one step of the exercise (PARTS); None checks them all, in order. A later
    step does not charge an earlier step's slip again: the gradients are not compared with
    finite differences of a wrong loss, and where the gradients are wrong, fit is checked
    against steps along the student's own gradients (and not by how well it trains).
    """
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, or None for all of them")
    ensure_student_class(SoftmaxMLP, _MLP)
    count = 0
    for each in (PARTS if part is None else [part]):
        rng = case_rng(_MLP if each == "model" else f"{_MLP}-{each}", hidden)
        if each == "model":
            count += _mlp_first_loss(SoftmaxMLP, rng)
            count += _mlp_construction(SoftmaxMLP, hidden)
            count += _mlp_loss(SoftmaxMLP, rng, hidden)
        elif each == "gradients":
            own_loss = part is None or _works(_mlp_loss, SoftmaxMLP)
            count += _mlp_gradients(SoftmaxMLP, rng, hidden, own_loss=own_loss)
        else:
            own = part is None or _works(_mlp_gradients, SoftmaxMLP, own_loss=False)
            count += _mlp_predict(SoftmaxMLP, rng, hidden)
            count += _mlp_fit_full_batch(SoftmaxMLP, rng, hidden, own_gradients=not own)
            count += _mlp_fit_batches(SoftmaxMLP, rng, own_gradients=not own)
            if own:     # training well needs right gradients: a wrong one is step 2's loss
                own_loss = part is None or _works(_mlp_loss, SoftmaxMLP)
                count += _mlp_fit_trains(SoftmaxMLP, rng, hidden, own_loss=own_loss)
                if hidden:  # the chapter's full runs, where the time limit is generous
                    count += _mlp_reaches_the_chapters_accuracy(SoftmaxMLP)
    passed(_MLP if part is None else f"{_MLP}, {PARTS[part]}", count)


def _works(check, cls, **options):
    """Whether an earlier step's visible ``check`` passes (its inputs drawn apart from the
    step in progress, so the later step's own inputs do not change)."""
    try:
        check(cls, np.random.default_rng(2024), False, **options)
    except GradingError:
        return False
    return True
