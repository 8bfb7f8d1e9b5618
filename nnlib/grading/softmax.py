"""Checks for chapter 9 (09_softmax_mlp): softmax, one-hot labels, cross-entropy, its
gradient w.r.t. the logits and He/Kaiming initialisation (the class: grading/softmax_mlp.py)."""
import copy
import warnings

import numpy as np

from nnlib import activations as ref_act
from nnlib import losses as ref_loss
from nnlib.grading.core import (GradingError, Hint, as_student_array, call_student, case_rng,
                                compare, describe_call, ensure_student_function, passed)

LARGE = 1e4


def _run(name, fn, reference, cases, *, hints=(), before=None, then=(), rtol=1e-6, atol=1e-9,
         accepted=None):
    """Like core.run_cases, but ``before(args, got, call)`` may diagnose before comparing.

    ``accepted(args) -> (low, high)``, if given, is a band of scalar answers that other
    correct conventions give (e.g. another clipping bound); a value inside it passes.
    """
    ensure_student_function(fn, name)
    for args in cases:
        call = describe_call(name, args)
        got = call_student(fn, name, args)
        if before is not None:
            before(args, got, call)
        if accepted is not None and _inside(got, *accepted(*copy.deepcopy(args)), rtol, atol):
            continue
        expected = reference(*copy.deepcopy(args))
        compare(name, call, got, expected, rtol=rtol, atol=atol, hints=hints, args=args)
    for check in then:
        check()
    passed(name, len(cases) + len(then))


def _inside(got, low, high, rtol, atol):
    """Whether ``got`` is a real number in [low, high], up to the tolerances."""
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        if not (isinstance(got, np.ndarray) and got.shape == ()):
            return False
    value = float(got)
    return low - atol - rtol * abs(low) <= value <= high + atol + rtol * abs(high)


def _probs(rng, n, k, scale=1.5):
    return ref_act.softmax(rng.normal(scale=scale, size=(n, k)))


def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


# ---------------------------------------------------------------- softmax

def _exp_shifted(Z):
    Z = np.asarray(Z, dtype=float)
    return np.exp(Z - Z.max(axis=1, keepdims=True))


_SOFTMAX_HINTS = (
    Hint("you normalise over the wrong axis (each column sums to 1); softmax is row-wise: "
         "sum with axis=1, keepdims=True", lambda e, a: ref_act.softmax(a[0], axis=0)),
    Hint("you divide by the sum over the whole matrix; each row must sum to 1: "
         "sum with axis=1, keepdims=True",
         lambda e, a: np.exp(np.asarray(a[0], float)) / np.exp(np.asarray(a[0], float)).sum()),
    Hint("you divide by the sum over the whole matrix; each row must sum to 1: "
         "sum with axis=1, keepdims=True",
         lambda e, a: _exp_shifted(a[0]) / _exp_shifted(a[0]).sum()),
    Hint("you sum without keepdims=True, so numpy divides row i by the sum of row j; use "
         "e.sum(axis=1, keepdims=True)",
         lambda e, a: _exp_shifted(a[0]) / _exp_shifted(a[0]).sum(axis=1)[None, :]),
)


def _softmax_inputs(rng, hidden):
    cases = [rng.normal(scale=3.0, size=(4, 3)), rng.normal(size=(1, 5)),
             rng.normal(size=(5, 1)), rng.normal(scale=2.0, size=(3, 3)),
             np.arange(-4, 4).reshape(2, 4)]
    if hidden:
        cases += [rng.normal(scale=10.0, size=(6, 10)), rng.normal(size=(7, 1)),
                  np.zeros((2, 3)), rng.normal(scale=0.5, size=(4, 4))]
    return [(Z,) for Z in cases]


def _softmax_extreme(softmax):
    Z = np.array([[LARGE, 0.0, -LARGE],
                  [-LARGE, -LARGE + 1.0, -LARGE + 2.0],
                  [800.0, 799.0, -800.0],
                  [0.0, 0.0, 0.0]])
    call = describe_call("softmax", (Z,)) + " with logits up to ±1e4"
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")   # whatever np.seterr the notebook ran earlier
        got = call_student(softmax, "softmax", (Z,))
    arr = as_student_array(got, call)
    if arr.shape == Z.shape and not np.isfinite(arr).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise GradingError(f"{call} returned {arr[index]} at index {list(index)}, where a finite "
                           "number is expected. Likely bug: no max-shift: np.exp of a large "
                           "logit overflows. Subtract each row's maximum first, "
                           "Z - Z.max(axis=1, keepdims=True) (one maximum of the whole matrix "
                           "is not enough: a row far below it becomes 0 / 0).")
    compare("softmax", call, got, ref_act.softmax(Z), hints=_SOFTMAX_HINTS, args=(Z,))
    if caught:
        raise GradingError(f"{call} gives the right numbers but warns '{caught[0].message}'. "
                           "Likely bug: np.exp of a large logit overflows; subtract each row's "
                           "maximum before np.exp so you only take exp of numbers <= 0.")


def check_softmax(softmax, hidden=False):
    """softmax(Z): row-wise, shapes (n, k) incl. k = 1 and n = 1, stable for logits of 1e4."""
    _run("softmax", softmax, ref_act.softmax,
         _softmax_inputs(case_rng("softmax", hidden), hidden), hints=_SOFTMAX_HINTS,
         then=[lambda: _softmax_extreme(softmax)])


# ---------------------------------------------------------------- one_hot

def _one_hot_shift(e, shift):
    rolled = np.roll(e, shift, axis=1)
    return rolled


_ONE_HOT_HINTS = (
    Hint("the labels are off by one: the 1 of label c belongs in column c (labels start at 0), "
         "don't add or subtract 1", lambda e, a: _one_hot_shift(e, 1)),
    Hint("the labels are off by one: the 1 of label c belongs in column c (labels start at 0), "
         "don't add or subtract 1", lambda e, a: _one_hot_shift(e, -1)),
    Hint("the result is transposed: one row per example, one column per class",
         lambda e, a: e.T),
)


def _one_hot_inputs(rng, hidden):
    cases = [(np.array([0, 2, 1, 2]), 5),           # max label 2 < num_classes - 1
             (np.array([1]), 3),
             (np.array([0, 1, 2, 3, 1]), 4),
             (np.array([2, 0, 1], dtype=np.int32), 4),   # another integer dtype
             (np.array([2, 0, 0]), 3)]              # square: a transpose keeps the shape
    if hidden:
        cases += [(rng.integers(0, 5, size=12), 8), (np.zeros(4, dtype=int), 1),
                  (np.array([3, 3, 0, 1, 2, 6]), 7), (np.array([0, 0]), 6)]
    return cases


def _one_hot_shapes(args, got, call):
    y, num_classes = args
    n = np.asarray(y).shape[0]
    try:
        shape = np.shape(got)
    except Exception:
        return
    if got is None:
        return
    top = int(np.max(y)) + 1
    if shape == (n, top) and top != num_classes:
        raise GradingError(f"{call} returned shape {shape}, expected shape {(n, num_classes)}. "
                           "Likely bug: num_classes is ignored (you use the largest label + 1); "
                           "the number of columns must be num_classes even when the largest "
                           "class does not appear in y.")
    if shape == (num_classes, n) and n != num_classes:
        raise GradingError(f"{call} returned shape {shape}, expected shape {(n, num_classes)}. "
                           "It looks transposed: one row per example, one column per class.")


def _one_hot_values(args, got, call):
    arr = as_student_array(got, call)
    if arr.size and not np.isin(arr, (0.0, 1.0)).all():
        raise GradingError(f"{call} returned entries other than 0 and 1. A one-hot row holds a "
                           "single 1 (in the label's column) and zeros elsewhere.")


def check_one_hot(one_hot, hidden=False):
    """one_hot(y, num_classes) -> (n, num_classes) of 0/1 (float or int)."""
    def before(args, got, call):
        _one_hot_shapes(args, got, call)
        _one_hot_values(args, got, call)
    _run("one_hot", one_hot, ref_loss.one_hot,
         _one_hot_inputs(case_rng("one_hot", hidden), hidden),
         hints=_ONE_HOT_HINTS, before=before, rtol=0, atol=0)


# ---------------------------------------------------------------- cross_entropy

def _picked(probs, y):
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y).astype(int)
    return probs[np.arange(len(y)), y]


_CE_HINTS = (
    Hint("off by the batch size: you sum over the examples instead of averaging (use np.mean)",
         lambda e, a: e * len(a[1])),
    Hint("the sign is flipped: the loss is minus the mean log-probability of the true class",
         lambda e, a: -e),
    Hint("you index probs[:, y], which picks whole columns (an (n, n) grid); take one entry "
         "per row with probs[np.arange(n), y]",
         lambda e, a: -np.mean(np.log(np.asarray(a[0], float)[:, np.asarray(a[1]).astype(int)]))),
    Hint("you average over all n * k entries of one_hot * log(probs); sum over the classes and "
         "average over the examples only", lambda e, a: e / np.shape(a[0])[1]),
    Hint("you use log(1 - p) or the wrong probabilities: take -log of the probability of each "
         "example's true class",
         lambda e, a: -np.mean(np.log(1 - _picked(*a)))),
)


#: clipping bounds that correct code uses: [1e-12, 1] as the text suggests, or up to
#: [1e-7, 1 - 1e-7], the convention of well-known libraries (Keras' epsilon)
CLIP_LOW, CLIP_HIGH = 1e-7, 1.0 - 1e-7


def _ce_band(probs, y):
    """(unclipped, widest accepted clipping) mean cross-entropies: every correct answer between."""
    picked = _picked(probs, y)
    with np.errstate(divide="ignore"):
        lowest = float(-np.mean(np.log(picked)))
    return lowest, float(-np.mean(np.log(np.clip(picked, CLIP_LOW, CLIP_HIGH))))


def _ce_inputs(rng, hidden):
    cases = [(_probs(rng, 4, 3), np.array([0, 2, 1, 2])),
             (_probs(rng, 1, 5), np.array([3])),
             (_probs(rng, 6, 4), _labels(rng, 6, 4)),
             (_probs(rng, 3, 1), np.zeros(3, dtype=int)),
             (_probs(rng, 5, 2), np.array([1, 0, 0, 1, 1]))]
    if hidden:
        cases += [(_probs(rng, 12, 10, scale=3.0), _labels(rng, 12, 10)),
                  (np.full((5, 5), 0.2), np.arange(5)),
                  (_probs(rng, 2, 7), np.array([6, 6]))]
    return cases


def _ce_zero_case():
    probs = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5], [0.1, 0.6, 0.3]])
    return probs, np.array([0, 0, 2, 1])


def _ce_zero(cross_entropy):
    """A zero probability for the true class must give a large, finite loss (clipping)."""
    probs, y = _ce_zero_case()
    call = describe_call("cross_entropy", (probs, y)) + " with a zero probability of the true class"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            got = call_student(cross_entropy, "cross_entropy", (probs, y))
    if got is None:
        compare("cross_entropy", call, got, 0.0)   # the standard 'returned None' message
    try:
        value = float(np.asarray(got, dtype=float))
    except Exception:
        compare("cross_entropy", call, got, 0.0)   # explains what kind of result it is
        raise
    if not np.isfinite(value):
        raise GradingError(f"{call} returned {value}. Likely bug: no clipping: log(0) = -inf. "
                           "Clip the probabilities first, e.g. np.clip(p, 1e-12, 1.0).")
    picked = _picked(probs, y)
    finite_part = -np.log(picked[picked > 0]).sum()
    zero_term = value * len(y) - finite_part     # what the student charges for log(0)
    if not 10.0 <= zero_term <= 750.0:
        raise GradingError(f"{call} is wrong: your value is {value:.6g}. Clip the probabilities "
                           "to a small positive minimum such as 1e-12 (not 0, not a large one) "
                           "and take the mean of -log of the true class's probability.")


def check_cross_entropy(cross_entropy, hidden=False):
    """cross_entropy(probs, y): mean negative log-likelihood, finite for a zero probability."""
    _run("cross_entropy", cross_entropy, ref_loss.cross_entropy,
         _ce_inputs(case_rng("cross_entropy", hidden), hidden), hints=_CE_HINTS,
         then=[lambda: _ce_zero(cross_entropy)], accepted=_ce_band)


# ---------------------------------------------------------------- softmax_cross_entropy_backward

def _onehot_of(a):
    probs = np.asarray(a[0], dtype=float)
    return ref_loss.one_hot(a[1], probs.shape[1])


_BACKWARD_HINTS = (
    Hint("off by the batch size: divide (probs - one_hot) by n, the number of examples "
         "(the loss is a mean)", lambda e, a: e * len(a[1])),
    Hint("off by the batch size: you divide by n twice (or by n * n)",
         lambda e, a: e / len(a[1])),
    Hint("the sign is flipped: the gradient is (probs - one_hot) / n, not (one_hot - probs) / n",
         lambda e, a: -e),
    Hint("you forgot to subtract the one-hot labels: use (probs - one_hot(y, k)) / n",
         lambda e, a: np.asarray(a[0], float) / len(a[1])),
    Hint("you forgot to subtract the one-hot labels and to divide by n",
         lambda e, a: np.asarray(a[0], float)),
    Hint("you divide by the number of classes k instead of the number of examples n",
         lambda e, a: e * len(a[1]) / np.shape(a[0])[1]),
)


def _backward_inputs(rng, hidden):
    cases = [(_probs(rng, 4, 3), np.array([0, 2, 1, 2])),
             (_probs(rng, 1, 5), np.array([4])),
             (_probs(rng, 6, 4), _labels(rng, 6, 4)),
             (_probs(rng, 3, 1), np.zeros(3, dtype=int)),
             (_probs(rng, 5, 2), np.array([1, 0, 0, 1, 1]))]
    if hidden:
        cases += [(_probs(rng, 10, 7, scale=3.0), _labels(rng, 10, 7)),
                  (_probs(rng, 3, 3), np.array([2, 2, 2]))]
    return cases


def _mean_ce_of_logits(Z, y):
    return ref_loss.cross_entropy_from_logits(Z, y)


def _finite_differences(fn, hidden):
    """The student's gradient must match central differences of mean CE(softmax(Z)) w.r.t. Z."""
    rng = case_rng("softmax_cross_entropy_backward_fd", hidden)
    n, k = (5, 4) if not hidden else (8, 6)
    Z = rng.normal(scale=1.5, size=(n, k))
    y = _labels(rng, n, k)
    probs = ref_act.softmax(Z)
    h = 1e-5
    numeric = np.zeros_like(Z)
    for index in np.ndindex(*Z.shape):
        plus, minus = Z.copy(), Z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (_mean_ce_of_logits(plus, y) - _mean_ce_of_logits(minus, y)) / (2 * h)
    call = (describe_call("softmax_cross_entropy_backward", (probs, y))
            + " compared with central finite differences of the mean cross-entropy of "
              "softmax(Z) w.r.t. the logits Z")
    got = call_student(fn, "softmax_cross_entropy_backward", (probs, y))
    compare("softmax_cross_entropy_backward", call, got, numeric, rtol=1e-4, atol=1e-7,
            hints=_BACKWARD_HINTS, args=(probs, y))


def check_softmax_cross_entropy_backward(softmax_cross_entropy_backward, hidden=False):
    """softmax_cross_entropy_backward(probs, y) = (probs - one_hot(y)) / n, shape (n, k)."""
    fn = softmax_cross_entropy_backward
    _run("softmax_cross_entropy_backward", fn, ref_loss.softmax_cross_entropy_backward,
         _backward_inputs(case_rng("softmax_cross_entropy_backward", hidden), hidden),
         hints=_BACKWARD_HINTS, then=[lambda: _finite_differences(fn, hidden)])


# ---------------------------------------------------------------- kaiming_init

def _draw(fn, fan_in, fan_out, seed):
    call = f"kaiming_init({fan_in}, {fan_out}, rng=np.random.default_rng({seed}))"
    got = call_student(fn, "kaiming_init", (fan_in, fan_out, np.random.default_rng(seed)),
                       call=call)
    arr = as_student_array(got, call)
    if arr.shape != (fan_in, fan_out):
        extra = ""
        if arr.shape == (fan_out, fan_in):
            extra = " It looks transposed: one row per input (fan_in), one column per output."
        raise GradingError(f"{call} returned shape {arr.shape}, expected shape "
                           f"{(fan_in, fan_out)}.{extra}")
    if not np.isfinite(arr).all():
        raise GradingError(f"{call} returned a value that is not finite (nan or inf).")
    return arr, call


def _kaiming_scale(fn, fan_in, fan_out, seed):
    W, call = _draw(fn, fan_in, fan_out, seed)
    _he_scale(W, fan_in, call + " (a large draw)")


def _he_scale(W, fan_in, call, tol=0.03):
    """Raise unless the entries of W look like draws of N(0, 2 / fan_in) (W has >= ~10^4 entries)."""
    fan_out = W.shape[1]
    target = np.sqrt(2.0 / fan_in)
    centred = W - W.mean()
    std = float(np.sqrt(np.mean(centred ** 2)))
    if std == 0.0:
        raise GradingError(f"{call} returned a constant matrix. Draw random numbers: "
                           "rng.standard_normal((fan_in, fan_out)).")
    kurtosis = float(np.mean(centred ** 4) / std ** 4)
    if kurtosis < 2.4:
        raise GradingError(f"{call}: the entries look uniformly distributed, not normal. "
                           "Likely bug: use rng.standard_normal (or rng.normal), not "
                           "rng.random / rng.uniform.")
    if abs(float(W.mean())) > max(0.1 * target, 6.0 * std / np.sqrt(W.size)):
        raise GradingError(f"{call}: the entries are not centred at 0 (their mean is "
                           f"{float(W.mean()):.4g}). Draw from a normal distribution with mean 0.")
    ratio = std / target
    if abs(ratio - 1.0) <= tol:
        return
    message = (f"{call}: the standard deviation of the entries is {std:.2g}, which is not the "
               "He/Kaiming scale.")
    known = [(np.sqrt(0.5), ("you scale by sqrt(1 / fan_in) (Xavier/LeCun); He/Kaiming for "
                             "ReLU uses sqrt(2 / fan_in)")),
             (np.sqrt(2.0 / fan_in), ("you multiply by 2 / fan_in without taking its square "
                                      "root: use np.sqrt(2 / fan_in)")),
             (np.sqrt(fan_in / fan_out), ("you use fan_out; the scale uses fan_in, the number "
                                          "of inputs: np.sqrt(2 / fan_in)")),
             (np.sqrt(fan_in / (fan_in + fan_out)), ("you use fan_in + fan_out (Glorot); "
                                                     "He/Kaiming uses np.sqrt(2 / fan_in)")),
             (1.0 / target, ("you scale by the plain standard normal: multiply by "
                             "np.sqrt(2 / fan_in)")),
             (0.5 * np.sqrt(fan_in), "you divide by fan_in instead of taking sqrt(2 / fan_in)")]
    for factor, text in known:
        if abs(ratio / factor - 1.0) <= tol:
            message += f" Likely bug: {text}."
            break
    raise GradingError(message)


def check_kaiming_init(kaiming_init, hidden=False):
    """kaiming_init(fan_in, fan_out, rng): shape (fan_in, fan_out), drawn from rng, std sqrt(2/fan_in)."""
    name = "kaiming_init"
    ensure_student_function(kaiming_init, name)
    sizes = [(3, 5), (4, 1), (1, 6), (6, 2)] + ([(7, 7), (2, 9)] if hidden else [])
    count = 0
    for i, (fan_in, fan_out) in enumerate(sizes):
        seed = i + (101 if hidden else 0)
        first, call = _draw(kaiming_init, fan_in, fan_out, seed)
        again, _ = _draw(kaiming_init, fan_in, fan_out, seed)
        if not np.array_equal(first, again):
            raise GradingError(f"{call} gave different weights for two generators with the same "
                               "seed. Draw the numbers from the rng argument "
                               "(rng.standard_normal), not from np.random.")
        other, _ = _draw(kaiming_init, fan_in, fan_out, seed + 1000)
        if fan_in * fan_out > 1 and np.array_equal(first, other):
            raise GradingError(f"{call} gave the same weights for generators with different "
                               "seeds. Draw the numbers from the rng argument, don't create "
                               "your own generator.")
        count += 3
    big = (400, 100) if not hidden else (250, 160)
    _kaiming_scale(kaiming_init, *big, seed=7 + (101 if hidden else 0))
    passed(name, count + 1)
