"""Hidden checks of the student's ``Value`` beyond single operations: random expressions
with shared nodes (against finite differences and nnlib's Value), and code written for the
well-known scalar engines run unchanged."""
import math

from nnlib.autograd import Value as _RefValue
from nnlib.grading.core import GradingError
from nnlib.grading.value_reading import (_ORDER, _backward, _data, _grad, _leaves, _mismatch, _node, _number, _reference, _run, _with)

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


def _program(rng, leaves=3, steps=9, allowed=None):
    """Random steps (name, i, j) over leaves and earlier nodes; later steps reuse nodes.
    ``allowed`` names the steps it may use (default: all of _STEPS)."""
    names = list(allowed or _STEPS)
    while True:
        xs = [round(float(v), 2) for v in rng.uniform(-1.5, 1.5, size=leaves)]
        values, program = list(xs), []
        for _ in range(steps):
            name = names[int(rng.integers(len(names)))]
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


def _run_program(program, leaves, on_floats=False):
    """The program's output for these leaves: Values, or plain floats with ``on_floats``."""
    nodes = list(leaves)
    for name, i, j in program:
        nodes.append(_STEPS[name][1 if on_floats else 0](nodes[i], nodes[j]))
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
    return (_run_program(program, up, True) - _run_program(program, down, True)) / (2 * h)


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


# ---------------------------------------------------------------------- engine-style code

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
