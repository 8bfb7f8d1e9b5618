"""Reading a student's scalar ``Value`` for the chapter 8 checks: its numbers and children,
walks through ``_prev``, and messages that name what is wrong without the expected value.

Every call into student code goes through :func:`core.call_student` with a closure:
a Value graph must not be deep-copied (its ``_backward`` closures point at the
original nodes).
"""
import contextlib
import math
import numbers

import numpy as np

from nnlib.autograd import Value as _RefValue
from nnlib.grading.core import (GradingError, attributes, call_student, has_attributes,
                                type_name)

#: a correct student engine differs from nnlib's by rounding only (another formula
#: for tanh, a / b written as a * b**-1, numpy floats in ``data``)
RTOL, ATOL = 1e-6, 1e-9
#: largest graph the _prev walk follows (the checks' graphs have fewer than 200 nodes)
_MAX_NODES = 5000


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
        f"{what} is a {type_name(value)}, not a number."
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
        raise GradingError(f"reading {what}.{attr} raised {type_name(exc)}"
                           + (f": {detail[0]}" if detail else "")) from None


def _data(node, what):
    return _number(_attr(node, "data", what, "every Value keeps its number in self.data."),
                   f"{what}.data")


def _grad(node, what):
    return _number(_attr(node, "grad", what, "every Value keeps its gradient in self.grad "
                                             "(0.0 when it is made)."), f"{what}.grad")


def _datas(nodes, whats):
    """[_data(node, what) ...], the numbers read in one go (one request in course grade)."""
    return _numbers(nodes, whats, "data", _data)


def _grads(nodes, whats):
    """[_grad(node, what) ...], read in one go."""
    return _numbers(nodes, whats, "grad", _grad)


def _numbers(nodes, whats, attr, one):
    nodes, whats = list(nodes), list(whats)
    values = attributes(nodes, attr)
    if values is None:         # one of them fails: read them one by one, for its message
        return [one(node, what) for node, what in zip(nodes, whats)]
    return [_number(value, f"{what}.{attr}") for value, what in zip(values, whats)]


def _node(result, call):
    """The student's op result must be a Value-like object (``data`` and ``grad``)."""
    if result is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    found = has_attributes(result, ("data", "grad"))
    if not all(found if found is not None else (hasattr(result, "data")
                                                and hasattr(result, "grad"))):
        number = isinstance(result, (numbers.Real, np.number))
        raise GradingError(
            f"{call} returned a {type_name(result)}; it should return a Value (with .data "
            "and .grad)." + (" Likely bug: you return the number itself; wrap it: "
                             "Value(number, children, op), so it joins the graph."
                             if number else ""))
    return result


def _value_like(objects):
    """Whether every one of ``objects`` has ``data`` and ``grad``, read in two requests;
    False too when reading one raises (the caller then looks one by one, for its message)."""
    return attributes(objects, "data") is not None and attributes(objects, "grad") is not None


def _nodes(results, calls):
    """[_node(result, call) ...]: every result Value-like, checked in two requests."""
    results = list(results)
    if all(r is not None for r in results) and _value_like(results):
        return results
    return [_node(result, call) for result, call in zip(results, calls)]


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
    return _listed(prev, what)


def _listed(prev, what):
    try:
        return list(prev)
    except TypeError:
        raise GradingError(f"{what}._prev is a {type_name(prev)}; it should be the set of "
                           "the Value's children (set(_children)).") from None


def _children_of(nodes, what):
    """[_children(node, what) for node in nodes], the ``_prev`` read in one go."""
    prevs = attributes(nodes, "_prev")
    if prevs is None:          # one of them fails: read them one by one, for its message
        return [_children(node, what) for node in nodes]
    return [_listed(prev, what) for prev in prevs]


def _graph(root, what):
    """Every node reachable from ``root`` through ``_prev`` (at most _MAX_NODES), level by
    level: one read of ``_prev`` per level in course grade."""
    return _graph_edges(root, what)[0]


def _graph_edges(root, what):
    """(``_graph(root, what)``, {id(node): its children}) in the same reads of ``_prev``."""
    nodes, below, seen, level = [root], {}, {id(root)}, [root]
    while level and len(seen) < _MAX_NODES:
        following = []
        for node, children in zip(level, _children_of(level, what)):
            below[id(node)] = children
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    following.append(child)
        nodes += following
        level = following
    for node in nodes:
        below.setdefault(id(node), [])
    return nodes, below


def _checks_backward(out, call):
    """backward() as the exercise specifies it, done by the checks: ``out.grad = 1.0``, then
    the ``_backward`` of every node in reverse topological order (children after all of
    their parents), each node's own local step the student wrote."""
    what = f"({call})"
    _, below = _graph_edges(out, what)
    order, done, stack = [], set(), [(out, False)]
    while stack:                             # iterative post-order: children first
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in done:
            done.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in below[id(node)])
    out.grad = 1.0
    steps = attributes(order[::-1], "_backward")
    if steps is None:
        steps = [_attr(node, "_backward", what, "every Value keeps its local backward step in "
                       "self._backward (a function that does nothing for a leaf).")
                 for node in order[::-1]]
    for step in steps:
        step()


def _reaches(root, targets, what):
    """Which of ``targets`` can be reached from ``root`` by following ``_prev``."""
    return _run(lambda: _walk(root, targets, what), "Value", f"following _prev from {what}")


def _walk(root, targets, what):
    wanted = {id(t) for t in targets}
    return {id(node) for node in _graph(root, what) if id(node) in wanted}


def _stuck(root, leaf, what):
    """Whether a node between ``root`` and ``leaf`` holds a gradient that never reached it."""
    return _run(lambda: _stuck_walk(root, leaf, what), "Value", f"following _prev {what}")


def _stuck_walk(root, leaf, what):
    for node in _graph(root, what):
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


#: who runs the backward pass in the checks in progress: the student's backward(), or,
#: where that failed the first part's checks (check_Value's part="arithmetic"), the checks
#: themselves through each node's own _backward (``_checks_backward``)
_BY_THE_CHECKS = [False]


@contextlib.contextmanager
def backward_by_the_checks(yes=True):
    """Within it, ``_backward`` runs the checks' own backward pass (see ``_BY_THE_CHECKS``)."""
    _BY_THE_CHECKS.append(bool(yes))
    try:
        yield
    finally:
        _BY_THE_CHECKS.pop()


def _backward(out, call):
    if _BY_THE_CHECKS[-1]:
        return _run(lambda: _checks_backward(out, call), "Value._backward",
                    f"the _backward of each node of ({call}), output first")
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


_ORDER = ("Likely bug: every op passed on its own, so look at backward(): each node's "
          "_backward must run exactly once, after the _backward of every node that uses it. "
          "Build the topological order (children before parents, with a visited set) and "
          "call _backward going through it in reverse, from the output down")
