"""The machinery behind every check: call the student's function safely, compare
its answer with nnlib's reference, and explain a mismatch without revealing
the expected values.

A check raises :class:`GradingError` (an ``AssertionError``) whose message names
the function, the inputs (by shape), the worst entry and, when a known mistake
explains the answer, the likely bug. Jupyter shows it as a short message rather
than a traceback into this module.
"""
import copy
import hashlib
import inspect
import numbers
import os
import signal
import sys
import threading
import types
from contextlib import contextmanager, nullcontext

import numpy as np

#: seconds one call of a student's function may take before it is stopped
CALL_TIME_LIMIT = 20


class GradingError(AssertionError):
    """A failed check. Jupyter/IPython prints only the message, never our internals."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class _Timeout(BaseException):
    """Raised inside a student's function when it runs past the time limit."""


class _ReferenceCalled(BaseException):
    """Raised inside a student's function when it calls nnlib's reference code."""


#: nnlib functions a graded function may call: what it builds on from earlier chapters.
#: Any other call into nnlib's reference code while the student's code runs fails the check.
BUILDS_ON = {
    "forward": ("dense", "sigmoid", "relu"),
    "neuron_backward": ("sigmoid", "sigmoid_derivative"),
    "backward": ("dense", "sigmoid", "sigmoid_derivative", "relu", "relu_derivative"),
    "train_sgd": ("sigmoid", "neuron_backward", "sgd_step"),
    "fit": ("init_params", "forward", "backward", "binary_cross_entropy",
            "iterate_minibatches", "sgd_step"),
    "predict": ("forward",),
    "Neuron": ("Value",),
    "Layer": ("Value", "Neuron"),
    "MLP": ("Value", "Neuron", "Layer"),
    "softmax_cross_entropy_backward": ("one_hot",),
    "SoftmaxMLP": ("relu", "relu_derivative", "softmax", "one_hot", "cross_entropy",
                   "softmax_cross_entropy_backward", "kaiming_init", "iterate_minibatches"),
}

_NNLIB = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_NOT_REFERENCE = (os.path.join(_NNLIB, "grading") + os.sep, os.path.join(_NNLIB, "__init__.py"))


def _codes(obj):
    """The code objects of a function, or of a class's methods, and of everything nested in them."""
    members = vars(obj).values() if isinstance(obj, type) else [obj]
    functions = []
    for member in members:
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            functions += [f for f in (member.fget, member.fset, member.fdel) if f is not None]
        elif isinstance(member, types.FunctionType):
            functions.append(member)
    found, todo = set(), [f.__code__ for f in functions]
    while todo:
        code = todo.pop()
        found.add(code)
        todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return found


#: name -> nnlib's function, in a kernel of `course grade` whose copy of nnlib holds a stub
#: for ``name`` and whose grader has handed the code over (kernel_side.served)
UNLOCKED = {}

#: the graded names whose allowance applies, innermost last (see ``grading_as``)
_GRADING = []


@contextmanager
def grading_as(name):
    """Apply BUILDS_ON[name] to every student call inside, whatever the call is named.

    A Neuron's check calls the student's Value.backward, say, which may then use
    what a Neuron builds on (nnlib's Value).
    """
    _GRADING.append(name)
    try:
        yield
    finally:
        _GRADING.pop()


#: names of the student calls in progress, innermost last (see ``current_allowance``)
_CALLING = []


def current_allowance():
    """The graded name whose BUILDS_ON applies to the student call in progress, if any.

    A test cell run by `course grade` sends it along with each request to the
    student's kernel, which applies ``own_work_only`` there.
    """
    return _allowance(_CALLING[-1]) if _CALLING else None


def _allowance(name):
    """The graded name whose BUILDS_ON entry applies to a call named ``name``."""
    return _GRADING[-1] if _GRADING else name.split(".")[0]


def _refusal(call, name, function):
    """The failure of a student's ``call`` that ran nnlib's reference ``function``."""
    graded = _allowance(name)
    allowed = BUILDS_ON.get(graded)
    return GradingError(f"{call} calls nnlib's {function}, the reference the grader compares "
                        f"with. Write {graded} with your own code"
                        + (f" (of nnlib it may use {', '.join(allowed)})." if allowed else "."))


@contextmanager
def own_work_only(name):
    """Refuse calls into nnlib's reference code, except what ``name`` builds on, in the block.

    Yields a list that receives the qualified name of any refused function, so a
    student who catches the exception still fails. The watch is a trace function that
    sees each Python call only (a profile function would also see every numpy call and
    every return, and make a student's training loop ten times slower).
    """
    import nnlib
    allowed_names = BUILDS_ON.get(_allowance(name), ())
    allowed = set().union(*(_codes(getattr(nnlib, n)) for n in allowed_names),
                          *(_codes(UNLOCKED[n]) for n in allowed_names if n in UNLOCKED))
    running_allowed = []       # frames of allowed nnlib functions: their own calls are fine
    refused = []

    def leave(frame, event, arg):
        if event == "return" and running_allowed and frame is running_allowed[-1]:
            running_allowed.pop()
        return leave

    def watch(frame, event, arg):
        if event != "call" or running_allowed:
            return None
        code = frame.f_code
        if not code.co_filename.startswith(_NNLIB) or code.co_filename.startswith(_NOT_REFERENCE):
            return None
        if code in allowed:
            running_allowed.append(frame)
            frame.f_trace_lines = False
            return leave
        refused.append(code.co_qualname)
        raise _ReferenceCalled()

    previous = sys.gettrace()
    sys.settrace(watch)
    try:
        yield refused
    finally:
        sys.settrace(previous)


#: non-empty while `course grade` runs a test cell in its own process (``remote``)
_IN_GRADER = []


@contextmanager
def checks_in_grader():
    """The block runs checks in the grader, where no student code runs: there a call of the
    student's is a request, watched by ``own_work_only`` in the student's kernel."""
    _IN_GRADER.append(True)
    try:
        yield
    finally:
        _IN_GRADER.pop()


def _watched(name):
    """``own_work_only(name)`` around a student's call, unless the call is watched in the
    student's kernel (``checks_in_grader``)."""
    return nullcontext([]) if _IN_GRADER else own_work_only(name)


@contextmanager
def time_limit(seconds):
    """Stop the enclosed call after ``seconds`` (main thread on POSIX; elsewhere no limit)."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe(value):
    """A short, answer-free description of one argument: 'array (4, 3)', '2.5', 'list of 3'."""
    if isinstance(value, np.ndarray):
        return f"array {value.shape}" if value.ndim else f"{value.item():.4g}"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Real):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return f"{type_name(value)} of {len(value)}"
    if isinstance(value, dict):
        return "dict with keys " + ", ".join(map(str, value))
    if callable(value):
        return getattr(value, "__name__", "a function")
    return type_name(value)


def describe_call(name, args, kwargs=None):
    """'dense(X=array (4, 3), W=array (3, 5), b=array (5,))' style text for messages."""
    parts = [describe(a) for a in args]
    parts += [f"{k}={describe(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def type_name(value):
    """The name of ``value``'s type; for a student's object kept in its kernel, its own."""
    if getattr(type(value), "_nnlib_remote_kind", None):
        return object.__getattribute__(value, "_type")
    return type(value).__name__


def parameter_names(fn):
    """The names of ``fn``'s parameters, asked of the student's kernel for a function kept
    there (a proxy's own signature is *args, **kwargs); None when there is no signature."""
    try:
        remote, names = _each([fn], "parameters")
        if remote:
            ok = isinstance(names, list) and len(names) == 1 and isinstance(names[0], list)
            return [str(n) for n in names[0]] if ok else None
        return list(inspect.signature(fn).parameters)
    except Exception:  # noqa: BLE001  a builtin without a signature, a student's oddity
        return None


#: characters of a student's source read by a check (an exercise is a few dozen lines)
MAX_SOURCE = 100_000


def source_of(fn):
    """The source text of ``fn``'s definition (inspect.getsource), or None when it cannot be
    read. For a function kept in the student's kernel it is read there, in the same way, so
    a check that looks at it gives the same verdict both ways."""
    try:
        remote, texts = _each([fn], "sources")
        if remote:
            ok = isinstance(texts, list) and len(texts) == 1
            text = texts[0] if ok else None
        else:
            text = inspect.getsource(fn)
    except Exception:  # noqa: BLE001  no source, or whatever the student's object does
        return None
    return text if isinstance(text, str) and len(text) <= MAX_SOURCE else None


def attributes(objects, name):
    """[getattr(o, name) for o in objects], or None when one of them raises (the caller
    then reads them one by one, for its message). For a student's objects kept in its
    kernel (``course grade``) it is one request instead of one per object."""
    objects = list(objects)
    try:
        remote, values = _each(objects, "getattrs", name)
        if not remote:
            return [getattr(o, name) for o in objects]
        return values if isinstance(values, list) and len(values) == len(objects) else None
    except Exception:  # noqa: BLE001  whatever the student's attribute does
        return None


def has_attributes(obj, names):
    """[hasattr(obj, name) for name in names], or None when reading one raises something
    other than AttributeError (the caller then asks one by one). One request in
    ``course grade``."""
    names = list(names)
    try:
        remote, found = _each([obj], "hasattrs", names)
        if not remote:
            return [hasattr(obj, name) for name in names]
        ok = isinstance(found, list) and len(found) == 1 and isinstance(found[0], list) \
            and len(found[0]) == len(names) and all(isinstance(f, bool) for f in found[0])
        return found[0] if ok else None
    except Exception:  # noqa: BLE001  whatever the student's attribute does
        return None


def set_attributes(objects, name, values):
    """setattr(o, name, v) for each pair; False when one of them raises (the caller then
    sets them one by one, for its message). One request in ``course grade``."""
    objects, values = list(objects), list(values)
    try:
        remote, _ = _each(objects, "setattrs", name, values)
        if not remote:
            for o, v in zip(objects, values):
                setattr(o, name, v)
        return True
    except Exception:  # noqa: BLE001  whatever the student's attribute does
        return False


def fill_in_place(arrays, values):
    """arrays[key][...] = values[key] for each key: writes into a student's own arrays
    (a dict of them). One request in ``course grade``; False when one of them raises
    (the caller then writes them one by one, for its message)."""
    values = {key: np.array(value, copy=True) for key, value in values.items()}  # ours stay
    try:
        remote, _ = _each([arrays], "fill", values)
        if not remote:
            for key, value in values.items():
                arrays[key][...] = value
        return True
    except Exception:  # noqa: BLE001  whatever the student's containers do
        return False


def nudged_calls(fn, name, array, entries, steps, args):
    """[[fn(*args) with array[index] moved by step, for step in steps] for index in entries],
    the entry put back after each: finite differences of a student's own function.

    One request for a function and array kept in the student's kernel (``course grade``);
    None anywhere else, or when a call raises, runs past CALL_TIME_LIMIT or changes its
    arguments: the caller then makes the calls one by one, for its messages.
    """
    given = copy.deepcopy(list(args))
    _CALLING.append(name)        # the kernel watches the calls as this graded name's
    try:
        with time_limit(CALL_TIME_LIMIT):
            remote, rows = _each([fn], "nudged", array, [list(i) for i in entries],
                                 list(steps), given)
    except (Exception, _Timeout, _ReferenceCalled):  # noqa: BLE001  whatever it does
        return None
    finally:
        _CALLING.pop()
    shaped = (isinstance(rows, list) and len(rows) == len(entries)
              and all(isinstance(row, list) and len(row) == len(steps) for row in rows))
    if not (remote and shaped and all(map(_same_value, args, given))):
        return None
    return rows


def _each(objects, op, *operands):
    """(True, the answer) of one request for proxies of one kernel, else (False, None)."""
    each = getattr(type(objects[0]), "_nnlib_each", None) if objects else None
    return each(objects, op, *operands) if each else (False, None)


def live(value):
    """``value`` itself, or for a student's object kept in its kernel (``course grade``) a
    twin whose reads return the kernel's own lists, dicts and arrays, so that writing into
    them in place reaches the student's object as it does in a notebook."""
    twin = getattr(type(value), "_nnlib_live", None)
    return twin(value) if twin else value


def is_class(value):
    """A class, here or in the student's kernel (see coursetools.grade.protocol.remote)."""
    return isinstance(value, type) or getattr(type(value), "_nnlib_remote_kind", None) == "class"


def ensure_student_function(fn, name):
    """Fail clearly when ``fn`` is not the student's own callable."""
    if not callable(fn):
        raise GradingError(f"{name} should be a function, but it is a {type_name(fn)}. "
                           f"Did you overwrite it with a value? Re-run the cell that defines {name}.")
    if getattr(fn, "__module__", "") and str(fn.__module__).split(".")[0] == "nnlib":
        raise GradingError(f"{name} is nnlib's reference implementation, not yours. "
                           "Write the function yourself in the exercise cell.")


def ensure_student_class(cls, name):
    """Fail clearly when ``cls`` is not the student's own class (nor built on nnlib's)."""
    if not is_class(cls):
        raise GradingError(f"{name} should be a class, but it is a {type_name(cls)}. "
                           f"Did you overwrite it with a value? Re-run the cell that defines {name}.")
    for base in cls.__mro__:
        if str(getattr(base, "__module__", "")).split(".")[0] == "nnlib":
            what = ("is nnlib's reference implementation, not yours" if base is cls else
                    f"inherits from nnlib's {base.__name__}, the reference implementation")
            raise GradingError(f"{name} {what}. Write the class yourself in the exercise cell.")


def call_student(fn, name, args, kwargs=None, seconds=None, call=None):
    """Call the student's ``fn`` on copies of ``args``; turn any failure into one clear line.

    Returns the student's result. Raises GradingError when the function raises,
    runs too long (``seconds``, by default CALL_TIME_LIMIT as it is at call time),
    or modifies its inputs in place. ``call`` replaces the generated description
    of the call in messages (e.g. "Value(2.0) * Value(-3.0)" for a method).
    """
    if seconds is None:
        seconds = CALL_TIME_LIMIT
    kwargs = kwargs or {}
    call = call or describe_call(name, args, kwargs)
    given = copy.deepcopy(args), copy.deepcopy(kwargs)
    refused = []
    _CALLING.append(name)
    try:
        with time_limit(seconds), _watched(name) as refused:
            result = fn(*given[0], **given[1])
    except _ReferenceCalled as exc:
        refused = refused or list(exc.args)
    except NotImplementedError:
        raise GradingError(f"{name} is not implemented yet: it still raises "
                           "NotImplementedError. Replace that line with your code.") from None
    except _Timeout:
        raise GradingError(f"{call} did not finish within {seconds} s. "
                           "Look for a loop that never ends.") from None
    except GradingError:
        raise
    except Exception as exc:  # the student's bug, reported in one line
        detail = str(exc).strip().splitlines()
        raise GradingError(f"{call} raised {type_name(exc)}"
                           + (f": {detail[0]}" if detail else "")) from None
    finally:
        _CALLING.pop()
    if refused:
        raise _refusal(call, name, refused[0])
    for position, (before, after) in enumerate(zip(args, given[0])):
        if not _same_value(before, after):
            raise GradingError(f"{call} changed its argument number {position + 1} in place. "
                               "Work on a copy (or build a new array) instead of modifying "
                               "the input.")
    return result


def _same_value(a, b):
    if isinstance(a, np.random.Generator):
        return True     # drawing numbers from a passed-in rng is its purpose, not a mutation
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_value, a, b))
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return True


def as_student_number(result, call):
    """Accept a Python or numpy real scalar, a bool, or a 0-d array; return it as float."""
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    if isinstance(result, (numbers.Real, np.bool_)) or (
            isinstance(result, np.ndarray) and result.ndim == 0
            and (np.issubdtype(result.dtype, np.number) or result.dtype == bool)):
        if np.iscomplexobj(result):
            raise GradingError(f"{call} returned a complex number; it should return a real one.")
        return float(result)
    if isinstance(result, np.ndarray):
        raise GradingError(f"{call} returned an array of shape {result.shape}; it should return "
                           "a single number (a float).")
    raise GradingError(f"{call} returned a {type_name(result)}; it should return a number.")


def as_student_tuple(result, call, names):
    """The student's tuple (or list) of ``len(names)`` results, or a failure naming what to return."""
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        kind = (f"a {type_name(result)} of {len(result)}" if isinstance(result, (tuple, list))
                else f"a {type_name(result)}")
        raise GradingError(f"{call} returned {kind}; it should return {len(names)} values: "
                           f"return {', '.join(names)}.")
    return list(result)


def as_student_array(result, call):
    """Accept anything numpy turns into a real numeric array; return it as float64."""
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    try:
        arr = np.asarray(result)
    except Exception:
        arr = None
    if arr is None or arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                                  or arr.dtype == bool):
        raise GradingError(f"{call} returned a {type_name(result)}; it should return a "
                           "numpy array of numbers.")
    if np.iscomplexobj(arr):
        raise GradingError(f"{call} returned complex numbers; it should return real ones.")
    return arr.astype(np.float64)


class Hint:
    """A known mistake: ``wrong(expected, args)`` gives the answer that mistake would produce."""

    def __init__(self, text, wrong):
        self.text, self.wrong = text, wrong

    def explains(self, got, expected, args, rtol, atol):
        try:
            with np.errstate(all="ignore"):
                candidate = np.asarray(self.wrong(expected, args), dtype=np.float64)
        except Exception:
            return False
        if candidate.shape != got.shape:
            return False
        if np.allclose(candidate, expected, rtol=rtol, atol=atol):
            return False  # this "mistake" gives the right answer on these inputs
        return bool(np.allclose(got, candidate, rtol=rtol, atol=atol, equal_nan=True))


#: mistakes worth naming for any numeric answer
SIGN_FLIPPED = Hint("the sign is flipped", lambda e, a: -e)


def compare(name, call, got, expected, *, rtol=1e-6, atol=1e-9, hints=(), args=()):
    """Raise GradingError unless ``got`` matches ``expected`` (shape and values).

    The message gives the shape problem or the worst entry (index and relative
    error) and the first hint that explains ``got``. It never shows ``expected``.
    """
    expected = np.asarray(expected, dtype=np.float64)
    try:
        integer_answer = np.issubdtype(np.asarray(got).dtype, np.integer)
    except Exception:   # not array-like: the conversion below explains what is wrong
        integer_answer = False
    if expected.ndim == 0:
        got = np.asarray(as_student_number(got, call))
    else:
        got = as_student_array(got, call)
    if got.shape != expected.shape:
        raise GradingError(f"{call} returned shape {got.shape}, expected shape {expected.shape}."
                           + _shape_hint(got.shape, expected.shape, hints, got, expected, args,
                                         rtol, atol))
    bad_nonfinite = ~np.isfinite(got) & np.isfinite(expected)
    if bad_nonfinite.any():
        index = _index(np.argwhere(bad_nonfinite)[0], got)
        raise GradingError(f"{call} returned {got[tuple(np.argwhere(bad_nonfinite)[0])]} "
                           f"at {index}, where a finite number is expected. Likely bug: an "
                           "overflow for large inputs (e.g. exp of a large number), or a "
                           "division by zero.")
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not wrong.any():
        return
    with np.errstate(all="ignore"):
        rel = np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), 1e-300)
    rel = np.where(wrong, rel, -1.0)
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.ndim else ()
    where = f" at {_index(worst, got)}" if got.ndim else ""
    count = f" ({int(wrong.sum())} of {wrong.size} entries are wrong)" if got.ndim else ""
    message = (f"{call} is wrong{where}: relative error {float(rel[worst]):.2g}{count}. "
               f"Your value there is {float(got[worst]):.6g}.")
    for hint in hints:
        if hint.explains(got, expected, args, rtol, atol):
            message += f" Likely bug: {hint.text}."
            break
    else:
        if integer_answer and not np.array_equal(expected, np.round(expected)):
            message += (" Likely bug: your result holds integers where fractions are expected "
                        "(an array made from an integer input, e.g. with np.empty_like(z), "
                        "keeps the integer dtype): convert with np.asarray(z, dtype=float).")
    raise GradingError(message)


def _index(index, arr):
    return "index [" + ", ".join(str(int(i)) for i in index) + "]" if arr.ndim else "the result"


def _shape_hint(got_shape, expected_shape, hints, got, expected, args, rtol, atol):
    if got_shape == () and expected_shape != ():
        return " The result lost all its axes: don't squeeze it or reduce it to one number."
    if got_shape == expected_shape[::-1] and len(expected_shape) == 2:
        return " It looks transposed."
    if len(got_shape) == 2 and len(expected_shape) == 1 and got_shape[0] == got_shape[1]:
        return (" A (n, n) result where (n,) is expected usually comes from combining an (n,) "
                "array with an (n, 1) array: numpy broadcasting made a grid.")
    if len(got_shape) == len(expected_shape) + 1 and got_shape[-1] == 1:
        return " You kept an extra axis of length 1: reshape or index it away."
    if len(got_shape) + 1 == len(expected_shape) and expected_shape[-1] == 1:
        return " The result lost its last axis of length 1 (keep it as a column)."
    if np.prod(got_shape) < np.prod(expected_shape):
        return " Did you reduce (sum or average) over an axis that should stay?"
    return ""


def run_cases(name, student_fn, reference_fn, cases, *, rtol=1e-6, atol=1e-9, hints=(),
              extra=None, then=()):
    """Check ``student_fn`` against ``reference_fn`` on every ``(args, kwargs)`` in ``cases``.

    ``extra(args, got, call)`` may add checks of its own to every case, and each
    callable in ``then`` is one more check run afterwards (both raise GradingError).
    Prints one success line once everything has passed.
    """
    ensure_student_function(student_fn, name)
    for args, kwargs in cases:
        call = describe_call(name, args, kwargs)
        got = call_student(student_fn, name, args, kwargs)
        expected = reference_fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        compare(name, call, got, expected, rtol=rtol, atol=atol, hints=hints, args=args)
        if extra is not None:
            extra(args, got, call)
    for check in then:
        check()
    passed(name, len(cases) + len(then))


def expect_raises(name, student_fn, args, exception, why):
    """Fail unless ``student_fn(*args)`` raises ``exception`` (the message says ``why``)."""
    call = describe_call(name, args)
    refused = []
    _CALLING.append(name)
    try:
        with time_limit(CALL_TIME_LIMIT), _watched(name) as refused:
            student_fn(*copy.deepcopy(args))
    except _ReferenceCalled as exc:
        refused = refused or list(exc.args)
    except NotImplementedError:
        raise GradingError(f"{name} is not implemented yet: it still raises "
                           "NotImplementedError.") from None
    except exception:
        return
    except _Timeout:
        raise GradingError(f"{call} did not finish within {CALL_TIME_LIMIT} s.") from None
    except Exception as exc:
        raise GradingError(f"{call} raised {type_name(exc)}, but it should raise "
                           f"{exception.__name__} because {why}.") from None
    finally:
        _CALLING.pop()
    if refused:
        raise _refusal(call, name, refused[0])
    raise GradingError(f"{call} returned normally, but it should raise {exception.__name__} "
                       f"because {why}.")


def passed(name, count):
    print(f"✓ {name}: {count} check{'s' if count != 1 else ''} passed")


#: set by `course grade` from a secret kept in the instructor's grading folder: hidden
#: inputs nobody can compute in advance, the same at every re-grade from that folder
#: the grading folder's secret, set by `course grade`'s grading process (use_grading_secret)
_SECRET = []


def use_grading_secret(secret):
    """Draw the hidden inputs from ``secret`` from now on in this process (None: the fixed
    seeds a student's own Jupyter uses)."""
    _SECRET[:] = [secret] if secret else []


def case_rng(name, hidden):
    """Seeded generator per function; hidden checks use inputs the visible ones never show.

    The visible inputs are fixed (students run those checks themselves). The hidden ones
    come from the grading secret when there is one, else from a fixed seed.
    """
    seed = sum(map(ord, name)) + (7919 if hidden else 0)
    secret = _SECRET[0] if hidden and _SECRET else ""
    if secret:
        digest = hashlib.sha256(f"{secret}:{name}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "big"))
    return np.random.default_rng(seed)
