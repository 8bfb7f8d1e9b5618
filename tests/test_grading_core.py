"""Tests for nnlib.grading.core: calling the student's function safely and diagnosing it."""
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import nnlib
import nnlib.grading.core as core
from nnlib import activations, grading, vectors
from nnlib.grading.core import GradingError, Hint


def one_clear_line(message):
    assert message.strip(), "empty message"
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message, message


def grading_error(fn, *args, match, **kwargs):
    with pytest.raises(AssertionError, match=match) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, GradingError)
    one_clear_line(str(info.value))
    return str(info.value)


# ---------------------------------------------------------------- the package

def test_package_exports_one_check_per_graded_name():
    from coursetools.curriculum import CURRICULUM
    graded = {f"check_{name}" for names in CURRICULUM.values() for name in names}
    checks = set(grading.__all__) - {"GradingError"}
    assert checks <= graded, checks - graded
    assert {f"check_{name}" for name in CURRICULUM["01_dot_product"] + CURRICULUM["02_sigmoid"]} <= checks
    for name in checks:
        assert callable(getattr(grading, name))
    assert grading.GradingError is GradingError


# ---------------------------------------------------------------- GradingError

def test_importing_the_checks_leaves_heavy_libraries_for_later():
    """Every test cell imports nnlib.grading: scikit-learn and scipy (~1 s) load only when a check needs them."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, nnlib.grading; "
                             "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib', 'tqdm') "
                             "if m in sys.modules))"], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_grading_error_is_an_assertion_error():
    assert issubclass(GradingError, AssertionError)
    with pytest.raises(AssertionError):
        raise GradingError("dot(array (3,), array (3,)) is wrong")


def test_render_traceback_is_one_line_with_the_message():
    message = "dense(array (4, 3), array (3, 2), array (2,)) returned None."
    lines = GradingError(message)._render_traceback_()
    assert isinstance(lines, list) and len(lines) == 1
    assert "\n" not in lines[0]
    assert message in lines[0]
    assert re.sub(r"\x1b\[[0-9;]*m", "", lines[0]) == f"GradingError: {message}"


def test_render_traceback_of_a_real_check_failure():
    def dot(x, w):
        return -np.dot(x, w)
    with pytest.raises(GradingError) as info:
        grading.check_dot(dot)
    lines = info.value._render_traceback_()
    assert len(lines) == 1 and str(info.value) in lines[0] and "\n" not in lines[0]


# ---------------------------------------------------------------- whose function is it

@pytest.mark.parametrize("fn", [vectors.dot, vectors.dense, activations.sigmoid,
                                nnlib.vectors.most_similar])
def test_nnlibs_own_function_is_rejected(fn):
    grading_error(core.ensure_student_function, fn, "f",
                  match=r"^f is nnlib's reference implementation, not yours\. Write the "
                        r"function yourself in the exercise cell\.$")


def test_check_rejects_nnlibs_function_before_running_it():
    calls = []

    def dot(x, w):
        calls.append(1)
        return float(np.dot(x, w))
    dot.__module__ = "nnlib.vectors"          # what nnlib's own function object carries
    grading_error(grading.check_dot, dot, match="nnlib's reference implementation")
    assert calls == []


@pytest.mark.parametrize("value, kind", [(3.0, "float"), (None, "NoneType"),
                                         (np.zeros(3), "ndarray"), ("dot", "str")])
def test_non_callable_is_rejected(value, kind):
    grading_error(core.ensure_student_function, value, "dot",
                  match=rf"^dot should be a function, but it is a {kind}\. Did you overwrite it "
                        r"with a value\? Re-run the cell that defines dot\.$")


def test_student_functions_are_accepted():
    def dot(x, w):
        return 0.0
    core.ensure_student_function(dot, "dot")
    core.ensure_student_function(lambda z: z, "relu")
    core.ensure_student_function(np.dot, "dot")      # numpy's, not nnlib's: the values decide


# ---------------------------------------------------------------- calling the student

def test_call_student_returns_the_result_and_passes_copies():
    x = np.arange(3.0)
    seen = []

    def f(a, scale=1.0):
        seen.append(a)
        return a.sum() * scale
    assert core.call_student(f, "f", (x,), {"scale": 2.0}) == 6.0
    assert seen[0] is not x and np.array_equal(seen[0], x)


def test_call_student_not_implemented():
    def f(x):
        raise NotImplementedError()
    grading_error(core.call_student, f, "relu", (np.ones(3),),
                  match=r"^relu is not implemented yet: it still raises NotImplementedError\. "
                        r"Replace that line with your code\.$")


def test_call_student_error_names_exception_and_shapes():
    def f(X, W):
        return X @ W
    message = grading_error(core.call_student, f, "dense", (np.ones((4, 3)), np.ones((2, 5))),
                            match=r"^dense\(array \(4, 3\), array \(2, 5\)\) raised ValueError: "
                                  r"matmul: ")
    assert "core.py" not in message and "line " not in message


def test_call_student_multi_line_exception_is_cut_to_one_line():
    def f(x):
        raise TypeError("bad input\n  File \"<cell>\", line 3\n    more detail")
    grading_error(core.call_student, f, "sigmoid", (np.ones((2, 2)),),
                  match=r"^sigmoid\(array \(2, 2\)\) raised TypeError: bad input$")


def test_call_student_exception_without_message():
    def f(x):
        raise KeyError
    grading_error(core.call_student, f, "relu", (np.ones(2),),
                  match=r"^relu\(array \(2,\)\) raised KeyError$")


@pytest.mark.parametrize("args, mutate, position", [
    ((np.ones(3), np.ones(3)), lambda x, w: w.__setitem__(0, 5.0), 2),
    (([1.0, 2.0], [3.0, 4.0]), lambda x, w: x.append(0.0), 1),
    ((np.ones((2, 2)),), lambda X: X.__imul__(2), 1),
    (({"W1": np.ones(2)},), lambda p: p["W1"].__iadd__(1), 1),
    ((np.array([1.0, np.nan]),), lambda z: z.__setitem__(0, 2.0), 1),
])
def test_call_student_detects_in_place_changes(args, mutate, position):
    def f(*a):
        mutate(*a)
        return 0.0
    grading_error(core.call_student, f, "f", args,
                  match=rf"changed its argument number {position} in place\. Work on a copy")


def test_call_student_nan_input_left_alone_is_not_a_change():
    args = (np.array([np.nan, 1.0]), float("nan"))
    assert core.call_student(lambda z, c: 1.0, "f", args) == 1.0


def test_call_student_lets_the_student_draw_from_a_generator_argument():
    rng = np.random.default_rng(3)
    draw = core.call_student(lambda n, g: g.normal(size=n), "f", (2, rng))
    assert draw.shape == (2,)
    assert np.array_equal(rng.normal(size=2), draw)     # the caller's rng did not move


def test_call_student_describes_the_call_as_told():
    grading_error(core.call_student, lambda: 1 / 0, "Value.__truediv__", (),
                  call="Value(1.0) / Value(0.0)",
                  match=r"^Value\(1\.0\) / Value\(0\.0\) raised ZeroDivisionError: division by zero$")


def test_ensure_student_class():
    class Value:
        pass
    core.ensure_student_class(Value, "Value")
    grading_error(core.ensure_student_class, lambda: 0, "Value",
                  match=r"^Value should be a class, but it is a function\. Did you overwrite it")
    import nnlib
    grading_error(core.ensure_student_class, nnlib.Value, "Value",
                  match=r"^Value is nnlib's reference implementation, not yours")


def test_call_student_time_limit_follows_call_time_limit(monkeypatch):
    # regression: the default used to be bound when the module was imported, so changing
    # CALL_TIME_LIMIT (as an autograder config or these tests do) had no effect
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.2)

    def f(x, w):
        while True:
            pass
    grading_error(core.call_student, f, "dot", (np.ones(3), np.ones(3)),
                  match=r"^dot\(array \(3,\), array \(3,\)\) did not finish within 0\.2 s\. "
                        r"Look for a loop that never ends\.$")


def test_call_student_explicit_seconds():
    def f():
        while True:
            pass
    grading_error(core.call_student, f, "f", (), seconds=0.1, match="did not finish within 0.1 s")


def test_endless_loop_that_catches_exceptions_is_still_stopped():
    def f(x):
        while True:
            try:
                x = x + 1
            except Exception:      # a student's broad except must not swallow the time limit
                pass
    grading_error(core.call_student, f, "f", (0,), seconds=0.1, match="did not finish")


def test_time_limit_restores_the_alarm():
    before = signal.getsignal(signal.SIGALRM)
    with core.time_limit(5):
        assert signal.getsignal(signal.SIGALRM) is not before
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_time_limit_outside_the_main_thread_is_a_no_op():
    result = []

    def run():
        with core.time_limit(0.01):
            result.append(sum(range(10)))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert result == [45]


# ---------------------------------------------------------------- describing inputs

@pytest.mark.parametrize("value, text", [
    (np.ones((4, 3)), "array (4, 3)"), (np.array(2.5), "2.5"), (True, "True"),
    (0.123456789, "0.1235"), (3, "3"), ([1, 2, 3], "list of 3"), ((1, 2), "tuple of 2"),
    ({"W1": 1, "b1": 2}, "dict with keys W1, b1"), (print, "print"), ("abc", "str"),
])
def test_describe(value, text):
    assert core.describe(value) == text


def test_describe_call():
    assert (core.describe_call("dense", (np.ones((4, 3)), np.ones((3, 2))), {"b": np.ones(2)})
            == "dense(array (4, 3), array (3, 2), b=array (2,))")


# ---------------------------------------------------------------- reading the answer

@pytest.mark.parametrize("value", [1.5, np.float64(1.5), np.float32(1.5), np.array(1.5), 3,
                                   np.int64(3), True, np.bool_(False), np.array(True)])
def test_as_student_number_accepts_real_scalars(value):
    out = core.as_student_number(value, "f()")
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize("value, match", [
    (None, r"^f\(\) returned None\. Did you forget the `return` statement\?$"),
    (np.ones(1), r"returned an array of shape \(1,\); it should return a single number"),
    ("0.5", r"returned a str; it should return a number"),
    (["0.5"], r"returned a list; it should return a number"),
    (1 + 2j, r"returned a complex"),
    (np.array(1j), r"returned a complex number; it should return a real one"),
])
def test_as_student_number_rejects(value, match):
    grading_error(core.as_student_number, value, "f()", match=match)


@pytest.mark.parametrize("value", [[1, 2], np.array([True, False]), np.arange(3),
                                   np.float32([1.5]), (0.5, 0.25)])
def test_as_student_array_accepts_numbers(value):
    out = core.as_student_array(value, "f()")
    assert out.dtype == np.float64 and np.array_equal(out, np.asarray(value, dtype=float))


@pytest.mark.parametrize("value, match", [
    (None, r"returned None\. Did you forget the `return` statement\?"),
    (["0.1", "0.2"], r"returned a list; it should return a numpy array of numbers"),
    ([[1.0], [1.0, 2.0]], r"returned a list; it should return a numpy array of numbers"),
    (np.array([1, "a"], dtype=object), r"returned a ndarray; it should return a numpy array"),
    (np.array([1j]), r"returned complex numbers; it should return real ones"),
])
def test_as_student_array_rejects(value, match):
    grading_error(core.as_student_array, value, "f()", match=match)


# ---------------------------------------------------------------- comparing

def test_compare_passes_within_tolerance():
    core.compare("f", "f()", np.array([1.0, 2.0 + 1e-9]), np.array([1.0, 2.0]))
    core.compare("f", "f()", 0.1 + 0.2, 0.3)


def test_compare_names_worst_entry_count_and_the_students_value_only():
    expected = np.array([[0.2718281828, 1.4142135623], [3.1415926535, 2.2360679775]])
    got = expected.copy()
    got[1, 0] = 7.77777
    got[0, 1] = 1.4142135623 * 1.01
    message = grading_error(core.compare, "f", "f(array (2, 2))", got, expected,
                            match=r"^f\(array \(2, 2\)\) is wrong at index \[1, 0\]: relative "
                                  r"error 0\.42 \(2 of 4 entries are wrong\)\. Your value there "
                                  r"is 7\.77777\.$")
    for value in expected.ravel():
        for text in (f"{value:.6g}", f"{value:.4g}", repr(value)):
            assert text not in message


def test_compare_scalar():
    grading_error(core.compare, "dot", "dot(array (3,), array (3,))", 2.5, 1.2345678,
                  match=r"^dot\(array \(3,\), array \(3,\)\) is wrong: relative error 0\.34\. "
                        r"Your value there is 2\.5\.$")


@pytest.mark.parametrize("got_shape, expected_shape, match", [
    ((3, 5), (5, 3), r"returned shape \(3, 5\), expected shape \(5, 3\)\. It looks transposed\.$"),
    ((4, 4), (4,), r"usually comes from combining an \(n,\) array with an \(n, 1\) array"),
    ((6, 1), (6,), r"You kept an extra axis of length 1: reshape or index it away\.$"),
    ((6,), (6, 1), r"The result lost its last axis of length 1 \(keep it as a column\)\.$"),
    ((3,), (4, 3), r"Did you reduce \(sum or average\) over an axis that should stay\?$"),
    ((5, 3), (4, 3), r"returned shape \(5, 3\), expected shape \(4, 3\)\.$"),
])
def test_compare_shape_messages(got_shape, expected_shape, match):
    grading_error(core.compare, "f", "f()", np.ones(got_shape), np.zeros(expected_shape),
                  match=match)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_compare_non_finite(bad):
    got = np.array([0.5, bad, 0.25])
    grading_error(core.compare, "sigmoid", "sigmoid(array (3,))", got, np.full(3, 0.4),
                  match=rf"^sigmoid\(array \(3,\)\) returned {bad} at index \[1\], where a "
                        r"finite number is expected\. Likely bug: an overflow")


def test_compare_non_finite_scalar():
    grading_error(core.compare, "dot", "dot()", float("nan"), 1.0,
                  match=r"^dot\(\) returned nan at the result, where a finite number")


def test_compare_hints_first_matching_and_skips_mistakes_that_are_right_here():
    expected = np.array([1.0, -2.0, 3.0])
    args = (np.array([1.0, 2.0, 3.0]),)
    no_op = Hint("a mistake that gives the right answer", lambda e, a: e)
    broken = Hint("a hint that crashes", lambda e, a: 1 / 0)
    doubled = Hint("doubled", lambda e, a: 2 * e)
    hints = (no_op, broken, core.SIGN_FLIPPED, doubled)
    grading_error(core.compare, "f", "f()", -expected, expected, hints=hints, args=args,
                  match=r"Likely bug: the sign is flipped\.$")
    grading_error(core.compare, "f", "f()", 2 * expected, expected, hints=hints, args=args,
                  match=r"Likely bug: doubled\.$")
    message = grading_error(core.compare, "f", "f()", expected + 1, expected, hints=hints,
                            args=args, match=r"Your value there is [\d.]+\.$")
    assert "Likely bug" not in message


def test_hint_with_other_shape_does_not_explain():
    hint = Hint("summed", lambda e, a: np.sum(e))
    assert not hint.explains(np.ones(3), np.zeros(3), (), 1e-6, 1e-9)


# ---------------------------------------------------------------- running cases

def test_run_cases_prints_one_success_line(capsys):
    def f(x):
        return 2 * x
    cases = [((np.ones(3),), {}), ((np.arange(4.0),), {})]
    core.run_cases("double", f, lambda x: 2 * x, cases)
    assert capsys.readouterr().out == "✓ double: 2 checks passed\n"
    core.run_cases("double", f, lambda x: 2 * x, cases[:1])
    assert capsys.readouterr().out == "✓ double: 1 check passed\n"


def test_run_cases_extra_check_and_reference_gets_copies(capsys):
    seen = []

    def reference(x):
        x[0] = 99.0                       # a careless reference must not affect the student
        return x

    def student(x):
        seen.append(x.copy())
        x = x.copy()
        x[0] = 99.0
        return x

    def extra(args, got, call):
        raise GradingError(f"{call}: extra check failed")
    core.run_cases("f", student, reference, [((np.zeros(2),), {})])
    assert np.array_equal(seen[0], np.zeros(2))
    grading_error(core.run_cases, "f", student, reference, [((np.zeros(2),), {})], extra=extra,
                  match=r"^f\(array \(2,\)\): extra check failed$")
    assert capsys.readouterr().out == "✓ f: 1 check passed\n"


def test_run_cases_does_not_print_on_failure(capsys):
    with pytest.raises(GradingError):
        core.run_cases("f", lambda x: x + 1, lambda x: x, [((np.ones(2),), {})])
    assert "✓" not in capsys.readouterr().out


# ---------------------------------------------------------------- expecting an exception

def test_expect_raises_paths(monkeypatch):
    def raises_value_error(x, w):
        raise ValueError("lengths differ")

    def returns(x, w):
        return 0.0

    def raises_index_error(x, w):
        return x[len(w)]

    def stub(x, w):
        raise NotImplementedError

    def endless(x, w):
        while True:
            pass
    args = (np.ones(3), np.ones(4))
    core.expect_raises("dot_loop", raises_value_error, args, ValueError, "they differ")
    grading_error(core.expect_raises, "dot_loop", returns, args, ValueError, "they differ",
                  match=r"^dot_loop\(array \(3,\), array \(4,\)\) returned normally, but it "
                        r"should raise ValueError because they differ\.$")
    grading_error(core.expect_raises, "dot_loop", raises_index_error, args, ValueError,
                  "they differ", match=r"raised IndexError, but it should raise ValueError "
                                       r"because they differ\.$")
    grading_error(core.expect_raises, "dot_loop", stub, args, ValueError, "they differ",
                  match=r"^dot_loop is not implemented yet")
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.2)
    grading_error(core.expect_raises, "dot_loop", endless, args, ValueError, "they differ",
                  match=r"did not finish within 0\.2 s")


def test_expect_raises_passes_copies():
    x = np.ones(3)

    def f(a, b):
        a[0] = 5.0
        raise ValueError
    core.expect_raises("f", f, (x, np.ones(2)), ValueError, "why")
    assert x[0] == 1.0


# ---------------------------------------------------------------- seeds

def test_case_rng_is_deterministic_and_hidden_differs():
    a = core.case_rng("dot", False).normal(size=3)
    assert np.array_equal(a, core.case_rng("dot", False).normal(size=3))
    assert not np.array_equal(a, core.case_rng("dot", True).normal(size=3))
    assert not np.array_equal(a, core.case_rng("dense", False).normal(size=3))


# ---------------------------------------------------------------- nnlib's own code refused

def test_own_work_only_allows_what_the_function_builds_on_and_nothing_else():
    import nnlib
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)

    def fit_like(X, y):   # a generator nnlib returns runs later, from the student's loop
        batches = nnlib.iterate_minibatches(X, y, 4, np.random.default_rng(0))
        return sum(len(yb) for _, yb in batches)
    assert core.call_student(fit_like, "fit", (X, y)) == 6

    def borrows(X, y):
        return nnlib.accuracy(y, y)
    grading_error(core.call_student, borrows, "fit", (X, y),
                  match=r"^fit\(array \(6, 2\), array \(6,\)\) calls nnlib's accuracy, the "
                        r"reference the grader compares with\. Write fit with your own code "
                        r"\(of nnlib it may use init_params, forward, backward, ")


def test_own_work_only_restores_the_previous_profiler():
    import sys
    calls = []

    def profiler(frame, event, arg):
        calls.append(event)
    sys.setprofile(profiler)
    try:
        core.call_student(lambda x: x + 1, "dot", (1.0,))
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


def test_a_method_name_uses_the_class_allowance():
    import nnlib
    Z = np.array([[1.0, 2.0]])
    got = core.call_student(lambda Z: nnlib.softmax(Z), "SoftmaxMLP.loss", (Z,))
    assert np.allclose(got.sum(), 1.0)


def test_hidden_inputs_come_from_the_grading_secret(monkeypatch):
    """Visible inputs never change; hidden ones follow the secret of the grading folder."""
    def draws(name, hidden):
        return core.case_rng(name, hidden).random(3)
    monkeypatch.setattr(core, "_SECRET", [])
    visible, fixed = draws("dense", False), draws("dense", True)
    core.use_grading_secret("one")
    first = draws("dense", True)
    assert np.array_equal(draws("dense", False), visible)
    assert not np.array_equal(first, fixed)
    assert np.array_equal(draws("dense", True), first), "the same secret, the same inputs"
    assert not np.array_equal(draws("dot", True), first), "each check its own stream"
    core.use_grading_secret("two")
    assert not np.array_equal(draws("dense", True), first)
    core.use_grading_secret(None)
    assert np.array_equal(draws("dense", True), fixed)

