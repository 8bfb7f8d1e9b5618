"""Check for chapter 4 (04_forward): load_and_split.

The student's ``load_and_split(test_size=0.2, random_state=0)`` returns
(X_train, X_test, y_train, y_test) for scikit-learn's breast-cancer set, split
with train_test_split and standardised by a StandardScaler fitted on the
training rows only. The split may be stratified or not (both are
train_test_split with that random_state); everything else must match.

To tell a wrong split from wrong scaling, rows are recognised whatever the
per-column scaling: an array is matched against raw rows after standardising
both by their own column statistics.
"""
import functools

import numpy as np

from nnlib.grading.core import (
    GradingError,
    Hint,
    as_student_array,
    as_student_tuple,
    call_student,
    compare,
    ensure_student_function,
    passed,
)

NAME = "load_and_split"
ORDER = ("X_train", "X_test", "y_train", "y_test")
RETURN_TEXT = f"return {', '.join(ORDER)} (the order train_test_split gives)"


@functools.lru_cache(maxsize=1)
def _raw():
    from sklearn.datasets import load_breast_cancer  # here: scikit-learn takes ~1 s to import

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X.astype(np.float64), y.astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@functools.lru_cache(maxsize=64)
def _split(test_size, random_state, stratify):
    """(train rows, test rows) as train_test_split orders them."""
    X, y = _raw()
    rows = np.arange(X.shape[0])
    from sklearn.model_selection import train_test_split  # lazily, as in _raw

    train, test = train_test_split(rows, test_size=test_size, random_state=random_state,
                                   stratify=y if stratify else None)
    return train, test


def _own_z(A):
    """Each column standardised by its own mean and std: blind to any per-column scaling."""
    with np.errstate(all="ignore"):
        return (A - A.mean(axis=0)) / A.std(axis=0)


def _same_rows(got, rows):
    """Does ``got`` hold raw ``rows`` (in that order), scaled column by column somehow?"""
    X, _ = _raw()
    if got.shape != (len(rows), X.shape[1]):
        return False
    return bool(np.allclose(_own_z(got), _own_z(X[rows]), rtol=1e-5, atol=1e-6))


# ---------------------------------------------------------------- what a split should hold

def _standardise(rows, fit_rows, ddof=0):
    X, _ = _raw()
    return (X[rows] - X[fit_rows].mean(axis=0)) / X[fit_rows].std(axis=0, ddof=ddof)


def _min_max(rows, fit_rows):
    X, _ = _raw()
    low, high = X[fit_rows].min(axis=0), X[fit_rows].max(axis=0)
    return (X[rows] - low) / (high - low)


def _all_rows():
    return np.arange(_raw()[0].shape[0])


LEAK = ("the scaler is fitted on all rows before splitting, so statistics of the test rows "
        "leak into training: split first, then fit the StandardScaler on X_train only")
DDOF = ("you divide by the sample standard deviation (ddof=1, the default of pandas' .std()); "
        "StandardScaler uses ddof=0 (np.std's default)")
MIN_MAX = ("you scale to [0, 1] (min-max); standardise instead: mean 0 and standard deviation 1 "
           "per column, as StandardScaler does")


def _x_hints(which):
    """Hints for X_train (which=0) or X_test (which=1); args are (train rows, test rows)."""
    def mine(a):
        return a[which]
    hints = [
        Hint(f"{ORDER[which]} is not standardised: fit a StandardScaler on X_train and apply "
             "scaler.transform to both X_train and X_test",
             lambda e, a: _raw()[0][mine(a)]),
        Hint(LEAK, lambda e, a: _standardise(mine(a), _all_rows())),
        Hint(DDOF, lambda e, a: _standardise(mine(a), a[0], ddof=1)),
        Hint(MIN_MAX, lambda e, a: _min_max(mine(a), a[0])),
    ]
    if which == 1:
        hints[1:1] = [Hint("the scaler is fitted again on the test set (fit_transform on "
                           "X_test); transform X_test with the scaler fitted on X_train",
                           lambda e, a: _standardise(a[1], a[1])),
                      Hint("the scaler is fitted on the test set; fit it on X_train",
                           lambda e, a: _standardise(a[1], a[1], ddof=1))]
    return tuple(hints)


def _y_hints():
    return (
        Hint("the labels are flipped (1 - y): keep the data set's own 0/1 labels",
             lambda e, a: 1 - e),
        Hint("the labels are changed to -1/+1: keep the data set's own 0/1 labels",
             lambda e, a: 2 * e - 1),
        Hint("the labels are standardised too: scale only X and keep y as 0/1 labels",
             lambda e, a: (e - e.mean()) / e.std()),
        Hint("the labels are standardised with the training rows' statistics: scale only X "
             "and keep y as 0/1 labels",
             lambda e, a: (e - _raw()[1][a[0]].mean()) / _raw()[1][a[0]].std()),
    )


# ---------------------------------------------------------------- reading the student's answer

def _call_text(default, test_size, random_state):
    if default:
        return f"{NAME}()"
    return f"{NAME}(test_size={test_size}, random_state={random_state})"


def _shape_of(item):
    try:
        return tuple(np.shape(item))
    except Exception:   # noqa: BLE001 - ragged or exotic: the conversion explains it later
        return None


def _check_order(items, call, n_train, n_test):
    """Name the order the student used when the shapes show the four arrays are permuted."""
    width = _raw()[0].shape[1]
    wanted = {("X", n_train): "X_train", ("X", n_test): "X_test",
              ("y", n_train): "y_train", ("y", n_test): "y_test"}
    if len(wanted) != 4:        # train and test of the same size: shapes cannot tell
        return
    names = []
    for item in items:
        shape = _shape_of(item)
        if shape is None or not shape:
            return
        if len(shape) == 2 and shape[1] == width:
            kind = "X"
        elif len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
            kind = "y"
        else:
            return
        names.append(wanted.get((kind, shape[0])))
    if None in names or sorted(names) != sorted(ORDER) or tuple(names) == ORDER:
        return
    raise GradingError(f"{call} returns the arrays in the order {', '.join(names)} (judging by "
                       f"their shapes); {RETURN_TEXT}.")


def _as_x(item, call, which, want_rows, test_size, default):
    text = f"{call}[{which}] ({ORDER[which]})"
    try:
        dtype = np.asarray(item).dtype
    except Exception:   # noqa: BLE001 - as_student_array gives the message
        dtype = None
    X = as_student_array(item, text)
    if dtype is not None and dtype != np.float64:
        if np.issubdtype(dtype, np.floating):
            raise GradingError(f"{text} has dtype {dtype}; keep the features as float64 "
                               "(don't convert them to a smaller float type).")
        raise GradingError(f"{text} has dtype {dtype}; the features must be float64 numbers "
                           "(don't convert them to integers or booleans).")
    width = _raw()[0].shape[1]
    want = (want_rows, width)
    if X.shape == want:
        return X
    message = f"{text} has shape {X.shape}, expected {want}."
    if X.ndim == 2 and X.shape[1] == width:
        default_rows = len(_split(0.2, 0, True)[which])
        if default:
            message += (" With no arguments the split must use the defaults test_size=0.2 "
                        "and random_state=0.")
        elif X.shape[0] == default_rows:
            message += (" Likely bug: test_size is ignored (your split looks like "
                        "test_size=0.2); pass test_size=test_size to train_test_split.")
        elif X.shape[0] == len(_split(test_size, 0, True)[1 - which]):
            message += " Likely bug: train and test are swapped (train_size instead of test_size?)."
    elif X.ndim == 2 and X.shape == want[::-1]:
        message += " It looks transposed: one row per example, one column per feature."
    raise GradingError(message)


def _as_y(item, call, which, want_rows):
    text = f"{call}[{which}] ({ORDER[which]})"
    y = as_student_array(item, text)
    if y.shape == (want_rows,):
        return y
    message = f"{text} has shape {y.shape}, expected ({want_rows},)."
    if y.shape == (want_rows, 1):
        message += (" The labels should be a 1-D array, not a column: return y as it comes "
                    "from train_test_split (or use .ravel()).")
    raise GradingError(message)


# ---------------------------------------------------------------- which rows did the student pick?

def _identify(X_train, X_test, call, fn, args, test_size, random_state, default):
    """The (train, test) rows of the accepted split the student used, or a diagnosis."""
    for stratify in (True, False):
        train, test = _split(test_size, random_state, stratify)
        if _same_rows(X_train, train):
            if not _same_rows(X_test, test):
                raise GradingError(f"{call}[1] (X_test) does not hold the rows train_test_split "
                                   "puts in the test set, although X_train holds the right "
                                   "training rows. Take X_test from the same train_test_split "
                                   "call.")
            return train, test
    n_train = X_train.shape[0]
    if _same_rows(X_train, np.arange(n_train)):
        raise GradingError(f"{call}[0] (X_train) holds the first {n_train} rows of the data set "
                           "in their original order. Likely bug: the rows are not shuffled "
                           "(shuffle=False or slicing); split with train_test_split(..., "
                           "random_state=random_state).")
    for other in (0, 42, 1, 123, 2, 7):
        if other == random_state:
            continue
        for stratify in (True, False):
            if _same_rows(X_train, _split(test_size, other, stratify)[0]):
                if default:
                    raise GradingError(f"{call} (no arguments) splits with random_state="
                                       f"{other}; the default must be random_state=0, and "
                                       "the random_state argument must reach "
                                       "train_test_split.")
                raise GradingError(f"{call}[0] (X_train) holds the rows of the split with "
                                   f"random_state={other}. Likely bug: random_state is "
                                   "ignored; pass random_state=random_state to "
                                   "train_test_split.")
    again = as_student_tuple(call_student(fn, NAME, args, call=call), call, ORDER)
    again_X = np.asarray(again[0], dtype=np.float64) if _shape_of(again[0]) == X_train.shape \
        else None
    if again_X is None or not np.allclose(again_X, X_train, equal_nan=True):
        raise GradingError(f"{call} gives a different split each time it is called. Likely "
                           "bug: random_state does not reach train_test_split (or the rows are "
                           "shuffled with unseeded random numbers); pass "
                           "random_state=random_state.")
    raise GradingError(f"{call}[0] (X_train) does not hold the rows that train_test_split(X, y, "
                       f"test_size={test_size}, random_state={random_state}) puts in the "
                       "training set. Likely bug: the rows are shuffled another way (e.g. "
                       "np.random.permutation or DataFrame.sample); split with "
                       "train_test_split and pass it random_state.")


def _check_labels(got, expected, text, rows):
    if np.array_equal(got, expected):
        return
    labels = np.isin(got, (0.0, 1.0)).all()
    if not labels or np.array_equal(got, 1 - expected):
        compare(NAME, text, got, expected, hints=_y_hints(), args=rows)
    wrong = int(np.sum(got != expected))
    raise GradingError(f"{text}: {wrong} of {got.size} labels do not belong to the rows of the "
                       "matching X array. Likely bug: y is split or shuffled separately from X; "
                       "pass X and y to the same train_test_split call.")


# ---------------------------------------------------------------- the check

def _cases(hidden):
    cases = [(True, 0.2, 0), (False, 0.3, 7), (False, 0.25, 42)]
    if hidden:
        cases += [(False, 0.1, 3), (False, 0.4, 123), (False, 0.15, np.int64(2024)),
                  (False, 0.2, 5)]
    return cases


def check_load_and_split(load_and_split, hidden=False):
    """load_and_split(test_size=0.2, random_state=0) -> (X_train, X_test, y_train, y_test)."""
    ensure_student_function(load_and_split, NAME)
    _, y_all = _raw()
    cases = _cases(hidden)
    for default, test_size, random_state in cases:
        args = () if default else (test_size, random_state)
        call = _call_text(default, test_size, random_state)
        items = as_student_tuple(call_student(load_and_split, NAME, args, call=call), call, ORDER)
        n_train, n_test = (len(rows) for rows in _split(test_size, random_state, True))
        _check_order(items, call, n_train, n_test)
        X_train = _as_x(items[0], call, 0, n_train, test_size, default)
        X_test = _as_x(items[1], call, 1, n_test, test_size, default)
        y_train = _as_y(items[2], call, 2, n_train)
        y_test = _as_y(items[3], call, 3, n_test)
        rows = _identify(X_train, X_test, call, load_and_split, args, test_size, random_state,
                         default)
        train, test = rows
        compare(NAME, f"{call}[0] (X_train)", X_train, _standardise(train, train),
                rtol=1e-6, atol=1e-8, hints=_x_hints(0), args=rows)
        compare(NAME, f"{call}[1] (X_test)", X_test, _standardise(test, train),
                rtol=1e-6, atol=1e-8, hints=_x_hints(1), args=rows)
        for which, got, part in ((2, y_train, train), (3, y_test, test)):
            _check_labels(got, y_all[part], f"{call}[{which}] ({ORDER[which]})", rows)
    passed(NAME, len(cases))
