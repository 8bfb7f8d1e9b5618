"""Tests for nnlib.grading.chain_rule: the chapter 3 checks (03_chain_rule).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, assert_no_leak, failure, passes, recording, wrong

from nnlib import chain_rule as ref_chain
from nnlib import gradcheck as ref
from nnlib.grading import chain_rule as checks

# ---------------------------------------------------------------- numerical_derivative

def numerical_derivative_central(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_derivative_halves(f, x, h=1e-5):
    return 0.5 * (f(x + h) - f(x - h)) / h


def numerical_derivative_floats(f, x, h=1e-5):
    x = float(x)
    return float(f(x + h) - f(x - h)) / 2 / h


@HIDDEN
@pytest.mark.parametrize("fn", [numerical_derivative_central, numerical_derivative_halves,
                                numerical_derivative_floats])
def test_numerical_derivative_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_numerical_derivative, fn, hidden, capsys, "numerical_derivative")


def numerical_derivative_forward(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h


def numerical_derivative_backward(f, x, h=1e-5):
    return (f(x) - f(x - h)) / h


def numerical_derivative_over_h(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h


def numerical_derivative_precedence(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / 2 * h


def numerical_derivative_fixed_h(f, x, h=1e-5):
    return (f(x + 1e-5) - f(x - 1e-5)) / 2e-5


def numerical_derivative_sign(f, x, h=1e-5):
    return (f(x - h) - f(x + h)) / (2 * h)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (numerical_derivative_forward, r"^numerical_derivative\(f_sin, [\d.]+, 0\.1\) is wrong: "
                                   r".*Likely bug: you use the forward difference"),
    (numerical_derivative_backward, r"Likely bug: you use the backward difference"),
    (numerical_derivative_over_h, r"Likely bug: you divide by h instead of 2h"),
    (numerical_derivative_precedence, r"Likely bug: you wrote / 2 \* h, which multiplies by h"),
    (numerical_derivative_fixed_h, r"^numerical_derivative\(f_sin, [\d.]+, 0\.1\) is wrong"
                                   r".*Likely bug: you ignore the argument h"),
    (numerical_derivative_sign, r"Likely bug: the sign is flipped"),
], ids=["forward", "backward", "over-h", "/2*h", "fixed-h", "sign"])
def test_numerical_derivative_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_numerical_derivative, fn, ref.numerical_derivative, hidden, match)


# ---------------------------------------------------------------- numerical_gradient

def numerical_gradient_restore(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_copies(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[i] += h
        x_minus[i] -= h
        grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)
    return grad


def numerical_gradient_flat(f, x, h=1e-5):
    flat = x.astype(float).ravel()
    grad = []
    for k in range(flat.size):
        step = np.zeros_like(flat)
        step[k] = h
        grad.append(float(f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape)))
                    / (2 * h))
    return np.array(grad).reshape(x.shape)


@HIDDEN
@pytest.mark.parametrize("fn", [numerical_gradient_restore, numerical_gradient_copies,
                                numerical_gradient_flat])
def test_numerical_gradient_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_numerical_gradient, fn, hidden, capsys, "numerical_gradient")


def numerical_gradient_forward(f, x, h=1e-5):
    grad = np.zeros_like(x)
    base = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - base) / h
        x[i] = old
    return grad


def numerical_gradient_over_h(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / h
    return grad


def numerical_gradient_not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_arithmetic_undo(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_calls_original(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[i] += h
        x_minus[i] -= h
        grad[i] = (f(x) - f(x)) / (2 * h)
    return grad


def numerical_gradient_fixed_h(f, x, h=1e-5):
    return numerical_gradient_copies(f, x)


def numerical_gradient_flattened(f, x, h=1e-5):
    return numerical_gradient_copies(f, x, h).ravel()


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (numerical_gradient_forward, r"^numerical_gradient\(f_sin, array \(5,\), 0\.1\) is wrong at "
                                 r"index \[\d\]: .*Likely bug: you use the forward difference"),
    (numerical_gradient_over_h, r"Likely bug: you divide by h instead of 2h"),
    (numerical_gradient_not_restored, r"^numerical_gradient\(f_sin, array \(5,\), 0\.1\) left x "
                                      r"changed afterwards \(5 of 5 entries differ\)\. Likely "
                                      r"bug: x is not restored"),
    (numerical_gradient_arithmetic_undo, r"left x changed in its last digits .*Likely bug: you "
                                         r"undo the step by arithmetic"),
    (numerical_gradient_calls_original, r"Likely bug: every entry is 0: f is evaluated at the "
                                        r"unchanged x"),
    (numerical_gradient_fixed_h, r"^numerical_gradient\(f_sin, array \(5,\), 0\.1\) is "
                                 r"wrong.*Likely bug: you ignore the argument h"),
    (numerical_gradient_flattened, r"returned shape \(12,\), expected shape \(3, 4\)"),
], ids=["forward", "over-h", "not-restored", "arithmetic-undo", "f(x)", "fixed-h", "ravel"])
def test_numerical_gradient_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_numerical_gradient, fn, ref.numerical_gradient, hidden, match)


def test_numerical_gradient_hidden_covers_zero_d_and_four_d(capsys):
    def numerical_gradient(f, x, h=1e-5):
        assert x.ndim in (1, 2, 3), "only 1-D to 3-D"
        return numerical_gradient_copies(f, x, h)
    passes(checks.check_numerical_gradient, numerical_gradient, False, capsys,
           "numerical_gradient")
    failure(checks.check_numerical_gradient, numerical_gradient, True, r"raised AssertionError")


# ---------------------------------------------------------------- rel_error

def rel_error_vectorised(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def rel_error_loop(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        worst = max(worst, abs(x - y) / max(1e-8, abs(x) + abs(y)))
    return worst


def rel_error_clip(a, b):
    num = np.abs(np.subtract(a, b))
    return float((num / np.clip(np.abs(a) + np.abs(b), 1e-8, None)).max())


@HIDDEN
@pytest.mark.parametrize("fn", [rel_error_vectorised, rel_error_loop, rel_error_clip])
def test_rel_error_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_rel_error, fn, hidden, capsys, "rel_error")


def rel_error_no_max(a, b):
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def rel_error_over_a(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a)))


def rel_error_mean(a, b):
    return np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def rel_error_no_abs(a, b):
    return np.max((a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def rel_error_no_floor(a, b):
    with np.errstate(all="ignore"):
        return np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))


def rel_error_separate_max(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b))


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (rel_error_no_max, r"^rel_error\(array \(6,\), array \(6,\)\) returned an array of shape "
                       r"\(6,\), one relative error per entry.*Likely bug: the max is missing"),
    (rel_error_over_a, r"^rel_error\(array \(6,\), array \(6,\)\) is wrong: .*Likely bug: you "
                       r"divide \|a - b\| by \|a\| instead of by \|a\| \+ \|b\|\.$"),
    (rel_error_mean, r"Likely bug: you average the entries' relative errors"),
    (rel_error_no_abs, r"Likely bug: the absolute value of a - b is missing"),
    (rel_error_no_floor, r"^rel_error\(array \(3, 4\), array \(3, 4\)\) returned nan at the "
                         r"result, where a finite number is expected.*division by zero"),
    (rel_error_separate_max, r"Likely bug: you take the max of \|a - b\| and the max of "
                             r"\|a\| \+ \|b\| separately"),
], ids=["no-max", "over-a", "mean", "no-abs", "no-floor", "separate-max"])
def test_rel_error_rejects_wrong_variants(fn, match, hidden):
    wrong(checks.check_rel_error, fn, ref.rel_error, hidden, match)


# ---------------------------------------------------------------- expression_grads

def expression_grads_direct(a, b, c, f):
    return {"dL/da": f * b, "dL/db": f * a, "dL/dc": f, "dL/df": a * b + c}


def expression_grads_steps(a, b, c, f):
    d = np.float64(a) * b + c
    dL_dd = np.float64(f)
    return {"dL/df": d, "dL/dc": dL_dd * 1.0, "dL/db": dL_dd * a, "dL/da": dL_dd * b,
            "L": d * f}                                  # an extra key is fine


@HIDDEN
@pytest.mark.parametrize("fn", [expression_grads_direct, expression_grads_steps])
def test_expression_grads_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_expression_grads, fn, hidden, capsys, "expression_grads")


def expression_grads_swapped(a, b, c, f):
    return {"dL/da": f * a, "dL/db": f * b, "dL/dc": f, "dL/df": a * b + c}


def expression_grads_no_f(a, b, c, f):
    return {"dL/da": b, "dL/db": a, "dL/dc": 1.0, "dL/df": a * b + c}


def expression_grads_df_without_c(a, b, c, f):
    return {"dL/da": f * b, "dL/db": f * a, "dL/dc": f, "dL/df": a * b}


def expression_grads_dc_times_c(a, b, c, f):
    return {"dL/da": f * b, "dL/db": f * a, "dL/dc": c * f, "dL/df": a * b + c}


def expression_grads_sign(a, b, c, f):
    return {"dL/da": -f * b, "dL/db": -f * a, "dL/dc": -f, "dL/df": -(a * b + c)}


@HIDDEN
@pytest.mark.parametrize("fn, key, match", [
    (expression_grads_swapped, "dL/da", r"^expression_grads\([-\d., ]+\)\['dL/da'\] is wrong: "
                                        r".*Likely bug: dL/da and dL/db are swapped"),
    (expression_grads_no_f, "dL/da", r"\['dL/da'\] is wrong: .*Likely bug: the factor f is "
                                     r"missing"),
    (expression_grads_df_without_c, "dL/df", r"\['dL/df'\] is wrong: .*Likely bug: dL/df is the "
                                             r"other factor d = a\*b \+ c; you left out c"),
    (expression_grads_dc_times_c, "dL/dc", r"\['dL/dc'\] is wrong: .*Likely bug: c enters "
                                           r"through a sum"),
    (expression_grads_sign, "dL/da", r"\['dL/da'\] is wrong: .*Likely bug: the sign is flipped"),
], ids=["swapped", "no-f", "df-without-c", "dc-times-c", "sign"])
def test_expression_grads_rejects_wrong_variants(fn, key, match, hidden):
    spy = recording(fn)
    message = failure(checks.check_expression_grads, spy, hidden, match)
    # the failing key's expected value is not shown after the call (the call shows the
    # inputs, and dL/dc = f is one of them)
    shown_after_call = message.split("] ", 1)[1]
    assert_no_leak(shown_after_call, ref_chain.expression_grads(*spy.calls[-1])[key])


@HIDDEN
def test_expression_grads_missing_keys_are_named(hidden):
    def expression_grads(a, b, c, f):
        return {"dL_da": f * b, "dL_db": f * a, "dL/dc": f, "dL/df": a * b + c}
    failure(checks.check_expression_grads, expression_grads, hidden,
            r"^expression_grads\(.*\) returned a dict without the keys 'dL/da', 'dL/db'\. It "
            r"must have the keys 'dL/da', 'dL/db', 'dL/dc', 'dL/df'\. Your dict has the keys "
            r"'dL_da', 'dL_db' instead")


@HIDDEN
def test_expression_grads_not_a_dict(hidden):
    def expression_grads(a, b, c, f):
        return f * b, f * a, f, a * b + c
    failure(checks.check_expression_grads, expression_grads, hidden,
            r"returned a tuple; it should return a dict with the keys 'dL/da'")


def test_expression_grads_array_values_are_rejected():
    def expression_grads(a, b, c, f):
        return {k: np.array([v]) for k, v in expression_grads_direct(a, b, c, f).items()}
    message = failure(checks.check_expression_grads, expression_grads, False,
                      r"\['dL/da'\] returned an array of shape \(1,\); it should return a "
                      r"single number")
    assert_no_leak(message.split(")", 1)[1], [])
