"""Checks for chapter 3 (03_chain_rule): numerical derivatives, rel_error, backprop by hand."""
import copy

import numpy as np

from nnlib import chain_rule as ref_chain
from nnlib import gradcheck as ref
from nnlib.grading import core
from nnlib.grading.core import (GradingError, Hint, SIGN_FLIPPED, call_student, case_rng, compare,
                                describe_call, ensure_student_function, passed, run_cases,
                                time_limit, type_name)
from nnlib.grading.kernel_functions import f_coupled, f_cube, f_exp, f_sin

DEFAULT_H = 1e-5
#: a student's central difference and nnlib's, with the same h, agree to rounding
#: (about 1e-16 * |f| / h); a one-sided difference is off by about h * f'' / 2
RTOL, ATOL = 1e-6, 1e-7


def _step(args):
    return args[2] if len(args) > 2 else DEFAULT_H


class _ExactHint(Hint):
    """A mistake whose answer is reproduced exactly (e.g. all zeros), not just closely."""

    def explains(self, got, expected, args, rtol, atol):
        return super().explains(got, expected, args, rtol=0.0, atol=0.0)


def _one_sided(f, x, h, forward=True):
    """(f(x + h e_i) - f(x)) / h (forward) or (f(x) - f(x - h e_i)) / h, on copies of x."""
    x = np.array(x, dtype=float)
    base = float(f(x.copy()))
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += h if forward else -h
        grad[index] = (float(f(moved)) - base) / h if forward else (base - float(f(moved))) / h
    return grad if x.ndim else float(grad)


def _central(f, x, h):
    return ref.numerical_gradient(f, np.array(x, dtype=float), h)


_DIFFERENCE_HINTS = (
    Hint("you use the forward difference (f(x + h) - f(x)) / h; the course uses the central "
         "difference (f(x + h) - f(x - h)) / (2h), which is far more accurate",
         lambda e, a: _one_sided(a[0], a[1], _step(a), forward=True)),
    Hint("you use the backward difference (f(x) - f(x - h)) / h; the course uses the central "
         "difference (f(x + h) - f(x - h)) / (2h)",
         lambda e, a: _one_sided(a[0], a[1], _step(a), forward=False)),
    Hint("you divide by h instead of 2h: the points x + h and x - h are 2h apart",
         lambda e, a: 2 * e),
    _ExactHint("every entry is 0: f is evaluated at the unchanged x (e.g. you perturb a copy but "
         "call f on the original, or you add h and subtract it again before calling f)",
         lambda e, a: np.zeros_like(e)),
    Hint("you wrote / 2 * h, which multiplies by h; use / (2 * h)",
         lambda e, a: e * _step(a) ** 2),
    Hint("you ignore the argument h and always use 1e-5: use the h you are given",
         lambda e, a: _central(a[0], a[1], DEFAULT_H)),
    Hint("the sign is flipped: it is f(x + h) - f(x - h), not f(x - h) - f(x + h)",
         lambda e, a: -e),
)


def check_numerical_derivative(numerical_derivative, hidden=False):
    """numerical_derivative(f, x, h=1e-5): the central difference at a scalar x."""
    rng = case_rng("numerical_derivative", hidden)
    # a large h first: a one-sided difference, or the default h used instead of the given
    # one, is then off by far more than rounding (and the message shows it clearly)
    cases = [((f_sin, float(rng.uniform(0.5, 2.0)), 0.1), {}),
             ((f_cube, float(rng.uniform(-2.0, -0.5)), 1e-2), {}),
             ((f_exp, float(rng.uniform(-1.0, 1.0))), {})]
    if hidden:
        cases += [((f_coupled, float(rng.uniform(0.5, 1.5)), 1e-4), {}),
                  ((f_sin, 2), {}),                                   # an int x
                  ((f_exp, np.float64(rng.normal()), 1e-3), {}),
                  ((f_cube, float(rng.uniform(3.0, 6.0)) * 10, 1e-4), {}),
                  ((f_sin, 0.0, 1e-3), {})]
    run_cases("numerical_derivative", numerical_derivative, ref.numerical_derivative, cases,
              rtol=RTOL, atol=ATOL, hints=_DIFFERENCE_HINTS)


def _x_after_call(fn, args):
    """Run ``fn`` once more on copies of ``args``; return what it left in x (None on failure)."""
    given = copy.deepcopy(args)
    try:
        with time_limit(core.CALL_TIME_LIMIT):
            fn(*given)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None
    return given[1]


def check_numerical_gradient(numerical_gradient, hidden=False):
    """numerical_gradient(f, x, h=1e-5): central differences for every entry; x unchanged."""
    name = "numerical_gradient"
    ensure_student_function(numerical_gradient, name)
    rng = case_rng(name, hidden)
    shapes_and_steps = [((5,), 0.1), ((3, 4), 1e-2), ((2, 3, 2), None)]   # large h first
    functions = [f_sin, f_coupled, f_exp]
    if hidden:
        shapes_and_steps += [((1,), 1e-3), ((4, 1), None), ((2, 2, 2, 2), 1e-3), ((), 1e-2),
                             ((7,), 1e-4)]
        functions += [f_cube, f_sin, f_coupled, f_exp, f_coupled]
    cases = []
    for (shape, h), f in zip(shapes_and_steps, functions):
        x = rng.normal(size=shape)
        cases.append(((f, x) if h is None else (f, x, h), {}))

    for args, kwargs in cases:
        call = describe_call(name, args)
        try:
            got = call_student(numerical_gradient, name, args)
        except GradingError as error:
            if "changed its argument number 2 in place" not in str(error):
                raise
            _explain_changed_x(numerical_gradient, args, call)
            raise
        compare(name, call, got, ref.numerical_gradient(args[0], args[1].copy(), *args[2:]),
                rtol=RTOL, atol=ATOL, hints=_DIFFERENCE_HINTS, args=args)
    passed(name, len(cases))


def _explain_changed_x(fn, args, call):
    x = np.asarray(args[1])
    left = _x_after_call(fn, args)
    if not isinstance(left, np.ndarray) or left.shape != x.shape:
        return      # the generic "changed its argument in place" message stands
    changed = ~np.equal(left, x)
    count = f"{int(changed.sum())} of {x.size} entries" if x.ndim else "x"
    if np.allclose(left, x, rtol=1e-12, atol=1e-15):
        raise GradingError(
            f"{call} left x changed in its last digits ({count} differ): x must be exactly "
            "as it was. Likely bug: you undo the step by arithmetic (x[i] += h, ..., "
            "x[i] -= h), which does not give back exactly the same float; save "
            "old = x[i] first and restore it with x[i] = old.")
    raise GradingError(
        f"{call} left x changed afterwards ({count} differ). Likely bug: x is not restored: "
        "after evaluating f at x[i] + h and at x[i] - h, write the saved original value back "
        "(x[i] = old) before moving on to the next entry.")


def _rel_terms(a, b, denominator):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(1e-8, denominator(a, b))


_REL_ERROR_HINTS = (
    Hint("you divide |a - b| by |a| instead of by |a| + |b|",
         lambda e, a: np.max(_rel_terms(a[0], a[1], lambda x, y: np.abs(x)))),
    Hint("you divide |a - b| by |b| instead of by |a| + |b|",
         lambda e, a: np.max(_rel_terms(a[0], a[1], lambda x, y: np.abs(y)))),
    Hint("you divide by |a + b| instead of |a| + |b|",
         lambda e, a: np.max(_rel_terms(a[0], a[1], lambda x, y: np.abs(x + y)))),
    Hint("you average the entries' relative errors; take the largest one (np.max)",
         lambda e, a: np.mean(_rel_terms(a[0], a[1], lambda x, y: np.abs(x) + np.abs(y)))),
    Hint("you add up the entries' relative errors; take the largest one (np.max)",
         lambda e, a: np.sum(_rel_terms(a[0], a[1], lambda x, y: np.abs(x) + np.abs(y)))),
    Hint("the absolute value of a - b is missing, so negative differences never count",
         lambda e, a: np.max((np.asarray(a[0], float) - np.asarray(a[1], float))
                             / np.maximum(1e-8, np.abs(a[0]) + np.abs(a[1])))),
    Hint("you take the max of |a - b| and the max of |a| + |b| separately; divide entry by "
         "entry, then take the max",
         lambda e, a: np.max(np.abs(np.asarray(a[0], float) - a[1]))
         / max(1e-8, np.max(np.abs(a[0]) + np.abs(a[1])))),
    SIGN_FLIPPED,
)


def _close_pair(rng, shape, scale=1.0):
    a = rng.normal(scale=scale, size=shape)
    b = a * (1 + 1e-4 * rng.normal(size=shape))
    return a, b


def check_rel_error(rel_error, hidden=False):
    """rel_error(a, b) = max over entries of |a - b| / max(1e-8, |a| + |b|), one float."""
    rng = case_rng("rel_error", hidden)
    a1, b1 = _close_pair(rng, 6)
    a1[2], b1[2] = 1.0, 1.25             # the worst entry has a < b
    a2, b2 = _close_pair(rng, (3, 4))
    a2[0, 0] = b2[0, 0] = 0.0            # 0 / 0 must not happen: the 1e-8 floor
    a2[1, 2], b2[1, 2] = -0.5, -0.4
    pairs = [(a1, b1), (a2, b2)]
    if hidden:
        a3, b3 = _close_pair(rng, (2, 3, 4), scale=1e3)
        a4 = rng.normal(size=5)
        a5, b5 = _close_pair(rng, 8, scale=1e-3)
        b5[-1] = -a5[-1]                 # opposite signs: relative error 1
        pairs += [(a3, b3), (a4, a4.copy()), (a5, b5), (np.array([0.3]), np.array([0.3001])),
                  (0.75, 0.7501), (np.zeros(3), np.zeros(3))]
    cases = [((a, b), {}) for a, b in pairs]

    name = "rel_error"
    ensure_student_function(rel_error, name)
    for args, kwargs in cases:
        call = describe_call(name, args)
        got = call_student(rel_error, name, args)
        if (isinstance(got, np.ndarray) and got.ndim and np.ndim(args[0])
                and got.shape == np.shape(args[0])):
            raise GradingError(f"{call} returned an array of shape {got.shape}, one relative "
                               "error per entry; it should return a single number. Likely "
                               "bug: the max is missing: return the largest entry (np.max).")
        compare(name, call, got, ref.rel_error(*copy.deepcopy(args)), rtol=RTOL, atol=1e-12,
                hints=_REL_ERROR_HINTS, args=args)
    passed(name, len(cases))


KEYS = ("dL/da", "dL/db", "dL/dc", "dL/df")
_F_MISSING = ("the factor f is missing: the gradient arriving from L = d * f is dL/dd = f, "
              "and it multiplies every local derivative below d")


def _expression_hints(key):
    a_, b_, c_, f_ = (lambda a: a[0]), (lambda a: a[1]), (lambda a: a[2]), (lambda a: a[3])
    hints = {
        "dL/da": [Hint("dL/da and dL/db are swapped: for a product a*b, a's gradient is the "
                       "OTHER operand, so dL/da = f * b", lambda e, a: f_(a) * a_(a)),
                  Hint(_F_MISSING, lambda e, a: b_(a))],
        "dL/db": [Hint("dL/da and dL/db are swapped: for a product a*b, b's gradient is the "
                       "OTHER operand, so dL/db = f * a", lambda e, a: f_(a) * b_(a)),
                  Hint(_F_MISSING, lambda e, a: a_(a))],
        "dL/dc": [Hint(_F_MISSING, lambda e, a: 1.0),
                  Hint("c enters through a sum, whose local derivative is 1: dL/dc is the "
                       "gradient from above (f), not c times it", lambda e, a: c_(a) * f_(a))],
        "dL/df": [Hint("dL/df is the other factor d = a*b + c; you left out c",
                       lambda e, a: a_(a) * b_(a)),
                  Hint("dL/df is the other factor d = a*b + c, not f itself",
                       lambda e, a: f_(a)),
                  Hint("you return L = (a*b + c) * f itself, not its derivative dL/df = a*b + c",
                       lambda e, a: (a_(a) * b_(a) + c_(a)) * f_(a))],
    }[key]
    return tuple(hints) + (SIGN_FLIPPED,)


def _expression_inputs(rng, hidden):
    def draw():
        while True:
            a, b, c, f = (round(float(v), 2) for v in rng.uniform(-3, 3, size=4))
            if (min(abs(a), abs(b), abs(c)) > 0.3 and 0.3 < abs(f) and abs(abs(f) - 1) > 0.2
                    and abs(a - b) > 0.3 and abs(a + b) > 0.3 and abs(a * b + c) > 0.3
                    and abs(a * b) > 0.3):
                return a, b, c, f
    cases = [draw(), draw()]
    if hidden:
        cases += [draw(), (2, -3, 4, 5), tuple(np.float64(v) for v in draw()),
                  (0.0, 1.5, -2.0, 0.5), (1e3, -2e-3, 7.0, -4.0)]
    return cases


def check_expression_grads(expression_grads, hidden=False):
    """expression_grads(a, b, c, f): the dict of dL/da, dL/db, dL/dc, dL/df, L = (a*b + c) * f."""
    name = "expression_grads"
    ensure_student_function(expression_grads, name)
    cases = _expression_inputs(case_rng(name, hidden), hidden)
    wanted = ", ".join(f"'{k}'" for k in KEYS)
    for args in cases:
        call = describe_call(name, args)
        got = call_student(expression_grads, name, args)
        if got is None:
            raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
        if not isinstance(got, dict):
            raise GradingError(f"{call} returned a {type_name(got)}; it should return a "
                               f"dict with the keys {wanted}.")
        missing = [k for k in KEYS if k not in got]
        if missing:
            unknown = [k for k in got if k not in KEYS]
            yours = (" Your dict has the keys " + ", ".join(repr(k) for k in unknown)
                     + " instead: spell the keys exactly as given." if unknown else "")
            raise GradingError(f"{call} returned a dict without the key"
                               f"{'s' if len(missing) > 1 else ''} "
                               + ", ".join(f"'{k}'" for k in missing)
                               + f". It must have the keys {wanted}.{yours}")
        expected = ref_chain.expression_grads(*args)
        for key in KEYS:
            compare(name, f"{call}['{key}']", got[key], expected[key], rtol=1e-9, atol=1e-12,
                    hints=_expression_hints(key), args=args)
    passed(name, len(cases))
