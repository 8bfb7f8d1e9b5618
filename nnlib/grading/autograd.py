"""Checks for chapter 8 (08_autograd): the student's scalar ``Value`` and the ``Neuron``,
``Layer`` and ``MLP`` built on it.

``check_Value`` builds the same seeded expressions with the student's class and with
nnlib's reference ``Value`` and compares forward values and gradients: every op on
its own first (so a message can name the op and its likely bug), then each op used
twice (accumulation), then mixed chains, a leaf feeding two paths and a diamond
(the order of the backward pass).

The network checks cannot compare with a reference network, since the student's
weights are random and theirs to choose. They check self-consistency instead: the
output must be what the activation of ``w . x + b`` gives for the Values listed by
``parameters()``; then the check writes its own numbers into those Values (which
must therefore be the live objects) and compares outputs and gradients with numpy.

Every call into student code goes through :func:`core.call_student` with a closure:
a Value graph must not be deep-copied (its ``_backward`` closures point at the
original nodes).
"""
import math
import numbers

import numpy as np

from nnlib.autograd import Value as _RefValue
from nnlib.grading.core import (
    GradingError,
    call_student,
    case_rng,
    ensure_student_class,
    grading_as,
    passed,
)

#: a correct student engine differs from nnlib's by rounding only (another formula
#: for tanh, a / b written as a * b**-1, numpy floats in ``data``)
RTOL, ATOL = 1e-6, 1e-9
#: largest graph the _prev walk follows (the checks' graphs have fewer than 200 nodes)
_MAX_NODES = 5000


# ====================================================================== small helpers

def _run(fn, name, call):
    """Call ``fn()`` (a closure around the student's code) with core's safety net."""
    return call_student(fn, name, (), call=call)


def _fmt(x):
    """An input as the message shows it: 2.0, -0.73, 1e-05."""
    return repr(float(x)) if isinstance(x, (float, np.floating)) else repr(x)


def _close(got, expected):
    return math.isclose(got, expected, rel_tol=RTOL, abs_tol=ATOL)


def _number(value, what):
    """The student's ``data`` or ``grad`` as a float, or a clear one-line failure."""
    if isinstance(value, (numbers.Real, np.number)) and not np.iscomplexobj(value):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and np.isrealobj(value):
        return float(value)
    wrapped = hasattr(value, "data") and hasattr(value, "grad")
    raise GradingError(
        f"{what} is a {type(value).__name__}, not a number."
        + (" Likely bug: a Value wrapped in another Value (Value(v) where v is already a "
           "Value): wrap plain numbers only, and use v.data for the number inside."
           if wrapped else " It should hold a plain float."))


def _attr(obj, attr, what, why):
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise GradingError(f"{what} has no attribute {attr}: {why}") from None
    except Exception as exc:  # noqa: BLE001  a property of the student's that fails
        detail = str(exc).strip().splitlines()
        raise GradingError(f"reading {what}.{attr} raised {type(exc).__name__}"
                           + (f": {detail[0]}" if detail else "")) from None


def _data(node, what):
    return _number(_attr(node, "data", what, "every Value keeps its number in self.data."),
                   f"{what}.data")


def _grad(node, what):
    return _number(_attr(node, "grad", what, "every Value keeps its gradient in self.grad "
                                             "(0.0 when it is made)."), f"{what}.grad")


def _node(result, call):
    """The student's op result must be a Value-like object (``data`` and ``grad``)."""
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    if not (hasattr(result, "data") and hasattr(result, "grad")):
        number = isinstance(result, (numbers.Real, np.number))
        raise GradingError(
            f"{call} returned a {type(result).__name__}; it should return a Value (with .data "
            "and .grad)." + (" Likely bug: you return the number itself; wrap it: "
                             "Value(number, children, op), so it joins the graph."
                             if number else ""))
    return result


def _mismatch(context, quantity, where, got, expected, hints=(), fallback=None):
    """Fail unless ``got`` is close to ``expected``; never show ``expected``.

    ``hints`` are (text, candidate) pairs: the first candidate that differs from the
    right answer and matches the student's value names the likely bug; without one,
    the sentence ``fallback`` (if any) ends the message.
    """
    if _close(got, expected):
        return
    with np.errstate(all="ignore"):
        rel = abs(got - expected) / max(abs(got) + abs(expected), 1e-300)
    message = (f"{context}: {quantity} is wrong {where}: yours is {got:.6g}"
               + (f" (relative error {rel:.2g})." if math.isfinite(rel) else "."))
    for text, candidate in hints:
        try:
            candidate = float(candidate)
        except (TypeError, ValueError, OverflowError):
            continue
        if math.isfinite(candidate) and not _close(candidate, expected) and _close(got, candidate):
            message += f" Likely bug: {text}."
            break
    else:
        if fallback:
            message += f" {fallback}."
    raise GradingError(message)


def _children(node, what):
    """The student's ``_prev`` of ``node`` as a list (any set, tuple or list)."""
    prev = _attr(node, "_prev", what,
                 "keep the children of every Value in self._prev (a set; empty for a leaf), "
                 "the backward pass walks the graph through it.")
    try:
        return list(prev)
    except TypeError:
        raise GradingError(f"{what}._prev is a {type(prev).__name__}; it should be the set of "
                           "the Value's children (set(_children)).") from None


def _reaches(root, targets, what):
    """Which of ``targets`` can be reached from ``root`` by following ``_prev``."""
    return _run(lambda: _walk(root, targets, what), "Value", f"following _prev from {what}")


def _walk(root, targets, what):
    wanted = {id(t) for t in targets}
    seen, stack, found = set(), [root], set()
    while stack and len(seen) < _MAX_NODES:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in wanted:
            found.add(id(node))
        stack.extend(_children(node, what))
    return found


def _stuck(root, leaf, what):
    """Whether a node between ``root`` and ``leaf`` holds a gradient that never reached it."""
    return _run(lambda: _stuck_walk(root, leaf, what), "Value", f"following _prev {what}")


def _stuck_walk(root, leaf, what):
    nodes, stack, seen = [], [root], set()
    while stack and len(seen) < _MAX_NODES:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(_children(node, what))
    for node in nodes:
        if node is root or node is leaf:
            continue
        try:
            grad = float(node.grad)
        except Exception:  # noqa: BLE001, S112  an odd grad is reported elsewhere
            continue
        if grad != 0.0 and id(leaf) in _walk(node, [leaf], what):
            return True
    return False


def _check_reached(root, leaf, name, got, right, where):
    """A gradient that stopped part-way down the graph is backward()'s fault, not the op's."""
    if got == 0.0 and not _close(0.0, right) and _stuck(root, leaf, where):
        raise GradingError(
            f"Value.backward: the gradient of {name} is 0 {where}, although a node between "
            f"the output and {name} has a gradient. Likely bug: backward() goes through the "
            "nodes in the wrong order (from the leaves up: reversed() is missing?) or stops "
            "after the output's own _backward; call _backward on every node in reverse "
            "topological order, output first.")


# ====================================================================== Value: the ops

class _Op:
    """One op tried on its own: ``template`` shows it ("{a} * {b}"), ``fn`` builds it."""

    def __init__(self, name, template, fn, domains, data_hints=None, grad_hints=None,
                 no_grad=None, hidden_only=False):
        self.name, self.template, self.fn, self.domains = name, template, fn, domains
        self.data_hints = data_hints or (lambda e: ())
        self.grad_hints = grad_hints or {}
        self.no_grad = no_grad
        self.hidden_only = hidden_only

    @property
    def leaves(self):
        return "ab"[:len(self.domains)]

    def text(self, **names):
        return self.template.format(**{k: names.get(k, k) for k in self.leaves})


def _local(op, wrt, right, text):
    return f"the local derivative of {op} with respect to {wrt} is {right}; {text}"


def _pow_op(n, domain, hidden_only=False):
    right = "n * a**(n-1)"
    return _Op(
        "Value.__pow__", f"{{a}} ** {n!r}", lambda a: a ** n, (domain,),
        data_hints=lambda e: [(f"a ** {n!r} computed as a * {n!r}", e["x"] * n)],
        grad_hints={"a": lambda e: [
            (_local("a**n", "a", right, "yours is n * a**n: the - 1 in the exponent is missing"),
             n * e["x"] ** n),
            (_local("a**n", "a", right, "the factor n in front is missing"), e["x"] ** (n - 1)),
            (_local("a**n", "a", right, "yours computes n * a**n - 1: put n - 1 in parentheses"),
             n * e["x"] ** n - 1),
            (_local("a**n", "a", right, "yours is the output a**n itself"), e["x"] ** n),
            (_local("a**n", "a", right, "yours is (n - 1) * a**(n-1)"),
             (n - 1) * e["x"] ** (n - 1))]},
        hidden_only=hidden_only)


_PASS_THROUGH = "passes the gradient through unchanged, as + does"
_NO_DIV_GRAD = ("Value.__truediv__ passes no gradient back: a Value made from self.data / "
                "other.data alone has no children or no _backward. Write a / b as "
                "self * other**-1 (ops that have gradients) or give it its own _backward")
_TANH = "1 - t**2 where t is the OUTPUT tanh(a)"

_OPS = [
    _Op("Value.__add__", "{a} + {b}", lambda a, b: a + b, ("any", "any"),
        data_hints=lambda e: [("__add__ multiplies the data instead of adding it",
                               e["x"] * e["y"])]),
    _Op("Value.__mul__", "{a} * {b}", lambda a, b: a * b, ("any", "any"),
        data_hints=lambda e: [("__mul__ adds the data instead of multiplying it",
                               e["x"] + e["y"])],
        grad_hints={
            "a": lambda e: [(_local("a*b", "a", "the OTHER operand b",
                                    "yours uses a itself (self.data where other.data belongs)"),
                             e["x"]),
                            (_local("a*b", "a", "b", "yours " + _PASS_THROUGH), 1.0)],
            "b": lambda e: [(_local("a*b", "b", "the OTHER operand a",
                                    "yours uses b itself (other.data where self.data belongs)"),
                             e["y"]),
                            (_local("a*b", "b", "a", "yours " + _PASS_THROUGH), 1.0)]}),
    _Op("Value.__neg__", "-{a}", lambda a: -a, ("any",),
        grad_hints={"a": lambda e: [(_local("-a", "a", "-1", "the minus sign is missing"),
                                     1.0)]}),
    _Op("Value.__sub__", "{a} - {b}", lambda a, b: a - b, ("any", "any"),
        data_hints=lambda e: [("the operands are swapped: a - b is self.data - other.data",
                               e["y"] - e["x"]),
                              ("__sub__ adds instead of subtracting", e["x"] + e["y"])],
        grad_hints={
            "a": lambda e: [(("the operands are swapped: in a - b, a gets +1 times the "
                             "output's gradient"), -1.0)],
            "b": lambda e: [(_local("a - b", "b", "-1", "the minus sign is missing"), 1.0)]}),
    _pow_op(3, "any"),
    _pow_op(0.5, "pos"),
    _pow_op(2, "any", hidden_only=True),
    _pow_op(-1, "any", hidden_only=True),
    _pow_op(-2.0, "any", hidden_only=True),
    _pow_op(1.5, "pos", hidden_only=True),
    _Op("Value.__truediv__", "{a} / {b}", lambda a, b: a / b, ("any", "any"),
        data_hints=lambda e: [("the operands are swapped: a / b is self.data / other.data",
                               e["y"] / e["x"])],
        grad_hints={
            "a": lambda e: [(_local("a / b", "a", "1/b", "yours uses b"), e["y"])],
            "b": lambda e: [(_local("a / b", "b", "-a / b**2", "the minus sign is missing"),
                             e["x"] / e["y"] ** 2),
                            (_local("a / b", "b", "-a / b**2", "yours is -1 / b**2"),
                             -1 / e["y"] ** 2),
                            (_local("a / b", "b", "-a / b**2", "yours is -a / b"),
                             -e["x"] / e["y"])]},
        no_grad=_NO_DIV_GRAD),
    _Op("Value.tanh", "{a}.tanh()", lambda a: a.tanh(), ("mid",),
        grad_hints={"a": lambda e: [
            (_local("tanh", "a", _TANH, "yours uses the input a (1 - a**2)"), 1 - e["x"] ** 2),
            (_local("tanh", "a", _TANH, "the square is missing (1 - t)"), 1 - e["t"]),
            (_local("tanh", "a", _TANH, "yours is t**2"), e["t"] ** 2),
            (_local("tanh", "a", _TANH, "yours is t itself"), e["t"]),
            (_local("tanh", "a", _TANH, "yours is 1 + t**2"), 1 + e["t"] ** 2),
            (_local("tanh", "a", _TANH, "yours " + _PASS_THROUGH), 1.0)]}),
    _Op("Value.exp", "{a}.exp()", lambda a: a.exp(), ("mid",),
        grad_hints={"a": lambda e: [
            (_local("exp(a)", "a", "exp(a) itself, the OUTPUT (out.data)",
                    "yours uses the input a"), e["x"]),
            (_local("exp(a)", "a", "exp(a)", "yours " + _PASS_THROUGH), 1.0)]}),
    _Op("Value.log", "{a}.log()", lambda a: a.log(), ("pos",),
        data_hints=lambda e: [("log is the natural logarithm (math.log), not log base 10",
                               math.log10(e["x"])),
                              ("log computes exp instead", math.exp(e["x"]))],
        grad_hints={"a": lambda e: [
            (_local("log(a)", "a", "1/a", "yours uses a"), e["x"]),
            (_local("log(a)", "a", "1/a", "yours uses log(a), the output"), e["t"]),
            (_local("log(a)", "a", "1/a", "the sign is flipped"), -1 / e["x"]),
            (_local("log(a)", "a", "1/a", "yours is 1/a**2"), 1 / e["x"] ** 2),
            (_local("log(a)", "a", "1/a", "yours " + _PASS_THROUGH), 1.0)]}),
    _Op("Value.relu", "{a}.relu()", lambda a: a.relu(), ("pos",),
        data_hints=lambda e: [(("relu returns 0 for a positive input; it should return the "
                               "input itself when it is > 0"), 0.0)],
        grad_hints={"a": lambda e: [
            (("the local derivative of relu is 1 where the input is > 0; yours uses the input "
             "value itself"), e["x"])]},
        no_grad=("Value.relu passes no gradient for a positive input: its local derivative is "
                 "1 where the output is > 0 (out.data > 0), 0 elsewhere")),
    _Op("Value.relu", "{a}.relu()", lambda a: a.relu(), ("neg",),
        data_hints=lambda e: [(("relu must return 0 for a negative input; yours returns the "
                               "input unchanged"), e["x"]),
                              (("relu must return 0 for a negative input; yours returns its "
                               "absolute value"), -e["x"])],
        grad_hints={"a": lambda e: [
            (("the gradient of relu passes through for a negative input: its local derivative "
             "is 1 only where the input is > 0 and 0 elsewhere ((out.data > 0) * out.grad)"),
             1.0),
            (("the local derivative of relu is 0 for a negative input; yours uses the input "
             "value"), e["x"])]}),
    _Op("Value.__add__", "{a} + 1.5", lambda a: a + 1.5, ("any",)),
    _Op("Value.__mul__", "{a} * 2.5", lambda a: a * 2.5, ("any",)),
    _Op("Value.__sub__", "{a} - 0.75", lambda a: a - 0.75, ("any",)),
    _Op("Value.__truediv__", "{a} / 4", lambda a: a / 4, ("any",), no_grad=_NO_DIV_GRAD),
    _Op("Value.__radd__", "1.5 + {a}", lambda a: 1.5 + a, ("any",)),
    _Op("Value.__rmul__", "2 * {a}", lambda a: 2 * a, ("any",)),
    _Op("Value.__rsub__", "3.0 - {a}", lambda a: 3.0 - a, ("any",),
        data_hints=lambda e: [(("__rsub__ has its operands swapped: for 3.0 - v Python calls "
                               "v.__rsub__(3.0), which must compute other - self; yours "
                               "computes v - 3.0"), e["x"] - 3.0)],
        grad_hints={"a": lambda e: [(("__rsub__ has its operands swapped (it computes v - 3.0, "
                                     "not 3.0 - v, so the gradient's sign is flipped)"), 1.0)]}),
    _Op("Value.__rtruediv__", "10.0 / {a}", lambda a: 10.0 / a, ("any",),
        data_hints=lambda e: [(("__rtruediv__ has its operands swapped: for 10.0 / v Python "
                               "calls v.__rtruediv__(10.0), which must compute other / self; "
                               "yours computes v / 10.0"), e["x"] / 10.0)],
        grad_hints={"a": lambda e: [
            ("__rtruediv__ has its operands swapped (it computes v / 10.0, not 10.0 / v)", 0.1),
            ("the local derivative of 10.0 / a is -10.0 / a**2: the minus sign is missing",
             10.0 / e["x"] ** 2)]},
        no_grad=("Value.__rtruediv__ passes no gradient back: build other / self from ops "
                 "with gradients (other * self**-1)")),
]


def _draw(rng, domain):
    """One input, rounded to 2 decimals, away from 0 and +-1 (where many bugs hide)."""
    low, high = {"any": (-2.5, 2.5), "mid": (-1.6, 1.6), "pos": (0.3, 2.5),
                 "neg": (-2.5, -0.3)}[domain]
    while True:
        x = round(float(rng.uniform(low, high)), 2)
        if abs(x) >= 0.3 and abs(abs(x) - 1) >= 0.15 and abs(abs(x) - 0.5) >= 0.05:
            return x


def _draw_inputs(rng, domains):
    while True:
        xs = tuple(_draw(rng, d) for d in domains)
        if len(xs) < 2 or (abs(xs[0] - xs[1]) >= 0.3 and abs(xs[0] + xs[1]) >= 0.3
                           and abs(abs(xs[0] * xs[1]) - 1) >= 0.1):
            return xs


def _leaves(Value, xs):
    return [_run(lambda x=x: Value(x), "Value", f"Value({_fmt(x)})") for x in xs]


def _with(names, xs):
    return "with " + ", ".join(f"{n} = {_fmt(x)}" for n, x in zip(names, xs))


def _reference(fn, xs):
    """nnlib's forward value and leaf gradients for ``fn`` at ``xs``."""
    leaves = [_RefValue(x) for x in xs]
    out = fn(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def _check_leaf(leaf, x):
    what = f"Value({_fmt(x)})"
    got = _data(leaf, what)
    if not _close(got, float(x)):
        raise GradingError(f"{what}.data is {got:.6g}: a new Value must keep the number it is "
                           "given (self.data = data).")
    grad = _grad(leaf, what)
    if grad != 0.0:
        raise GradingError(f"{what}.grad is {grad:.6g}; a new Value starts with grad 0.0 "
                           "(backward() adds to it).")
    if _children(leaf, what):
        raise GradingError(f"{what}._prev should be empty (a Value made from a number has no "
                           "children), but it has some. Likely bug: the default of _children "
                           "is not an empty tuple.")
    op = _attr(leaf, "_op", what, "keep the name of the op that made a Value in self._op "
                                  "(a string; '' for a Value made from a number).")
    if not isinstance(op, str):
        raise GradingError(f"{what}._op is a {type(op).__name__}; it should be a string "
                           "('' for a Value made from a number).")


def _build(Value, name, template, fn, names, xs):
    """Build ``fn`` on the student's leaves; return (leaves, out, call).

    ``template`` shows the expression with {a}-style slots for the leaves, or, when it
    has none, is followed by "with a = Value(2.0), ...".
    """
    leaves = _leaves(Value, xs)
    if "{" in template:
        call = template.format(**{n: f"Value({_fmt(x)})" for n, x in zip(names, xs)})
    else:
        call = f"{template} with " + ", ".join(f"{n} = Value({_fmt(x)})"
                                               for n, x in zip(names, xs))
    out = _node(_run(lambda: fn(*leaves), name, call), call)
    return leaves, out, call


def _backward(out, call):
    _run(out.backward, "Value.backward", f"({call}).backward()")
    seed = _grad(out, f"({call}) after .backward(),")
    if seed == 0.0:
        raise GradingError(f"Value.backward: after ({call}).backward() the output's own grad "
                           "is 0. Likely bug: backward() does not seed the gradient: it must "
                           "start with self.grad = 1.0 (d out / d out).")
    if not _close(seed, 1.0):
        raise GradingError(f"Value.backward: after ({call}).backward() the output's own grad is "
                           f"{seed:.6g}; backward() must set it to 1.0 (d out / d out) before "
                           "going through the graph.")


def _check_op(Value, op, xs):
    names = op.leaves
    leaves, out, call = _build(Value, op.name, op.template, op.fn, names, xs)
    if op is _OPS[0]:                    # the first op: look at the leaves once
        for leaf, x in zip(leaves, xs):
            _check_leaf(leaf, x)
    where = _with(names, xs)
    text = op.text()
    expected, grads = _reference(op.fn, xs)
    env = dict(zip("xy", xs), t=expected)
    got = _data(out, f"({call})")
    _mismatch(op.name, f"the result of {text}", where, got, expected, op.data_hints(env))
    found = _reaches(out, leaves, f"({call})")
    for name, leaf in zip(names, leaves):
        if id(leaf) not in found:
            raise GradingError(
                f"{op.name}: {name} is not among the children of {text} {where} (following "
                "_prev down). Likely bug: the new Value is made without its operands as "
                "children: pass them, e.g. Value(data, (self, other), op), and keep them in "
                "self._prev, or backward() cannot reach them.")
    op_attr = _attr(out, "_op", f"({call})", "keep the name of the op in self._op (a string).")
    if not isinstance(op_attr, str):
        raise GradingError(f"({call})._op is a {type(op_attr).__name__}; it should be a string "
                           "naming the op.")
    _backward(out, call)
    for name, leaf, right in zip(names, leaves, grads):
        got = _grad(leaf, f"{name} = Value({_fmt(xs[names.index(name)])})")
        _check_reached(out, leaf, name, got, right, f"after out = {text}; out.backward() {where}")
        no_grad = op.no_grad or (f"{op.name} passes no gradient back to {name}: the result "
                                 f"has no _backward, or its _backward leaves {name}.grad "
                                 "untouched")
        hints = [(no_grad, 0.0)] + list(op.grad_hints.get(name, lambda e: ())(env))
        hints.append(("the sign is flipped", -right))
        _mismatch(op.name, f"the gradient of {name}", f"after out = {text}; out.backward() "
                  f"{where}", got, right, hints)


def _check_twice(Value, op, xs):
    """``op(a, b) + op(a, b)``: two separate nodes feed each leaf; += adds them, = does not."""
    names = op.leaves
    template = f"{op.template} + {op.template}"
    fn = (lambda *v: op.fn(*v) + op.fn(*v))
    leaves, out, call = _build(Value, op.name, template, fn, names, xs)
    _, grads = _reference(fn, xs)
    _backward(out, call)
    text = f"{op.text()} + {op.text()}"
    where = f"after out = {text}; out.backward() {_with(names, xs)}"
    for name, leaf, right in zip(names, leaves, grads):
        got = _grad(leaf, name)
        _check_reached(out, leaf, name, got, right, where)
        _mismatch(op.name, f"the gradient of {name}", where, got, right,
                  [((f"{op.name.split('.')[1]}'s _backward assigns the gradient (=) "
                     "instead of adding to it (+=): when a Value is used twice, the "
                     "gradients of both uses must add up"), right / 2)])


_SAME_NODE = [
    ("Value.__add__", "a + a", lambda a: a + a),
    ("Value.__mul__", "a * a", lambda a: a * a),
]


def _check_same_node(Value, name, text, fn, x):
    (leaf,), out, call = _build(Value, name, text.replace("a", "{a}"), fn, "a", (x,))
    expected, (right,) = _reference(fn, (x,))
    _mismatch(name, f"the result of {text}", _with("a", (x,)), _data(out, f"({call})"),
              expected)
    _backward(out, call)
    _mismatch(name, "the gradient of a", f"after out = {text}; out.backward() {_with('a', (x,))}",
              _grad(leaf, "a"), right,
              [((f"when the same Value is both operands ({text}), it gets two contributions; "
                f"{name.split('.')[1]}'s _backward must add them (self.grad += ..., "
                "other.grad += ...), not assign (=), or the second overwrites the first"),
                right / 2)])


# ====================================================================== Value: chains

def _diamond(a, b, c):
    e = a * b + c
    return (e.tanh() + 1) * e.exp()


def _deep(a, w, c):
    x = a
    for _ in range(8):
        x = (x * w + c).tanh()
    return x


class _Chain:
    def __init__(self, text, names, fn, domains, fixed=None, kind="chain", hidden_only=False):
        self.text, self.names, self.fn, self.domains = text, names, fn, domains
        self.fixed, self.kind, self.hidden_only = fixed, kind, hidden_only


_CHAINS = [
    _Chain("(a*b + c) * f", "abcf", lambda a, b, c, f: (a * b + c) * f,
           ("any",) * 4, fixed=(2.0, -3.0, 10.0, -2.0)),
    _Chain("(x1*w1 + x2*w2 + b).tanh()", ("x1", "x2", "w1", "w2", "b"),
           lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), ("mid",) * 5),
    _Chain("a.exp() * b + (a*b).tanh() - b / a", "ab",
           lambda a, b: a.exp() * b + (a * b).tanh() - b / a, ("mid", "mid"), kind="paths"),
    _Chain("e = a*b + c; out = (e.tanh() + 1) * e.exp()", "abc", _diamond, ("mid",) * 3,
           kind="diamond"),
    _Chain("(1 - a)**2 / (2 + (-b).exp()) + 3 * (a - b).relu() + (b*b + 1).log()", "ab",
           lambda a, b: (1 - a) ** 2 / (2 + (-b).exp()) + 3 * (a - b).relu()
           + (b * b + 1).log(), ("any", "any")),
    _Chain("x = a, then 8 times x = (x*w + c).tanh()", "awc", _deep, ("mid",) * 3,
           kind="diamond", hidden_only=True),
    _Chain("-(a*b)**2 + 10.0 / (1 + (-a).exp()) - (b - a).relu() * 0.5", "ab",
           lambda a, b: -(a * b) ** 2 + 10.0 / (1 + (-a).exp()) - (b - a).relu() * 0.5,
           ("any", "any"), hidden_only=True),
]

_ORDER = ("Likely bug: every op passed on its own, so look at backward(): each node's "
          "_backward must run exactly once, after the _backward of every node that uses it. "
          "Build the topological order (children before parents, with a visited set) and "
          "call _backward going through it in reverse, from the output down")
_NOT_REACHED = ("the gradient never reached this leaf although every op passed on its own: "
                "backward() goes through the nodes in the wrong order (from the leaves up: "
                "reversed() is missing?) or stops after the output's own _backward; call "
                "_backward on every node in reverse topological order, output first")


def _check_chain(Value, chain, xs):
    names = chain.names
    where = f"in {chain.text} {_with(names, xs)}"
    leaves, out, call = _build(Value, "Value", chain.text, chain.fn, names, xs)
    expected, grads = _reference(chain.fn, xs)
    _mismatch("Value", "the result", where, _data(out, "the result"), expected)
    _backward(out, call)
    found = _reaches(out, leaves, f"the output {where}")
    fallback = _ORDER if chain.kind != "chain" else (
        "Every op passed on its own; if this graph reuses a node, check that backward() "
        "runs each node's _backward once, in reverse topological order")
    for name, leaf, right in zip(names, leaves, grads):
        if id(leaf) not in found:
            raise GradingError(f"Value: {name} cannot be reached from the output {where} by "
                               "following _prev. Likely bug: some op does not record its "
                               "operands as children in _prev.")
        got = _grad(leaf, name)
        _check_reached(out, leaf, name, got, right, f"after out.backward() {where}")
        _mismatch("Value.backward", f"the gradient of {name}", f"after out.backward() {where}",
                  got, right, [(_NOT_REACHED, 0.0)], fallback=fallback)


# ====================================================================== Value: random programs

#: program steps: name -> (on Values, on floats, arity, text); each step reads earlier nodes
_STEPS = {
    "add": (lambda a, b: a + b, lambda x, y: x + y, 2, "{a} + {b}"),
    "sub": (lambda a, b: a - b, lambda x, y: x - y, 2, "{a} - {b}"),
    "mul": (lambda a, b: a * b, lambda x, y: x * y, 2, "{a} * {b}"),
    "div": (lambda a, b: a / b, lambda x, y: x / y, 2, "{a} / {b}"),
    "tanh": (lambda a, b: a.tanh(), lambda x, y: math.tanh(x), 1, "{a}.tanh()"),
    "exp": (lambda a, b: a.exp(), lambda x, y: math.exp(x), 1, "{a}.exp()"),
    "log": (lambda a, b: a.log(), lambda x, y: math.log(x), 1, "{a}.log()"),
    "relu": (lambda a, b: a.relu(), lambda x, y: max(x, 0.0), 1, "{a}.relu()"),
    "square": (lambda a, b: a ** 2, lambda x, y: x ** 2, 1, "{a} ** 2"),
    "neg": (lambda a, b: -a, lambda x, y: -x, 1, "-{a}"),
    "rsub": (lambda a, b: 1.5 - a, lambda x, y: 1.5 - x, 1, "1.5 - {a}"),
    "rdiv": (lambda a, b: 2.0 / a, lambda x, y: 2.0 / x, 1, "2.0 / {a}"),
    "rmul": (lambda a, b: 0.5 * a, lambda x, y: 0.5 * x, 1, "0.5 * {a}"),
}


def _safe(step, x, y):
    """Whether ``step`` is smooth and moderate at these inputs (finite differences work)."""
    if step in ("div",) and abs(y) < 0.3 or step == "rdiv" and abs(x) < 0.3:
        return False
    if step == "log" and x < 0.2 or step == "exp" and abs(x) > 3 or step == "relu" and abs(x) < 0.05:
        return False
    return True


def _program(rng, leaves=3, steps=9):
    """Random steps (name, i, j) over leaves and earlier nodes; later steps reuse nodes."""
    while True:
        xs = [round(float(v), 2) for v in rng.uniform(-1.5, 1.5, size=leaves)]
        values, program = list(xs), []
        for _ in range(steps):
            name = list(_STEPS)[int(rng.integers(len(_STEPS)))]
            # prefer recent nodes so the graph is deep, and shared: a node is read again
            i, j = (int(len(values) - 1 - min(rng.geometric(0.4) - 1, len(values) - 1))
                    for _ in range(2))
            if not _safe(name, values[i], values[j]):
                continue
            value = _STEPS[name][1](values[i], values[j])
            if not abs(value) < 50:
                continue
            program.append((name, i, j))
            values.append(value)
        used = {k for _, i, j in program for k in (i, j)}
        if len(program) >= steps - 2 and used >= set(range(leaves)):
            return xs, program


def _run_program(program, leaves):
    nodes = list(leaves)
    for name, i, j in program:
        nodes.append(_STEPS[name][0](nodes[i], nodes[j]))
    return nodes[-1]


def _float_program(program, xs):
    nodes = list(xs)
    for name, i, j in program:
        nodes.append(_STEPS[name][1](nodes[i], nodes[j]))
    return nodes[-1]


def _program_text(program, leaves):
    names = [f"x{k}" for k in range(leaves)]
    lines = []
    for k, (name, i, j) in enumerate(program):
        names.append(f"n{k}")
        arity, template = _STEPS[name][2], _STEPS[name][3]
        lines.append(f"n{k} = " + template.format(a=names[i], b=names[j] if arity == 2 else ""))
    return "; ".join(lines) + f"; out = n{len(program) - 1}"


def _finite_difference(program, xs, k, h=1e-6):
    up, down = list(xs), list(xs)
    up[k] += h
    down[k] -= h
    return (_float_program(program, up) - _float_program(program, down)) / (2 * h)


def _check_program(Value, program, xs):
    """A random expression with shared nodes: its result and every leaf's gradient, against
    nnlib's Value and against finite differences of the same expression on floats."""
    text = _program_text(program, len(xs))
    where = f"in {text} {_with([f'x{k}' for k in range(len(xs))], xs)}"
    leaves = _leaves(Value, xs)
    out = _node(_run(lambda: _run_program(program, leaves), "Value", text), text)
    expected, grads = _reference(lambda *v: _run_program(program, v), xs)
    _mismatch("Value", "the result", where, _data(out, "the result"), expected)
    _backward(out, text)
    for k, (leaf, right) in enumerate(zip(leaves, grads)):
        got = _grad(leaf, f"x{k}")
        numeric = _finite_difference(program, xs, k)
        if not math.isclose(got, numeric, rel_tol=1e-4, abs_tol=1e-6):
            raise GradingError(f"Value.backward: the gradient of x{k} is {got:.6g} {where}, "
                               "which does not match finite differences of the same "
                               "expression. " + _ORDER + ".")
        _mismatch("Value.backward", f"the gradient of x{k}", where, got, right,
                  fallback=_ORDER)


# ====================================================================== Value: engine-style code

def _engine_style(Value):
    """Code as it is written for the well-known scalar engines: ``+=`` on Values, numbers on
    either side, ``sum`` from 0, a graph walk through ``_prev`` and ``_op``, and a few steps of
    training that reset ``grad`` and move ``data``. Returns the numbers it prints."""
    a, b = Value(-1.5), Value(0.75)
    c = a * b + b ** 3
    c += 1 + c + (-a)
    d = (c - a).relu() + (a - c).relu() * 0.5
    d += 2 * d + b / 4.0
    e = d ** 2 / 3.0 + 7.0 / (d + 10.0) - (a * 0.5).tanh() + (b - 1).exp()
    total = sum([e, a, b])
    total.backward()
    seen, stack, ops = set(), [total], 0
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            ops += bool(node._op)
            stack.extend(node._prev)
    params = [Value(0.3), Value(-0.2), Value(0.1)]
    data = [(1.0, -2.0, 1.0), (0.5, 1.0, -1.0), (-1.5, 0.5, 1.0)]
    for _ in range(5):
        loss = sum((((params[0] * x0 + params[1] * x1 + params[2]).tanh() - y) ** 2
                    for x0, x1, y in data), Value(0.0))
        for p in params:
            p.grad = 0
        loss.backward()
        for p in params:
            p.data += -0.1 * p.grad
    return [total.data, a.grad, b.grad, loss.data] + [p.data for p in params], bool(ops)


_ENGINE_TEXT = ("code written for the well-known scalar engines (c += 1 + c + (-a), sum([...]), "
                "p.grad = 0, p.data += -0.1 * p.grad, a walk through _prev and _op)")
_ENGINE_NAMES = ["the total", "a.grad", "b.grad", "the last loss", "params[0].data after training",
                 "params[1].data after training", "params[2].data after training"]


def _check_engine_style(Value):
    got, has_ops = _run(lambda: _engine_style(Value), "Value", _ENGINE_TEXT)
    expected, _ = _engine_style(_RefValue)
    if not has_ops:
        raise GradingError(f"Value: in {_ENGINE_TEXT}, no node reached through _prev has a "
                           "non-empty _op. Keep the name of the op that made a Value in "
                           "self._op ('+', '*', ...).")
    for name, g, e in zip(_ENGINE_NAMES, got, expected):
        _mismatch("Value", name, f"in {_ENGINE_TEXT}", _number(g, name), e)


def check_Value(Value, hidden=False):
    """The student's scalar autograd ``Value``: every op's result and gradient, then graphs."""
    name = "Value"
    ensure_student_class(Value, name)
    rng = case_rng(name, hidden)
    count = 0
    ops = [op for op in _OPS if hidden or not op.hidden_only]
    draws = 2 if hidden else 1
    inputs = {id(op): [_draw_inputs(rng, op.domains) for _ in range(draws)] for op in ops}
    if not hidden:
        inputs[id(_OPS[1])][0] = (2.0, -3.0)          # the lecture's a * b
    for op in ops:
        for xs in inputs[id(op)]:
            _check_op(Value, op, xs)
            count += 1
    for op in ops:
        if op.domains == ("neg",):                    # relu of a negative: gradient 0
            continue
        _check_twice(Value, op, inputs[id(op)][0])
        count += 1
    for op_name, text, fn in _SAME_NODE:
        for _ in range(draws):
            _check_same_node(Value, op_name, text, fn, _draw(rng, "any"))
            count += 1
    for chain in _CHAINS:
        if chain.hidden_only and not hidden:
            continue
        cases = [chain.fixed] if chain.fixed and not hidden else []
        cases += [_draw_chain_inputs(rng, chain) for _ in range(draws)]
        for xs in cases:
            _check_chain(Value, chain, xs)
            count += 1
    if hidden:
        for _ in range(6):
            xs, program = _program(rng)
            _check_program(Value, program, xs)
            count += 1
    _check_engine_style(Value)
    passed(name, count + 1)


def _draw_chain_inputs(rng, chain):
    while True:
        xs = tuple(_draw(rng, d) for d in chain.domains)
        # relu's kink and large exponentials are kept away from
        if (len(xs) < 2 or abs(xs[0] - xs[1]) >= 0.3) and abs(_reference(chain.fn, xs)[0]) < 1e3:
            if chain.fn is _diamond and abs(xs[0] * xs[1] + xs[2]) > 1.6:
                continue
            return xs


# ====================================================================== networks

_ACTS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, h: 1.0 - h ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, h: h * (1.0 - h)),
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
}


class _Net:
    """What a Neuron, Layer or MLP should compute: sizes, activations, output form."""

    def __init__(self, kind, args, sizes, acts, single, variants=()):
        self.kind, self.args, self.sizes, self.acts, self.single = kind, args, sizes, acts, single
        self.variants = [tuple(v) for v in variants]   # other accepted activations per layer
        self.call = f"{kind}({', '.join(map(repr, args))})"

    def following(self, acts):
        """This net with ``acts``, one of its accepted variants, as the right activations."""
        return _Net(self.kind, self.args, self.sizes, list(acts), self.single)

    @property
    def count(self):
        return sum(nout * (nin + 1) for nin, nout in self.sizes)

    @property
    def neurons(self):
        return sum(nout for _, nout in self.sizes)

    def unflatten(self, values, bias_first):
        """Per layer (W (nout, nin), b (nout,)) from the flat parameter values."""
        layers, i = [], 0
        for nin, nout in self.sizes:
            block = np.asarray(values[i:i + nout * (nin + 1)], float).reshape(nout, nin + 1)
            i += nout * (nin + 1)
            layers.append((block[:, 1:], block[:, 0]) if bias_first
                          else (block[:, :-1], block[:, -1]))
        return layers

    def role(self, index, bias_first):
        """'weight 2 of neuron 0 in layer 1' for a position in parameters()."""
        i = index
        for layer, (nin, nout) in enumerate(self.sizes):
            if i < nout * (nin + 1):
                neuron, j = divmod(i, nin + 1)
                if bias_first:
                    j = nin if j == 0 else j - 1
                what = "the bias" if j == nin else f"weight {j}"
                if self.kind == "Neuron":
                    return what
                return (f"{what} of neuron {neuron}"
                        + (f" in layer {layer}" if self.kind == "MLP" else ""))
            i -= nout * (nin + 1)
        return f"entry {index}"


def _forward(layers, acts, x, use_bias=True):
    hs, zs = [np.asarray(x, float)], []
    for (W, b), act in zip(layers, acts):
        z = W @ hs[-1] + (b if use_bias else 0.0)
        zs.append(z)
        with np.errstate(all="ignore"):
            hs.append(_ACTS[act][0](z))
    return hs, zs


def _gradients(layers, acts, x, weights):
    """d (sum_k weights_k * out_k) / d parameter, flattened like parameters() (bias last)."""
    hs, zs = _forward(layers, acts, x)
    g = np.asarray(weights, float)
    out = []
    for (W, b), act, z, h_in, h_out in reversed(list(zip(layers, acts, zs, hs[:-1], hs[1:]))):
        dz = g * _ACTS[act][1](z, h_out)
        out.append(np.concatenate([np.outer(dz, h_in), dz[:, None]], axis=1).ravel())
        g = W.T @ dz
    return np.concatenate(out[::-1])


def _reorder(grads, net, bias_first):
    """Flat gradients from bias-last order to the student's order."""
    if not bias_first:
        return grads
    out, i = [], 0
    for nin, nout in net.sizes:
        block = grads[i:i + nout * (nin + 1)].reshape(nout, nin + 1)
        i += nout * (nin + 1)
        out.append(np.concatenate([block[:, -1:], block[:, :-1]], axis=1).ravel())
    return np.concatenate(out)


def _hypotheses(net, activation):
    """(acts per layer, use_bias) the student's output might follow; the right one first."""
    others = [a for a in ("relu", "tanh", "sigmoid", "linear") if a != activation]
    right = tuple(net.acts)
    found = [(right, True)]
    depth = len(net.sizes)
    for hidden_act in [activation] + others:
        for last in ["linear", activation] + [a for a in others if a != "linear"]:
            acts = (hidden_act,) * (depth - 1) + (last,)
            if (acts, True) not in found:
                found.append((acts, True))
    found.append((right, False))
    return found


def _explain(net, activation, acts, use_bias):
    """The likely bug when the output follows ``acts`` / ``use_bias`` instead of the right ones."""
    if not use_bias:
        return ("the bias is not added: the output is the activation of w·x without + b (the "
                "bias must take part in the sum)")
    if net.kind != "MLP":
        found = acts[0]
        if found == "linear":
            return (f"no nonlinearity: the output is w·x + b itself; apply {activation} to it "
                    f"(e.g. return act.{activation}())")
        who = "Neuron(nin)" if net.kind == "Neuron" else "the neurons of Layer(nin, nout)"
        return (f"the output is {found}(w·x + b) but this exercise asks for {activation}: "
                f"{who} must use {activation} by default (yours use {found})")
    hidden, last = acts[:-1], acts[-1]
    hidden_act = hidden[0] if hidden else activation
    if hidden_act == "linear" and last == "linear":
        return f"no nonlinearity at all: the hidden layers must apply {activation}"
    if hidden_act == "linear" and last == activation:
        return (f"the nonlinearity is on the wrong layers: the hidden layers apply {activation} "
                "and the last one is linear, yours does the opposite")
    if last == "linear":
        return (f"the hidden layers apply {hidden_act} but this exercise asks for {activation} "
                "(the last layer stays linear)")
    return (f"your layers apply {', '.join(acts)}; the hidden layers should apply {activation} "
            f"and the last layer nothing (or {activation} too)")


def _make(cls, net):
    return _run(lambda: cls(*net.args), net.kind, net.call)


def _parameters(model, net):
    call = f"{net.call}.parameters()"
    method = _attr(model, "parameters", net.call,
                   f"give {net.kind} a method parameters() that returns the list of its Values "
                   "(weights and biases).")
    got = _run(method, f"{net.kind}.parameters", call)
    if got is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    try:
        params = _run(lambda: list(got), f"{net.kind}.parameters", call)
    except GradingError:
        raise GradingError(f"{call} returned a {type(got).__name__}; it should return a list of "
                           "the Values to train.") from None
    nested = [p for p in params if isinstance(p, (list, tuple))]
    if nested:
        raise GradingError(f"{call} returned a list that holds {type(nested[0]).__name__}s (one "
                           "per neuron or layer); it should be ONE flat list of Values, e.g. "
                           "[p for n in self.neurons for p in n.parameters()].")
    numbers_ = [p for p in params if isinstance(p, (numbers.Real, np.number))]
    if numbers_:
        raise GradingError(f"{call} returned numbers, not Values: return the Value objects "
                           "themselves (e.g. self.w + [self.b]), so that training can read "
                           "their grad and change their data.")
    for i, p in enumerate(params):
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            raise GradingError(f"{call}[{i}] is a {type(p).__name__}; every entry should be a "
                               "Value (with .data and .grad).")
    if len(params) != net.count:
        missing_bias = len(params) == net.count - net.neurons
        nin = net.sizes[0][0]
        parts = {"Neuron": f"{nin} weights and 1 bias",
                 "Layer": f"{net.neurons} neurons with {nin} weights and 1 bias each",
                 "MLP": "a weight per input and a bias for every neuron of every layer"}
        raise GradingError(
            f"{call} returned {len(params)} Values; {net.call} has {net.count} parameters "
            f"({parts[net.kind]})."
            + ((" Likely bug: the bias is missing from parameters() (return "
                "self.w + [self.b])." if net.kind == "Neuron" else
                " Likely bug: the biases are missing from parameters() (a neuron returns "
                "self.w + [self.b]).") if missing_bias else ""))
    if len({id(p) for p in params}) != len(params):
        raise GradingError(
            f"{call} lists the same Value more than once. Likely bug: "
            + ("the weights are ONE Value repeated ([Value(...)] * nin makes nin references "
               "to one object); build each with a list comprehension."
               if net.kind == "Neuron" else
               "the neurons (or layers) are one and the same object ([Neuron(nin)] * nout "
               "makes nout references to ONE neuron); build each with a list comprehension."))
    return params


def _outputs(model, net, x, x_text):
    """Call the model on ``x``; the list of output Values (one for a single output)."""
    call = f"{net.call}({x_text})"
    out = _run(lambda: model(x), f"{net.kind}.__call__", call)
    if out is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    nout = net.sizes[-1][1]
    if isinstance(out, np.ndarray) and out.dtype == object and out.ndim == 1:
        out = list(out)               # a numpy array of Values is a list of outputs too
    if isinstance(out, (list, tuple)):
        if net.single and len(out) == 1 or net.kind == "Neuron":
            raise GradingError(
                f"{call} returned a {type(out).__name__} of {len(out)}; "
                + ("a neuron returns one Value." if net.kind == "Neuron" else
                   "with a single output neuron it should return that Value itself "
                   "(out[0] if len(out) == 1 else out), so that the output is a Value you "
                   "can call backward() on."))
        if len(out) != nout and net.kind == "MLP":
            sizes = [n for _, n in net.sizes[:-1]]
            raise GradingError(
                f"{call} returned a {type(out).__name__} of {len(out)} Values; its last layer "
                f"has {nout} neuron{'s' if nout > 1 else ''}, so it should return "
                + ("one Value." if nout == 1 else f"{nout} Values.")
                + (" Likely bug: the last layer is missing: make one Layer per entry of nouts "
                   "(for i in range(len(nouts)))." if len(out) in sizes else ""))
        if len(out) != nout:
            raise GradingError(f"{call} returned a {type(out).__name__} of {len(out)} Values; "
                               f"it should return {nout}, one per output neuron.")
        return [_node(o, f"{call}[{i}]") for i, o in enumerate(out)], call
    if not net.single:
        _node(out, call)
        raise GradingError(f"{call} returned a single {type(out).__name__}; it should return a "
                           f"list of {nout} Values, one per neuron.")
    return [_node(out, call)], call


def _output_data(outs, call):
    return np.array([_data(o, call if len(outs) == 1 else f"{call}[{i}]")
                     for i, o in enumerate(outs)])


def _values(params, net):
    return np.array([_data(p, f"{net.call}.parameters()[{i}]") for i, p in enumerate(params)])


def _set_values(params, values, net):
    for i, (p, v) in enumerate(zip(params, values)):
        try:
            p.data = float(v)
        except Exception as exc:  # noqa: BLE001  whatever the student's Value does
            raise GradingError(f"could not set {net.call}.parameters()[{i}].data "
                               f"({type(exc).__name__}); a Value's data must be a plain, "
                               "writable attribute.") from None


def _matches(got_rows, net, values, inputs, acts, use_bias, bias_first):
    layers = net.unflatten(values, bias_first)
    for got, x in zip(got_rows, inputs):
        want = _forward(layers, acts, x, use_bias)[0][-1]
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
            return False
    return True


def _layout(got_rows, net, values, inputs, activation):
    """(bias_first, acts, use_bias) of the first hypothesis the outputs follow, else None."""
    for acts, use_bias in _hypotheses(net, activation):
        for bias_first in (False, True):
            if _matches(got_rows, net, values, inputs, acts, use_bias, bias_first):
                return bias_first, acts, use_bias
    return None


def _forward_failure(net, activation, got_rows, calls, values, inputs, found, extra=""):
    """The output does not follow from parameters(): name the first input where it is off."""
    first = next((i for i, (got, x) in enumerate(zip(got_rows, inputs))
                  if not any(_matches([got], net, values, [x], tuple(net.acts), True, bias_first)
                             for bias_first in (False, True))), 0)
    got, call = got_rows[first], calls[first]
    shown = f"{got[0]:.6g}" if got.size == 1 else "[" + ", ".join(f"{g:.4g}" for g in got) + "]"
    message = (f"{net.kind}: {call} returned {shown}, which does not follow from the "
               f"Values in {net.call}.parameters()")
    if found is not None:
        _, acts, use_bias = found
        message += f". Likely bug: {_explain(net, activation, acts, use_bias)}."
    else:
        message += (f" ({_describe_rule(net, activation)}, with each neuron's parameters listed "
                    f"as its weights then its bias).{extra}")
    raise GradingError(message)


def _describe_rule(net, activation):
    if net.kind == "MLP":
        return (f"{activation}(W x + b) in the hidden layers, W x + b (or {activation} of it) in "
                "the last one")
    return f"{activation}(w·x + b) for every neuron"


def _show(x):
    return "[" + ", ".join(_fmt(v) for v in x) + "]"


def _check_net(cls, net, activation, rng, hidden):
    """One configuration of a Neuron, Layer or MLP; returns the number of checks made."""
    model = _make(cls, net)
    nin = net.sizes[0][0]
    x0 = [round(float(v), 2) + 0.0 for v in rng.normal(size=nin)]     # + 0.0: no -0.0
    # 1. the student's own initialisation: the output follows from parameters()
    outs, call0 = _outputs(model, net, x0, _show(x0))
    got0 = _output_data(outs, call0)
    params = _parameters(model, net)
    init = _values(params, net)
    at_init = _layout([got0], net, init, [x0], activation)
    if at_init is None:
        _forward_failure(net, activation, [got0], [call0], init, [x0], None)
    # another activation may fit by chance (relu(z) = z for z > 0): step 2 tells them apart

    # 2. our own numbers written into the parameters: they must be the live objects.
    # Lists and numpy arrays, each input also negated (so w·x + b changes sign for many
    # units); the numbers are drawn so that every other activation, or a missing bias,
    # would give other outputs.
    x1 = np.round(rng.normal(scale=1.5, size=nin), 2) + 0.0
    x2 = np.round(rng.normal(scale=1.5, size=nin), 2) + 0.0
    inputs = [x0, x1, [-v + 0.0 for v in x0], -x1 + 0.0, x2.tolist(), -x2 + 0.0]
    if hidden:
        inputs += [(np.round(rng.normal(scale=2.0, size=nin), 2) + 0.0).tolist(), [1] * nin]
    values = _our_values(net, activation, inputs, rng)
    _set_values(params, values, net)
    rows, calls, texts = [], [], []
    for x in inputs:
        text = _show(x) if isinstance(x, list) else f"np.array({_show(x)})"
        texts.append(text)
        outs, call = _outputs(model, net, x, text)
        rows.append(_output_data(outs, call))
        calls.append(call)
    found = _layout(rows, net, values, inputs, activation)
    if found is not None and found[2] and found[1] in net.variants:
        net = net.following(found[1])     # e.g. the lecture's MLP, tanh on its last layer too
    if found is None or found[1:] != (tuple(net.acts), True):
        if at_init[1:] != (tuple(net.acts), True) and found is None:
            _forward_failure(net, activation, [got0], [call0], init, [x0], at_init)
        _explain_copies(model, net, activation, params, init, rows, calls, texts, values,
                        inputs, found)
    if not any(_matches([got0], net, init, [x0], tuple(net.acts), True, bias_first)
               for bias_first in (False, True)):
        _forward_failure(net, activation, [got0], [call0], init, [x0], at_init)
    bias_first = found[0]

    # 3. gradients of every parameter after backward()
    weights = np.round(rng.uniform(0.5, 1.5, size=net.sizes[-1][1]), 2)
    layers = net.unflatten(values, bias_first)
    for x, call, text in zip(inputs, calls, texts):
        for p in params:
            p.grad = 0.0
        outs, _ = _outputs(model, net, x, text)
        if len(outs) == 1:
            root, root_text, w = outs[0], f"out = {call}", [1.0]
        else:
            def weighted_sum(outs=outs):
                total = outs[0] * float(weights[0])
                for o, c in zip(outs[1:], weights[1:]):
                    total = total + o * float(c)
                return total
            root_text = (f"out = the sum of c[k] * {call}[k] with c = {_show(weights)}")
            root = _node(_run(weighted_sum, "Value", root_text), root_text)
            w = weights
        _run(root.backward, "Value.backward", f"({root_text}).backward()")
        grads = np.array([_grad(p, f"{net.call}.parameters()[{i}]")
                          for i, p in enumerate(params)])
        right = _reorder(_gradients(layers, net.acts, x, w), net, bias_first)
        _check_net_grads(net, grads, right, root_text, bias_first)

    zero_grad = getattr(model, "zero_grad", None)
    if callable(zero_grad):                # optional (a Module base class gives it)
        for p in params:
            p.grad = 1.0
        _run(zero_grad, f"{net.kind}.zero_grad", f"{net.call}.zero_grad()")
        left = [i for i, p in enumerate(params) if _grad(p, f"{net.call}.parameters()[{i}]")]
        if left:
            raise GradingError(f"{net.kind}: after {net.call}.zero_grad() parameters()"
                               f"[{left[0]}].grad is not 0. zero_grad() must set p.grad = 0.0 "
                               "for every p in self.parameters().")
    return 3 + len(inputs)


def _ambiguity(net, activation, values, inputs):
    """How badly these parameter values tell the hypotheses apart (0: all of them; None:
    not even the right one from every other, or a pre-activation next to relu's kink).

    Checked in both layouts (bias last or first); the count is of pairs of wrong
    hypotheses that give the same outputs (the diagnosis then names the first one), plus
    the parameters whose gradient is 0 for every input (a relu unit that never fires),
    which the gradient check could not see.
    """
    X = np.array([np.asarray(x, float) for x in inputs])          # (inputs, nin)
    hypotheses = _hypotheses(net, activation)
    count = 0
    for bias_first in (False, True):
        layers = net.unflatten(values, bias_first)
        outputs = []
        for k, (acts, use_bias) in enumerate(hypotheses):
            H, hs, zs = X, [X], []
            for (W, b), act in zip(layers, acts):
                Z = H @ W.T + (b if use_bias else 0.0)
                with np.errstate(all="ignore"):
                    H = _ACTS[act][0](Z)
                zs.append(Z)
                hs.append(H)
            outputs.append(H.ravel())
            if k == 0:                       # the right hypothesis
                if min(np.min(np.abs(Z)) for Z in zs) < 1e-4:
                    return None
                G = np.ones_like(H)          # d sum(outputs) / d H, then down the layers
                for (W, _), act, Z, h_in, h_out in reversed(list(zip(layers, acts, zs, hs[:-1],
                                                                     hs[1:]))):
                    D = G * _ACTS[act][1](Z, h_out)
                    live = np.abs(D) > 1e-9
                    count += int(np.sum(~((live.T.astype(float) @ (np.abs(h_in) > 0)) > 0)))
                    count += int(np.sum(~live.any(axis=0)))
                    G = D @ W
        O = np.array(outputs)
        with np.errstate(all="ignore"):
            same = (np.abs(O[:, None, :] - O[None, :, :])
                    <= 1e-6 + 1e-4 * np.abs(O[None, :, :])).all(axis=2)
        same = np.triu(same, k=1)
        if same[0].any():
            return None
        count += int(same.sum())
    return count


def _our_values(net, activation, inputs, rng):
    """Parameter values that tell the hypotheses apart as well as a few draws can."""
    best, best_count = None, None
    for _ in range(30):
        values = np.round(rng.uniform(-1.0, 1.0, size=net.count), 3)
        count = _ambiguity(net, activation, values, inputs)
        if count is not None and (best_count is None or count < best_count):
            best, best_count = values, count
            if count == 0:
                break
    return values if best is None else best


def _matters(net, values, inputs, i):
    """Whether moving parameter i by 0.5 changes the right outputs (in both layouts)."""
    moved = values.copy()
    moved[i] += 0.5
    for bias_first in (False, True):
        before, after = (net.unflatten(v, bias_first) for v in (values, moved))
        if all(np.allclose(_forward(before, net.acts, x)[0][-1],
                           _forward(after, net.acts, x)[0][-1], rtol=1e-9, atol=1e-12)
               for x in inputs):
            return False
    return True


def _explain_copies(model, net, activation, params, init, rows, calls, texts, values, inputs,
                    found):
    """Our numbers did not show in the output: copies in parameters(), or a wrong forward."""
    if found is not None:
        _forward_failure(net, activation, rows, calls, values, inputs, found)
    # move one parameter at a time: a live one changes the output (our values make every
    # parameter matter for some input), a copy does not
    dead, tried = [], 0
    for i, p in enumerate(params):
        if not _matters(net, values, inputs, i):
            continue          # a dead relu unit: this parameter cannot show
        tried += 1
        moved = values.copy()
        moved[i] += 0.5
        p.data = float(moved[i])
        try:
            after = [_output_data(_outputs(model, net, x, t)[0], c)
                     for x, t, c in zip(inputs, texts, calls)]
        finally:
            p.data = float(values[i])
        if all(np.allclose(a, r, rtol=1e-12, atol=0.0) for a, r in zip(after, rows)):
            dead.append(i)
    if dead and len(dead) == tried:
        raise GradingError(
            f"{net.kind}: changing p.data for every p in {net.call}.parameters() did not change "
            f"the output of {calls[0]}. Likely bug: parameters() returns copies (new Values) "
            "instead of the neuron's own weight and bias objects, so training would change "
            "nothing; return the objects themselves (self.w + [self.b]).")
    if dead:
        i = dead[0]
        roles = {net.role(i, False), net.role(i, True)}
        if len(roles) > 1:       # which layout: the one where keeping the copy's number fits
            kept = values.copy()
            kept[i] = init[i]     # what the copy was made from
            roles = {net.role(i, bias_first) for bias_first in (False, True)
                     if _matches(rows, net, kept, inputs, tuple(net.acts), True, bias_first)}
        role = roles.pop() if len(roles) == 1 else f"entry {i}"
        raise GradingError(
            f"{net.kind}: changing {net.call}.parameters()[{i}].data ({role}) did not change the "
            f"output of {calls[0]}. Likely bug: parameters() returns a copy of that Value "
            "(e.g. Value(self.b.data)) instead of the object the forward pass uses.")
    _forward_failure(net, activation, rows, calls, values, inputs, None,
                     extra=" Check that parameters() lists the very Values your forward pass "
                           "uses.")


def _check_net_grads(net, grads, right, root_text, bias_first):
    where = f"after {root_text} and out.backward()"
    if not np.any(grads) and np.any(np.abs(right) > ATOL):
        raise GradingError(
            f"{net.kind}: no parameter got a gradient {where} (every p.grad is 0). Likely bug: "
            "the output is not connected to the parameters: the forward pass computes with "
            ".data (plain floats) and wraps the result in a new Value, which cuts the graph; "
            "build it with Value operations (wi * xi, +, relu()).")
    for i, (got, want) in enumerate(zip(grads, right)):
        role = net.role(i, bias_first)
        bias = role.startswith("the bias")
        _mismatch(net.kind, f"the grad of parameters()[{i}] ({role})", where, float(got),
                  float(want),
                  [("the bias gets no gradient: it is not part of the graph that makes the "
                    "output (add self.b itself, not self.b.data)" if bias else
                    "this weight gets no gradient: it is not part of the graph that makes the "
                    "output (use the Value wi, not wi.data)", 0.0)],
                  fallback="The forward pass is right, so the gradient comes from your "
                           "Value's backward: make sure check_Value passes")


def _check_nets(cls, name, nets, activation, hidden):
    ensure_student_class(cls, name)
    if activation not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"activation must be 'relu', 'tanh' or 'sigmoid', got {activation!r}")
    rng = case_rng(name, hidden)
    count = 0
    with grading_as(name):      # the student's net may be built on nnlib's Value (BUILDS_ON)
        for net in nets:
            count += _check_net(cls, net, activation, rng, hidden)
    passed(name, count)


def check_Neuron(Neuron, hidden=False, activation="relu"):
    """The student's ``Neuron(nin)``: activation(w·x + b) on their Value, parameters(), grads."""
    sizes = [3, 5] + ([1, 8] if hidden else [])
    nets = [_Net("Neuron", (n,), [(n, 1)], [activation], True) for n in sizes]
    _check_nets(Neuron, "Neuron", nets, activation, hidden)


def check_Layer(Layer, hidden=False, activation="relu"):
    """The student's ``Layer(nin, nout)``: nout neurons (a single Value when nout == 1)."""
    sizes = [(3, 4), (2, 1)] + ([(1, 3), (5, 2)] if hidden else [])
    nets = [_Net("Layer", (nin, nout), [(nin, nout)], [activation], nout == 1)
            for nin, nout in sizes]
    _check_nets(Layer, "Layer", nets, activation, hidden)


def check_MLP(MLP, hidden=False, activation="relu"):
    """The student's ``MLP(nin, nouts)``: hidden layers apply ``activation``; the last layer is
    linear or, as in the lecture, applies ``activation`` too."""
    shapes = [(3, [4, 4, 1]), (2, [3, 2])]
    if hidden:
        shapes += [(1, [5, 1]), (4, [2]), (2, [3, 3, 3, 1])]
    nets = []
    for nin, nouts in shapes:
        sizes = list(zip([nin] + nouts[:-1], nouts))
        acts = [activation] * (len(nouts) - 1) + ["linear"]
        nets.append(_Net("MLP", (nin, nouts), sizes, acts, nouts[-1] == 1,
                         variants=[[activation] * len(nouts)]))
    _check_nets(MLP, "MLP", nets, activation, hidden)
