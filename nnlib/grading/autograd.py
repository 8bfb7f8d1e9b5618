"""Checks for chapter 8 (08_autograd): the student's scalar ``Value``.

``check_Value`` builds the same seeded expressions with the student's class and with
nnlib's reference ``Value`` and compares forward values and gradients: every op on
its own first (so a message can name the op and its likely bug), then each op used
twice (accumulation), then mixed chains, a leaf feeding two paths and a diamond
(the order of the backward pass); hidden, random expressions with shared nodes
(grading/value_programs.py). It does so in four parts (PARTS), each graded in a test
cell of its own: ``+``, ``*`` and ``backward()``; the other operators; the functions;
all of it together. A slip in ``backward()`` costs the first part, not the next two
(their gradients then come from the checks' own backward pass). The ``Neuron``,
``Layer`` and ``MLP`` built on it are checked in grading/modules.py.
"""
import math

from nnlib.grading.core import (GradingError, case_rng, ensure_student_class, has_attributes,
                                passed, type_name)
from nnlib.grading.value_programs import _check_engine_style, _check_program, _program
from nnlib.grading.value_reading import (_ORDER, _attr, _backward, _check_reached, _children,
                                         _close, _data, _fmt, _grad, _grads, _leaves, _mismatch,
                                         _node, _reaches, _reference, _run, _with,
                                         backward_by_the_checks)


# ====================================================================== Value: the ops

#: the exercise's parts, each graded in a test cell of its own (test_Value, then
#: test_Value-<part>): what each one checks
PARTS = {"arithmetic": "+, * and backward()",
         "operators": "**, unary minus, -, / and the reflected operators",
         "functions": "tanh(), exp(), relu() and log()",
         "engine": "all of it together: mixed expressions and code written for the "
                   "well-known scalar engines"}
_FUNCTIONS = {"tanh", "exp", "log", "relu"}


def _part_of(op_name):
    method = op_name.split(".")[-1]
    return ("arithmetic" if method in ("__add__", "__mul__") else
            "functions" if method in _FUNCTIONS else "operators")


class _Op:
    """One op tried on its own: ``template`` shows it ("{a} * {b}"), ``fn`` builds it."""

    def __init__(self, name, template, fn, domains, data_hints=None, grad_hints=None,
                 no_grad=None, hidden_only=False):
        self.name, self.template, self.fn, self.domains = name, template, fn, domains
        self.data_hints = data_hints or (lambda e: ())
        self.grad_hints = grad_hints or {}
        self.no_grad = no_grad
        self.hidden_only = hidden_only
        self.part = _part_of(name)

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
        raise GradingError(f"{what}._op is a {type_name(op)}; it should be a string "
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
        raise GradingError(f"({call})._op is a {type_name(op_attr)}; it should be a string "
                           "naming the op.")
    _backward(out, call)
    gots = _grads(leaves, [f"{name} = Value({_fmt(xs[names.index(name)])})" for name in names])
    for name, leaf, right, got in zip(names, leaves, grads, gots):
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
    for name, leaf, right, got in zip(names, leaves, grads, _grads(leaves, names)):
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
    def __init__(self, part, text, names, fn, domains, fixed=None, kind="chain",
                 hidden_only=False):
        self.part, self.text, self.names, self.fn, self.domains = part, text, names, fn, domains
        self.fixed, self.kind, self.hidden_only = fixed, kind, hidden_only


def _squared_plus(a, b, c):
    e = a * b + c
    return e * e + e


_CHAINS = [
    _Chain("arithmetic", "(a*b + c) * f", "abcf", lambda a, b, c, f: (a * b + c) * f,
           ("any",) * 4, fixed=(2.0, -3.0, 10.0, -2.0)),
    _Chain("arithmetic", "e = a*b + c; out = e*e + e", "abc", _squared_plus, ("mid",) * 3,
           kind="diamond"),
    _Chain("functions", "(x1*w1 + x2*w2 + b).tanh()", ("x1", "x2", "w1", "w2", "b"),
           lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), ("mid",) * 5),
    _Chain("functions", "e = a*b + c; out = (e.tanh() + 1) * e.exp()", "abc", _diamond,
           ("mid",) * 3, kind="diamond"),
    _Chain("functions", "x = a, then 8 times x = (x*w + c).tanh()", "awc", _deep,
           ("mid",) * 3, kind="diamond", hidden_only=True),
    _Chain("engine", "a.exp() * b + (a*b).tanh() - b / a", "ab",
           lambda a, b: a.exp() * b + (a * b).tanh() - b / a, ("mid", "mid"), kind="paths"),
    _Chain("engine", "(1 - a)**2 / (2 + (-b).exp()) + 3 * (a - b).relu() + (b*b + 1).log()",
           "ab", lambda a, b: (1 - a) ** 2 / (2 + (-b).exp()) + 3 * (a - b).relu()
           + (b * b + 1).log(), ("any", "any")),
    _Chain("engine", "-(a*b)**2 + 10.0 / (1 + (-a).exp()) - (b - a).relu() * 0.5", "ab",
           lambda a, b: -(a * b) ** 2 + 10.0 / (1 + (-a).exp()) - (b - a).relu() * 0.5,
           ("any", "any"), hidden_only=True),
]

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
    for name, leaf in zip(names, leaves):
        if id(leaf) not in found:
            raise GradingError(f"Value: {name} cannot be reached from the output {where} by "
                               "following _prev. Likely bug: some op does not record its "
                               "operands as children in _prev.")
    for name, leaf, right, got in zip(names, leaves, grads, _grads(leaves, names)):
        _check_reached(out, leaf, name, got, right, f"after out.backward() {where}")
        _mismatch("Value.backward", f"the gradient of {name}", f"after out.backward() {where}",
                  got, right, [(_NOT_REACHED, 0.0)], fallback=fallback)


def check_Value(Value, hidden=False, part=None):
    """The student's scalar autograd ``Value``: every op's result and gradient, then graphs.

    ``part`` checks one part of the exercise (PARTS), each graded on its own; None checks
    them all, in order. The parts after the first do not charge a broken backward() again:
    where the student's backward() gets the first part's order-sensitive graph wrong, their
    gradients come from the checks' own backward pass through each node's ``_backward``,
    and the code written for the well-known engines (which calls backward() itself) is left
    to the first part's verdict.
    """
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, or None for all of them")
    name = "Value"
    ensure_student_class(Value, name)
    count = 0
    for each in (PARTS if part is None else [part]):
        rng = case_rng(name if each == "arithmetic" else f"{name}-{each}", hidden)
        by_the_checks = part is not None and each != "arithmetic" and not _backward_works(Value)
        with backward_by_the_checks(by_the_checks):
            count += _check_part(Value, each, rng, hidden, engine_code=not by_the_checks)
    passed(name if part is None else f"{name}, {PARTS[part]}", count)


#: hidden random expressions per part, and the steps each may use (value_programs._STEPS)
_PROGRAMS = {"arithmetic": (1, ("add", "mul")),
             "operators": (1, ("add", "mul", "sub", "div", "neg", "rsub", "rdiv", "rmul",
                               "square")),
             "functions": (1, ("add", "mul", "tanh", "exp", "log", "relu")),
             "engine": (3, None)}


def _check_part(Value, part, rng, hidden, engine_code=True):
    """The checks of one part; how many passed. ``engine_code``: run the engine part's code
    written for the well-known engines, which calls the student's backward()."""
    count = 0
    ops = [op for op in _OPS if op.part == part and (hidden or not op.hidden_only)]
    draws = 2 if hidden else 1
    inputs = {id(op): [_draw_inputs(rng, op.domains) for _ in range(draws)] for op in ops}
    if part == "arithmetic" and not hidden:
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
    if part == "arithmetic":
        for op_name, text, fn in _SAME_NODE:
            for _ in range(draws):
                _check_same_node(Value, op_name, text, fn, _draw(rng, "any"))
                count += 1
    for chain in _CHAINS:
        if chain.part != part or chain.hidden_only and not hidden:
            continue
        cases = [chain.fixed] if chain.fixed and not hidden else []
        cases += [_draw_chain_inputs(rng, chain) for _ in range(draws)]
        for xs in cases:
            _check_chain(Value, chain, xs)
            count += 1
    if hidden:
        programs, steps = _PROGRAMS[part]
        for _ in range(programs):
            xs, program = _program(rng, allowed=steps)
            _check_program(Value, program, xs)
            count += 1
    if part == "engine" and engine_code:
        _check_engine_style(Value)
        count += 1
    return count


def _backward_works(Value):
    """Whether the student's backward() gets the first part's order-sensitive graph right
    (a + and * graph whose node e feeds two others); False where the check of that graph
    fails, whatever the cause."""
    chain = next(c for c in _CHAINS if c.fn is _squared_plus)
    try:
        _check_chain(Value, chain, (0.6, -0.7, 0.4))
    except GradingError:
        return not _has_local_steps(Value)     # without _backward, only backward() can
    return True


def _has_local_steps(Value):
    """Whether the student's op results keep their local step in ``_backward``."""
    try:
        found = has_attributes(_run(lambda: Value(2.0) * Value(3.0), "Value", "Value(2.0) * "
                                    "Value(3.0)"), ("_backward",))
    except GradingError:
        return False
    return bool(found and found[0])


def _draw_chain_inputs(rng, chain):
    while True:
        xs = tuple(_draw(rng, d) for d in chain.domains)
        # relu's kink and large exponentials are kept away from
        if (len(xs) < 2 or abs(xs[0] - xs[1]) >= 0.3) and abs(_reference(chain.fn, xs)[0]) < 1e3:
            if chain.fn is _diamond and abs(xs[0] * xs[1] + xs[2]) > 1.6:
                continue
            return xs
