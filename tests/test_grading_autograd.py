"""Tests for the chapter 8 checks (08_autograd): nnlib.grading.autograd, value_programs and modules.

Every "student" class here is written the way notebook code would be: classes
defined in this module, never nnlib's own. The wrong ones each override one
method of a correct class with a realistic mistake.
"""
import functools
import itertools
import math
import random
import re

import numpy as np
import pytest
from gradingtools import HIDDEN, failure, passes

import nnlib
from nnlib import grading as checks
from nnlib.grading import core, value_programs
from nnlib.grading.autograd import PARTS


def only_yours_after(message, marker):
    """After ``marker`` the message shows the student's number and no other multi-digit number."""
    assert marker in message, message
    tail = message.split(marker, 1)[1]
    tail = re.sub(r"\(relative error [^)]*\)", "", tail)
    numbers = re.findall(r"-?\d+\.\d+(?:e-?\d+)?", tail)
    long_ones = [n for n in numbers[1:] if len(re.sub(r"[^1-9]", "", n.split("e")[0])) >= 3]
    assert not long_ones, f"numbers other than the student's after {marker!r}: {message}"


# ====================================================================== Value: correct

class ClosureValue:
    """The lecture's style: each op sets a _backward closure on its output."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def _lift(self, other):
        return other if isinstance(other, ClosureValue) else type(self)(other)

    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "only int/float powers"
        out = type(self)(self.data ** n, (self,), f"**{n}")

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._lift(other)
        out = type(self)(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._lift(other)
        out = type(self)(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def tanh(self):
        e = math.exp(2 * self.data)
        t = (e - 1) / (e + 1)
        out = type(self)(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = type(self)(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = type(self)(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += (1 / self.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = type(self)(self.data if self.data > 0 else 0.0, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


class TupleValue:
    """Another style: (child, local derivative) pairs, numpy floats, ops built from others."""

    def __init__(self, data, parents=(), op=""):
        self.data = np.float64(data)
        self.grad = np.float64(0.0)
        self.parents = tuple(parents)
        self._op = op

    @property
    def _prev(self):
        return {child for child, _ in self.parents}

    @staticmethod
    def wrap(x):
        return x if isinstance(x, TupleValue) else TupleValue(x)

    def __add__(self, other):
        other = self.wrap(other)
        return TupleValue(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

    __radd__ = __add__

    def __mul__(self, other):
        other = self.wrap(other)
        return TupleValue(self.data * other.data, ((self, other.data), (other, self.data)), "*")

    __rmul__ = __mul__

    def __neg__(self):
        return TupleValue(-self.data, ((self, -1.0),), "neg")

    def __sub__(self, other):
        return self + (-self.wrap(other))

    def __rsub__(self, other):
        return self.wrap(other) + (-self)

    def __pow__(self, n):
        return TupleValue(self.data ** n, ((self, n * self.data ** (n - 1)),), f"**{n}")

    def __truediv__(self, other):
        return self * self.wrap(other) ** -1

    def __rtruediv__(self, other):
        return self.wrap(other) * self ** -1

    def tanh(self):
        t = np.tanh(self.data)
        return TupleValue(t, ((self, 1 - t * t),), "tanh")

    def exp(self):
        e = np.exp(self.data)
        return TupleValue(e, ((self, e),), "exp")

    def log(self):
        return TupleValue(np.log(self.data), ((self, 1 / self.data),), "log")

    def relu(self):
        positive = self.data > 0
        return TupleValue(self.data if positive else 0.0, ((self, float(positive)),), "relu")

    def backward(self):
        order, done = [], set()
        stack = [(self, False)]
        while stack:                       # iterative post-order: children first
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in done:
                done.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child, _ in node.parents)
        self.grad = np.float64(1.0)
        for node in reversed(order):
            for child, local in node.parents:
                child.grad += local * node.grad


@HIDDEN
@pytest.mark.parametrize("cls", [ClosureValue, TupleValue])
def test_value_accepts_correct_variants(cls, hidden, capsys):
    passes(checks.check_Value, cls, hidden, capsys, "Value")


class WithoutOpNames(ClosureValue):
    """Records children but never the op's name: graph drawings show no operators."""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(data, _children, "")


def test_engine_style_code_needs_op_names():
    failure(checks.check_Value, WithoutOpNames, False,
            r"^Value: in code written for the well-known scalar engines .*no node reached "
            r"through _prev has a non-empty _op")


class TanhSlope(ClosureValue):
    """tanh's local derivative uses the input: 1 - a**2."""

    def tanh(self):
        out = type(self)(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - self.data ** 2) * out.grad
        out._backward = _backward
        return out


def test_random_programs_are_checked_against_finite_differences():
    program = [("mul", 0, 1), ("tanh", 2, 2), ("add", 3, 0), ("mul", 4, 3)]
    value_programs._check_program(ClosureValue, program, (0.4, -0.9))
    with pytest.raises(AssertionError, match=r"^Value\.backward: the gradient of x0 is .* in "
                       r"n0 = x0 \* x1; n1 = n0\.tanh\(\); n2 = n1 \+ x0; n3 = n2 \* n1; "
                       r"out = n3 with x0 = 0\.4, x1 = -0\.9, which does not match finite "
                       r"differences"):
        value_programs._check_program(TanhSlope, program, (0.4, -0.9))


def test_random_programs_share_nodes_and_reach_every_leaf():
    rng = np.random.default_rng(3)
    for _ in range(20):
        xs, program = value_programs._program(rng)
        reads = [k for _, i, j in program for k in (i, j)]
        assert set(range(len(xs))) <= set(reads)
        assert len(reads) > len(set(reads))          # some node is read twice


# ====================================================================== Value: wrong

class AddAssigns(ClosureValue):
    def __add__(self, other):
        other = self._lift(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out


class MulAssigns(ClosureValue):
    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out


class MulOwnOperand(ClosureValue):
    def __mul__(self, other):
        other = self._lift(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += self.data * out.grad
            other.grad += other.data * out.grad
        out._backward = _backward
        return out


class SubSign(ClosureValue):
    def __sub__(self, other):
        other = self._lift(other)
        out = type(self)(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out


class TanhOfInput(ClosureValue):
    def tanh(self):
        x = self.data
        out = type(self)(math.tanh(x), (self,), "tanh")

        def _backward():
            self.grad += (1 - x ** 2) * out.grad
        out._backward = _backward
        return out


class ExpOfInput(ClosureValue):
    def exp(self):
        out = type(self)(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += self.data * out.grad
        out._backward = _backward
        return out


class LogNotInverted(ClosureValue):
    def log(self):
        out = type(self)(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += self.data * out.grad
        out._backward = _backward
        return out


class PowWithoutMinusOne(ClosureValue):
    def __pow__(self, n):
        out = type(self)(self.data ** n, (self,), f"**{n}")

        def _backward():
            self.grad += n * self.data ** n * out.grad
        out._backward = _backward
        return out


class DivWithoutBackward(ClosureValue):
    def __truediv__(self, other):
        other = self._lift(other)
        return type(self)(self.data / other.data, (self, other), "/")    # no _backward


class DivWithoutChildren(ClosureValue):
    def __truediv__(self, other):
        return type(self)(self.data / self._lift(other).data)


class RsubSwapped(ClosureValue):
    def __rsub__(self, other):
        return self - other


class RtruedivSwapped(ClosureValue):
    def __rtruediv__(self, other):
        return self / other


class ReluLeaks(ClosureValue):
    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "ReLU")

        def _backward():
            self.grad += out.grad
        out._backward = _backward
        return out


class NoSeed(ClosureValue):
    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        for v in reversed(topo):
            v._backward()


class NotReversed(ClosureValue):
    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in topo:
            v._backward()


class RecursiveBackward(ClosureValue):
    """No topological sort: each node pushes its gradient down as soon as it is reached."""

    def backward(self):
        self.grad = 1.0
        self._push()

    def _push(self):
        self._backward()
        for child in self._prev:
            child._push()


class ChildrenNotPrev(ClosureValue):
    """Keeps the children under another name, so there is no _prev."""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(data, _children, _op)
        del self._prev
        self._children = set(_children)

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


A_IS = r"with a = -?\d+\.\d+"


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (AddAssigns, (r"^Value\.__add__: the gradient of a is wrong after out = a \+ b \+ a \+ b; "
                 r"out\.backward\(\) with a = .*: yours is .*Likely bug: __add__'s _backward "
                 r"assigns the gradient \(=\) instead of adding to it \(\+=\)")),
    (MulAssigns, (r"^Value\.__mul__: the gradient of a is wrong after out = a \* b \+ a \* b;.*"
                 r"Likely bug: __mul__'s _backward assigns the gradient \(=\)")),
    (MulOwnOperand, (r"^Value\.__mul__: the gradient of a is wrong after out = a \* b; "
                    r"out\.backward\(\) with a = .*Likely bug: the local derivative of a\*b with "
                    r"respect to a is the OTHER operand b")),
    (SubSign, (r"^Value\.__sub__: the gradient of b is wrong .*Likely bug: the local derivative "
              r"of a - b with respect to b is -1; the minus sign is missing")),
    (TanhOfInput, (rf"^Value\.tanh: the gradient of a is wrong after out = a\.tanh\(\); "
                  rf"out\.backward\(\) {A_IS}: yours is .*Likely bug: the local derivative of "
                  r"tanh with respect to a is 1 - t\*\*2 where t is the OUTPUT tanh\(a\); yours "
                  r"uses the input a")),
    (ExpOfInput, (r"^Value\.exp: the gradient of a is wrong .*Likely bug: the local derivative "
                 r"of exp\(a\) with respect to a is exp\(a\) itself, the OUTPUT")),
    (LogNotInverted, (r"^Value\.log: the gradient of a is wrong .*Likely bug: the local "
                     r"derivative of log\(a\) with respect to a is 1/a; yours uses a\.$")),
    (PowWithoutMinusOne, (r"^Value\.__pow__: the gradient of a is wrong after out = a \*\* 3;"
                         r".*Likely bug: .*n \* a\*\*\(n-1\); yours is n \* a\*\*n: the - 1 in "
                         r"the exponent is missing")),
    (DivWithoutBackward, (r"^Value\.__truediv__: the gradient of a is wrong after out = a / b;"
                         r".*yours is 0 .*Likely bug: Value\.__truediv__ passes no gradient back")),
    (DivWithoutChildren, (r"^Value\.__truediv__: a is not among the children of a / b with a = "
                         r".*Likely bug: the new Value is made without its operands as children")),
    (RsubSwapped, (rf"^Value\.__rsub__: the result of 3\.0 - a is wrong {A_IS}: yours is .*"
                  r"Likely bug: __rsub__ has its operands swapped")),
    (RtruedivSwapped, (rf"^Value\.__rtruediv__: the result of 10\.0 / a is wrong {A_IS}: .*Likely "
                      r"bug: __rtruediv__ has its operands swapped")),
    (ReluLeaks, (r"^Value\.relu: the gradient of a is wrong after out = a\.relu\(\); "
                r"out\.backward\(\) with a = -\d\.\d+: yours is 1 .*Likely bug: the gradient "
                r"of relu passes through for a negative input")),
    (NoSeed, (r"^Value\.backward: after \(Value\(-?\d\.\d+\) \+ Value\(-?\d\.\d+\)\)\.backward\(\) "
             r"the output's own grad is 0\. Likely bug: backward\(\) does not seed the gradient: "
             r"it must start with self\.grad = 1\.0")),
    (NotReversed, (r"^Value\.backward: the gradient of a is 0 after out = a \+ b \+ a \+ b; "
                  r"out\.backward\(\) with a = .*, although a node between the output and a has "
                  r"a gradient\. Likely bug: backward\(\) goes through the nodes in the wrong "
                  r"order \(from the leaves up: reversed\(\) is missing\?\)")),
    (RecursiveBackward, (r"^Value\.backward: the gradient of \w is wrong after "
                         r"out\.backward\(\) in "
                        r"e = a\*b \+ c; out = e\*e \+ e with a = .*"
                        r"Likely bug: every op passed on its own, so look at backward\(\)")),
    (ChildrenNotPrev, (r"^Value\(-?\d\.\d+\) has no attribute _prev: keep the children of every "
                      r"Value in self\._prev")),
], ids=["add-assigns", "mul-assigns", "mul-own-operand", "sub-sign", "tanh-input", "exp-input",
        "log-not-inverted", "pow-no-minus-one", "div-no-backward", "div-no-children",
        "rsub-swapped", "rtruediv-swapped", "relu-leaks", "no-seed", "not-reversed",
        "recursive-backward", "children-not-prev"])
def test_value_rejects_wrong_variants(cls, match, hidden):
    message = failure(checks.check_Value, cls, hidden, match)
    if ": yours is " in message:
        only_yours_after(message, ": yours is ")


def test_value_not_reversed_is_caught_for_ops_built_from_others():
    class Value(TupleValue):
        """sub is a + (-b): two levels, so a backward from the leaves up loses b's gradient."""

        @staticmethod
        def wrap(x):
            return x if isinstance(x, TupleValue) else Value(x)

        def __neg__(self):
            return Value(-self.data, ((self, -1.0),), "neg")

        def __add__(self, other):
            other = self.wrap(other)
            return Value(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

        def __mul__(self, other):
            other = self.wrap(other)
            return Value(self.data * other.data, ((self, other.data), (other, self.data)), "*")

        def backward(self):
            order, done = [], set()

            def visit(node):
                if node not in done:
                    done.add(node)
                    for child, _ in node.parents:
                        visit(child)
                    order.append(node)
            visit(self)
            self.grad = 1.0
            for node in order:                           # reversed() forgotten
                for child, local in node.parents:
                    child.grad += local * node.grad
    failure(functools.partial(checks.check_Value, part="operators"), Value, False,
            r"^Value\.backward: the gradient of b is 0 after out = a - b; out\.backward\(\) "
            r"with a = .*although a node between the output and b has a gradient\. Likely bug: "
            r"backward\(\) goes through the nodes in the wrong order")


def test_value_lecture_numbers_come_first():
    class Value(ClosureValue):
        def __mul__(self, other):
            return super().__mul__(other) + 1     # off by one
    message = failure(checks.check_Value, Value, False,
                      r"^Value\.__mul__: the result of a \* b is wrong with a = 2\.0, b = -3\.0: "
                      r"yours is -5 \(relative error")
    assert "-6" not in message


def test_value_data_that_is_a_value_is_explained():
    class Value(ClosureValue):
        def _lift(self, other):
            return type(self)(other)             # wraps Values too
    failure(checks.check_Value, Value, True,
            r"^\(Value\(-?\d\.\d+\) \+ Value\(-?\d\.\d+\)\)\.data is a Value, not a number\. "
            r"Likely bug: a Value wrapped in another Value")


def test_value_returning_a_number_is_explained():
    class Value(ClosureValue):
        def exp(self):
            return math.exp(self.data)
    failure(checks.check_Value, Value, False,
            r"^Value\(-?\d\.\d+\)\.exp\(\) returned a float; it should return a Value .*Likely "
            r"bug: you return the number itself")


def test_value_leaf_attributes():
    class GradNone(ClosureValue):
        def __init__(self, data, _children=(), _op=""):
            super().__init__(data, _children, _op)
            self.grad = None
    failure(checks.check_Value, GradNone, False,
            r"^Value\(-?\d\.\d+\)\.grad is a NoneType, not a number\.")

    class NoOp(ClosureValue):
        def __init__(self, data, _children=(), _op=""):
            super().__init__(data, _children)
            del self._op
    failure(checks.check_Value, NoOp, False,
            r"^Value\(-?\d\.\d+\) has no attribute _op: keep the name of the op")


# ---------------------------------------------------------------- Value: the generic failures

class ValueStub:
    def __init__(self, data, _children=(), _op=""):
        raise NotImplementedError()

    def __add__(self, other):
        raise NotImplementedError()

    def backward(self):
        raise NotImplementedError()


class TanhStub(ClosureValue):
    def tanh(self):
        raise NotImplementedError()


class BackwardStub(ClosureValue):
    def backward(self):
        raise NotImplementedError()


class AddForgetsReturn(ClosureValue):
    def __add__(self, other):
        out = super().__add__(other)
        out.grad = 0.0


class MulRaises(ClosureValue):
    def __mul__(self, other):
        return len(3.5)


class EndlessBackward(ClosureValue):
    def backward(self):
        self.grad = 1.0
        while True:
            self.grad += 0.0


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (ValueStub, r"^Value is not implemented yet: it still raises NotImplementedError"),
    (TanhStub, r"^Value\.tanh is not implemented yet: it still raises NotImplementedError"),
    (BackwardStub, (r"^Value\.backward is not implemented yet: it still raises "
                   r"NotImplementedError")),
    (AddForgetsReturn, (r"^Value\(-?\d\.\d+\) \+ Value\(-?\d\.\d+\) returned None\. Did you forget "
                       r"the `return` statement\?$")),
    (MulRaises, (r"^Value\(-?\d\.\d+\) \* Value\(-?\d\.\d+\) raised TypeError: object of type "
                r"'float' has no len\(\)$")),
    (nnlib.Value, r"^Value is nnlib's reference implementation, not yours\."),
    (3.0, r"^Value should be a class, but it is a float\. Did you overwrite it with a value\?"),
], ids=["stub", "tanh-stub", "backward-stub", "none", "exception", "reference", "value"])
def test_value_generic_failures(cls, match, hidden):
    failure(checks.check_Value, cls, hidden, match)


class WithoutNeg(ClosureValue):
    """Everything but unary minus (and what Python builds on it)."""
    __neg__ = None


class ReluOfInputSign(ClosureValue):
    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += out.grad              # passes through for negative inputs too
        out._backward = _backward
        return out


#: each realistic bug, and the parts of the exercise it costs; every other part passes
VALUE_PARTS = list(PARTS)
BROKEN_PARTS = [
    (NoSeed, {"arithmetic"}), (NotReversed, {"arithmetic"}),
    (RecursiveBackward, {"arithmetic"}),
    (WithoutNeg, {"operators", "engine"}), (SubSign, {"operators", "engine"}),
    (PowWithoutMinusOne, {"operators", "engine"}), (DivWithoutBackward, {"operators", "engine"}),
    (RsubSwapped, {"operators"}), (RtruedivSwapped, {"operators", "engine"}),
    (TanhOfInput, {"functions", "engine"}), (ExpOfInput, {"functions", "engine"}),
    (LogNotInverted, {"functions", "engine"}), (ReluOfInputSign, {"functions", "engine"}),
    (TanhStub, {"functions", "engine"}), (BackwardStub, {"arithmetic"}),
]


@HIDDEN
@pytest.mark.parametrize("where", ["in-process", "verdict-outside"])
@pytest.mark.parametrize("cls, broken", BROKEN_PARTS, ids=[c.__name__ for c, _ in BROKEN_PARTS])
def test_value_is_graded_in_parts_and_a_slip_costs_only_its_own(cls, broken, where, hidden,
                                                                 capsys):
    """A class with +, * and backward() but no unary minus keeps the points of the parts that
    do not need it; a broken backward() costs the first part only (the later parts then use
    the checks' own backward pass through each node's _backward). The same in the student's
    process and with the class in a student process of its own, as course grade runs it."""
    if cls is RsubSwapped and hidden:      # only the hidden random expressions use 3.0 - a
        broken = broken | {"engine"}
    failed = set()
    if where == "verdict-outside":
        from remotetools import parts_failing
        assert parts_failing({"Value": cls}, f"grading.check_Value(Value, hidden={hidden}, "
                             "part={part})", VALUE_PARTS) == broken
        return
    for part in VALUE_PARTS:
        try:
            checks.check_Value(cls, hidden=hidden, part=part)
        except checks.GradingError:
            failed.add(part)
    assert failed == broken
    assert capsys.readouterr().out.count("✓ Value, ") == len(VALUE_PARTS) - len(broken)


def test_value_parts_are_the_test_cells_of_the_curriculum():
    from coursetools.curriculum import PARTS as TEST_CELL_PARTS, grade_cell_ids
    assert VALUE_PARTS[1:] == TEST_CELL_PARTS["Value"]
    assert [t for t in grade_cell_ids("08_autograd") if t.startswith("test_Value")] == [
        "test_Value", "test_Value-operators", "test_Value-functions", "test_Value-engine"]


def test_value_parts_are_named():
    with pytest.raises(ValueError, match="part must be one of arithmetic, operators"):
        checks.check_Value(ClosureValue, part="everything")


def test_value_endless_loop_is_stopped(monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)
    failure(checks.check_Value, EndlessBackward, False,
            r"^\(Value\(-?\d\.\d+\) \+ Value\(-?\d\.\d+\)\)\.backward\(\) did not finish within "
            r"0\.3 s\. Look for a loop that never ends\.$")


# ====================================================================== networks: correct

class Module:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self):
        return []


class Neuron(Module):
    """Closure Values, a plain loop; nonlin and act keywords."""

    def __init__(self, nin, nonlin=True, act="relu"):
        self.w = [ClosureValue(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = ClosureValue(random.uniform(-1, 1))
        self.nonlin, self.act = nonlin, act

    def __call__(self, x):
        total = self.b
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        if not self.nonlin:
            return total
        return total.tanh() if self.act == "tanh" else total.relu()

    def parameters(self):
        return self.w + [self.b]


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP(Module):
    def __init__(self, nin, nouts, activation="relu"):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, act=activation)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class SumNeuron:
    """Tuple Values, sum() with the bias as start, bias listed first, numpy init, no zero_grad."""

    def __init__(self, nin, nonlin=True):
        rng = np.random.default_rng(nin)
        self.b = TupleValue(0.0)
        self.w = [TupleValue(w) for w in rng.normal(0.0, 1.0 / np.sqrt(nin), size=nin)]
        self.nonlin = nonlin

    def __call__(self, x):
        z = sum((w * xi for w, xi in zip(self.w, x)), self.b)
        return z.relu() if self.nonlin else z

    def parameters(self):
        return [self.b, *self.w]


class TupleLayer:
    """Returns a tuple of outputs; builds its neurons in a loop."""

    def __init__(self, nin, nout, nonlin=True):
        self.neurons = []
        for _ in range(nout):
            self.neurons.append(SumNeuron(nin, nonlin))

    def __call__(self, x):
        outs = tuple(n(x) for n in self.neurons)
        return outs if len(outs) > 1 else outs[0]

    def parameters(self):
        params = []
        for n in self.neurons:
            params.extend(n.parameters())
        return params


class ZipMLP:
    """Layers from zip(sizes, sizes[1:]); the last one linear; parameters as a generator."""

    def __init__(self, nin, nouts):
        sizes = [nin, *nouts]
        pairs = list(itertools.pairwise(sizes))
        self.layers = [TupleLayer(a, b, nonlin=k < len(pairs) - 1)
                       for k, (a, b) in enumerate(pairs)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        for layer in self.layers:
            yield from layer.parameters()


class TanhNeuron(Neuron):
    def __init__(self, nin):
        super().__init__(nin, act="tanh")


class TanhLayer(Layer):
    def __init__(self, nin, nout):
        super().__init__(nin, nout, act="tanh")


class TanhMLP(MLP):
    def __init__(self, nin, nouts):
        super().__init__(nin, nouts, activation="tanh")


@HIDDEN
@pytest.mark.parametrize("check, cls, name, activation", [
    (checks.check_Neuron, Neuron, "Neuron", "relu"),
    (checks.check_Neuron, SumNeuron, "Neuron", "relu"),
    (checks.check_Neuron, TanhNeuron, "Neuron", "tanh"),
    (checks.check_Layer, Layer, "Layer", "relu"),
    (checks.check_Layer, TupleLayer, "Layer", "relu"),
    (checks.check_Layer, TanhLayer, "Layer", "tanh"),
    (checks.check_MLP, MLP, "MLP", "relu"),
    (checks.check_MLP, ZipMLP, "MLP", "relu"),
    (checks.check_MLP, TanhMLP, "MLP", "tanh"),
], ids=["neuron-loop", "neuron-sum", "neuron-tanh", "layer-list", "layer-tuple", "layer-tanh",
        "mlp", "mlp-zip", "mlp-tanh"])
def test_networks_accept_correct_variants(check, cls, name, activation, hidden, capsys):
    check(cls, hidden=hidden, activation=activation)
    out = capsys.readouterr().out
    assert re.search(rf"✓ {name}: \d+ checks passed", out), out


@HIDDEN
def test_networks_accept_the_micrograd_package(hidden, capsys):
    nn = pytest.importorskip("micrograd.nn")
    passes(checks.check_Neuron, nn.Neuron, hidden, capsys, "Neuron")
    passes(checks.check_Layer, nn.Layer, hidden, capsys, "Layer")
    passes(checks.check_MLP, nn.MLP, hidden, capsys, "MLP")


# ====================================================================== Neuron: wrong

class LinearNeuron(Neuron):
    def __init__(self, nin):
        super().__init__(nin, nonlin=False)


class NoBiasInParameters(Neuron):
    def parameters(self):
        return self.w


class CopiedParameters(Neuron):
    def parameters(self):
        return [ClosureValue(p.data) for p in self.w + [self.b]]


class CopiedBias(Neuron):
    def parameters(self):
        return self.w + [ClosureValue(self.b.data)]


class FloatForward(Neuron):
    def __call__(self, x):
        total = sum(wi.data * xi for wi, xi in zip(self.w, x)) + self.b.data
        return ClosureValue(total).relu()


class OneSharedWeight(Neuron):
    def __init__(self, nin):
        super().__init__(nin)
        self.w = [ClosureValue(random.uniform(-1, 1))] * nin


class BiasNotAdded(Neuron):
    def __call__(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), ClosureValue(0.0)).relu()


class NestedParameters(Neuron):
    def parameters(self):
        return [self.w, self.b]


class BiasWithoutGradient(Neuron):
    def __call__(self, x):
        total = ClosureValue(self.b.data)
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        return total.relu()


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (LinearNeuron, (r"^Neuron: Neuron\(3\)\(\[.*\]\) returned -?\d.*, which does not follow from "
                   r"the Values in Neuron\(3\)\.parameters\(\)\. Likely bug: no nonlinearity: the "
                   r"output is w·x \+ b itself; apply relu")),
    (TanhNeuron, (r"^Neuron: .*Likely bug: the output is tanh\(w·x \+ b\) but this exercise asks "
                 r"for relu: Neuron\(nin\) must use relu by default \(yours use tanh\)")),
    (NoBiasInParameters, (r"^Neuron\(3\)\.parameters\(\) returned 3 Values; Neuron\(3\) has 4 "
                         r"parameters \(3 weights and 1 bias\)\. Likely bug: the bias is missing")),
    (CopiedParameters, (r"^Neuron: changing p\.data for every p in Neuron\(3\)\.parameters\(\) did "
                       r"not change the output of .*Likely bug: parameters\(\) returns copies")),
    (CopiedBias, (r"^Neuron: changing Neuron\(3\)\.parameters\(\)\[3\]\.data \(the bias\) did not "
                 r"change the output .*Likely bug: parameters\(\) returns a copy of that Value")),
    (FloatForward, (r"^Neuron: no parameter got a gradient after out = Neuron\(3\)\(\[.*\]\) and "
                   r"out\.backward\(\) \(every p\.grad is 0\)\. Likely bug: .*computes "
                   r"with \.data")),
    (OneSharedWeight, (r"^Neuron\(3\)\.parameters\(\) lists the same Value more than once\. Likely "
                      r"bug: the weights are ONE Value repeated")),
    (BiasNotAdded, r"^Neuron: .*Likely bug: the bias is not added"),
    (NestedParameters, r"^Neuron\(3\)\.parameters\(\) returned a list that holds lists"),
    (BiasWithoutGradient, (r"^Neuron: the grad of parameters\(\)\[3\] \(the bias\) is wrong after "
                          r"out = .*: yours is 0 \(relative error 1\)\. Likely bug: the bias "
                          r"gets no gradient")),
], ids=["linear", "tanh", "no-bias", "copies", "bias-copy", "float-forward", "shared-weight",
        "bias-not-added", "nested", "bias-no-grad"])
def test_neuron_rejects_wrong_variants(cls, match, hidden):
    message = failure(checks.check_Neuron, cls, hidden, match)
    if ": yours is " in message:
        only_yours_after(message, ": yours is ")


def test_neuron_tanh_asked_but_relu_found():
    failure(lambda cls, hidden: checks.check_Neuron(cls, hidden=hidden, activation="tanh"),
            Neuron, False,
            r"^Neuron: .*Likely bug: the output is relu\(w·x \+ b\) but this exercise asks for "
            r"tanh")
    with pytest.raises(ValueError, match="activation must be"):
        checks.check_Neuron(Neuron, activation="gelu")


def test_neuron_zero_grad_must_zero():
    class HalfZeroGrad(Neuron):
        def zero_grad(self):
            for w in self.w:
                w.grad = 0.0
    failure(checks.check_Neuron, HalfZeroGrad, False,
            r"^Neuron: after Neuron\(3\)\.zero_grad\(\) parameters\(\)\[3\]\.grad is not 0")


def test_neuron_numpy_input_is_tried():
    class ListOnly(Neuron):
        def __call__(self, x):
            assert isinstance(x, list), "x must be a list"
            return super().__call__(x)
    failure(checks.check_Neuron, ListOnly, False,
            r"^Neuron\(3\)\(np\.array\(\[.*\]\)\) raised AssertionError: x must be a list$")


def test_neuron_wrong_gradient_points_at_value():
    class Neuron2(Neuron):
        """A right forward pass on a Value whose tanh has the wrong local derivative."""

        def __init__(self, nin):
            super().__init__(nin, act="tanh")
            self.w = [TanhOfInput(w.data) for w in self.w]
            self.b = TanhOfInput(self.b.data)
    message = failure(lambda cls, hidden: checks.check_Neuron(cls, hidden=hidden,
                                                              activation="tanh"),
                      Neuron2, False,
                      r"^Neuron: the grad of parameters\(\)\[0\] \(weight 0\) is wrong after "
                      r"out = Neuron\(3\)\(.*\) and out\.backward\(\): yours is .*The "
                      r"forward pass is right, so the gradient comes from your Value's "
                      r"backward: make sure check_Value passes\.$")
    only_yours_after(message, ": yours is ")


# ====================================================================== Layer: wrong

class SameNeuronLayer(Layer):
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nin)] * nout


class ListForOneLayer(Layer):
    def __call__(self, x):
        return [n(x) for n in self.neurons]


class NestedLayer(Layer):
    def parameters(self):
        return [n.parameters() for n in self.neurons]


class SwappedSizesLayer(Layer):
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nout) for _ in range(nin)]


class LinearLayer(Layer):
    def __init__(self, nin, nout):
        super().__init__(nin, nout, nonlin=False)


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (SameNeuronLayer, (r"^Layer\(3, 4\)\.parameters\(\) lists the same Value more than once\. "
                      r"Likely bug: the neurons .* are one and the same object")),
    (ListForOneLayer, (r"^Layer\(2, 1\)\(\[.*\]\) returned a list of 1; with a single output "
                       r"neuron "
                      r"it should return that Value itself")),
    (NestedLayer, (r"^Layer\(3, 4\)\.parameters\(\) returned a list that holds lists .*ONE flat "
                  r"list")),
    (SwappedSizesLayer, (r"^Layer\(3, 4\)\(\[.*\]\) returned a list of 3 Values; it should return "
                        r"4, one per output neuron\.")),
    (LinearLayer, (r"^Layer: Layer\(3, 4\)\(\[.*\]\) returned \[.*\], which does not follow .*"
                  r"Likely bug: no nonlinearity")),
    (TanhLayer, (r"^Layer: .*Likely bug: the output is tanh\(w·x \+ b\) but this exercise "
                 r"asks for "
                r"relu: the neurons of Layer\(nin, nout\) must use relu")),
], ids=["same-neuron", "list-for-one", "nested", "swapped-sizes", "linear", "tanh"])
def test_layer_rejects_wrong_variants(cls, match, hidden):
    failure(checks.check_Layer, cls, hidden, match)


def test_layer_single_value_for_many_outputs():
    class FirstOnly(Layer):
        def __call__(self, x):
            return self.neurons[0](x)
    failure(checks.check_Layer, FirstOnly, False,
            r"^Layer\(3, 4\)\(\[.*\]\) returned a single ClosureValue; it should return a list of "
            r"4 Values, one per neuron\.")


# ====================================================================== MLP: wrong

class NonlinEverywhere(MLP):
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]


class NoNonlinearity(MLP):
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=False) for i in range(len(nouts))]


class MissingLayer(MLP):
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 2)
                       for i in range(len(nouts) - 1)]


class LastLayerParameters(MLP):
    def parameters(self):
        return self.layers[-1].parameters()


class TanhOnTheOutputOnly(MLP):
    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], act="relu" if i < len(nouts) - 1 else "tanh")
                       for i in range(len(nouts))]


class HiddenTanh(MLP):
    def __init__(self, nin, nouts):
        super().__init__(nin, nouts, activation="tanh")


@HIDDEN
@pytest.mark.parametrize("cls, match", [
    (TanhOnTheOutputOnly, (r"^MLP: .*Likely bug: your layers apply relu, relu, tanh; the hidden "
                           r"layers should apply tanh and the last layer nothing \(or tanh too\)\.$")),
    (NoNonlinearity, (r"^MLP: .*Likely bug: no nonlinearity at all: the hidden layers must apply "
                     r"relu")),
    (MissingLayer, (r"^MLP\(3, \[4, 4, 1\]\)\(\[.*\]\) returned a list of 4 Values; its last "
                   r"layer has 1 neuron, so it should return one Value\. Likely bug: the last "
                   r"layer is missing")),
    (LastLayerParameters, (r"^MLP\(3, \[4, 4, 1\]\)\.parameters\(\) returned 5 Values; "
                          r"MLP\(3, \[4, 4, 1\]\) has 41 parameters")),
    (HiddenTanh, (r"^MLP: .*Likely bug: the hidden layers apply tanh but this exercise asks for "
                 r"relu \(the last layer stays linear\)")),
], ids=["tanh-output-only", "no-nonlinearity", "missing-layer", "last-layer-only", "tanh"])
def test_mlp_rejects_wrong_variants(cls, match, hidden):
    activation = "tanh" if cls is TanhOnTheOutputOnly else "relu"
    failure(lambda c, hidden: checks.check_MLP(c, hidden=hidden, activation=activation), cls,
            hidden, match)


class LecturesMLP(MLP):
    """The lecture's MLP: tanh in every neuron, the output's included."""

    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], act="tanh") for i in range(len(nouts))]


@HIDDEN
@pytest.mark.parametrize("cls, activation", [(NonlinEverywhere, "relu"), (LecturesMLP, "tanh")],
                         ids=["relu", "tanh"])
def test_mlp_may_apply_the_activation_to_its_last_layer_too(cls, activation, hidden, capsys):
    checks.check_MLP(cls, hidden=hidden, activation=activation)
    assert "✓ MLP" in capsys.readouterr().out


def test_mlp_tanh_check_accepts_keyword(capsys):
    checks.check_MLP(TanhMLP, activation="tanh")
    assert "✓ MLP" in capsys.readouterr().out
    failure(lambda cls, hidden: checks.check_MLP(cls, hidden=hidden, activation="tanh"), MLP,
            False, r"^MLP: .*Likely bug: the hidden layers apply relu but this exercise asks for "
                   r"tanh")


# ====================================================================== networks: generic

def _stub_init(self, *args, **kwargs):
    raise NotImplementedError()


def _stub(self, *args, **kwargs):
    raise NotImplementedError()


def _forgets_return(self, x):
    self.last = [n for n in range(3)]


def _raises(self, x):
    return len(3.5)


def _endless(self, x):
    total = 0.0
    while True:
        total += 1.0


NETS = {"Neuron": (checks.check_Neuron, Neuron, nnlib.Neuron),
        "Layer": (checks.check_Layer, Layer, nnlib.Layer),
        "MLP": (checks.check_MLP, MLP, nnlib.MLP)}
EACH_NET = pytest.mark.parametrize("name", list(NETS))


def _variant(name, **methods):
    return type(name, (NETS[name][1],), methods)


@HIDDEN
@EACH_NET
def test_networks_stub_is_not_implemented(name, hidden):
    check = NETS[name][0]
    failure(check, _variant(name, __init__=_stub_init), hidden,
            rf"^{name} is not implemented yet: it still raises NotImplementedError")
    failure(check, _variant(name, __call__=_stub), hidden,
            rf"^{name}\.__call__ is not implemented yet: it still raises NotImplementedError")
    failure(check, _variant(name, parameters=_stub), hidden,
            rf"^{name}\.parameters is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@EACH_NET
def test_networks_none_exception_reference_value(name, hidden):
    check, _, reference = NETS[name]
    failure(check, _variant(name, __call__=_forgets_return), hidden,
            rf"^{name}\(.*\)\(\[.*\]\) returned None\. Did you forget the `return` statement\?$")
    failure(check, _variant(name, parameters=lambda self: None), hidden,
            rf"^{name}\(.*\)\.parameters\(\) returned None\. Did you forget the `return` "
            r"statement\?$")
    failure(check, _variant(name, __call__=_raises), hidden,
            rf"^{name}\(.*\)\(\[.*\]\) raised TypeError: object of type 'float' has no len\(\)$")
    failure(check, reference, hidden,
            rf"^{name} is nnlib's reference implementation, not yours\.")
    failure(check, [1.0, 2.0], hidden,
            rf"^{name} should be a class, but it is a list\. Did you overwrite it with a value\?")


@EACH_NET
def test_networks_endless_loop_is_stopped(name, monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)
    failure(NETS[name][0], _variant(name, __call__=_endless), False,
            rf"^{name}\(.*\)\(\[.*\]\) did not finish within 0\.3 s\. Look for a loop that never "
            r"ends\.$")


# ---------------------------------------------------------------- built on nnlib's Value

class NnlibValueNeuron:
    """A Neuron written on nnlib's Value: allowed (BUILDS_ON), so a bug in the student's own
    Value costs only the Value check's points."""

    def __init__(self, nin):
        rng = np.random.default_rng(4)
        self.w = [nnlib.Value(float(v)) for v in rng.uniform(-1.0, 1.0, nin)]
        self.b = nnlib.Value(0.0)

    def __call__(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).relu()

    def parameters(self):
        return self.w + [self.b]


class NnlibNeuronLayer:
    def __init__(self, nin, nout):
        rng = np.random.default_rng(5)
        self.neurons = [nnlib.Neuron(nin, rng=rng) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


@HIDDEN
@pytest.mark.parametrize("check, cls, name", [
    (checks.check_Neuron, NnlibValueNeuron, "Neuron"),
    (checks.check_Layer, NnlibNeuronLayer, "Layer"),
])
def test_networks_may_build_on_nnlib_value_and_neuron(check, cls, name, hidden, capsys):
    passes(check, cls, hidden, capsys, name)


def test_a_layer_made_of_nnlib_layers_is_still_refused():
    class Layer(NnlibNeuronLayer):
        def __init__(self, nin, nout):
            self.inner = nnlib.Layer(nin, nout)
            self.neurons = self.inner.neurons
    failure(checks.check_Layer, Layer, False,
            r"^Layer\(.*\) calls nnlib's Layer\.__init__, the reference the grader compares "
            r"with\. Write Layer with your own code \(of nnlib it may use Value, Neuron\)\.$")


class NamedParameters(Neuron):
    def parameters(self):
        return self.w + ["b"]


class NumberOutputLayer(Layer):
    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return [outs[0].data] + outs[1:]


@pytest.mark.parametrize("where", ["in-process", "verdict-outside"])
@pytest.mark.parametrize("name, cls, match", [
    ("Neuron", NamedParameters, r"Neuron\(3\)\.parameters\(\)\[3\] is a str; every entry should "
                                r"be a Value \(with \.data and \.grad\)\.$"),
    ("Layer", NumberOutputLayer, r"Layer\(3, 4\)\(\[.*\]\)\[0\] returned a float; it should return "
                                 r"a Value \(with \.data and \.grad\)\. Likely bug: you return the "
                                 r"number itself"),
], ids=["parameter-not-a-value", "output-not-a-value"])
def test_a_list_with_one_entry_that_is_not_a_value_names_that_entry(name, cls, match, where):
    """Read in one request in course grade; the one that is wrong still gets its message."""
    if where == "in-process":
        failure(getattr(checks, f"check_{name}"), cls, False, match)
        return
    from coursetools.grade.protocol import remote
    from remotetools import student_process
    with student_process({name: cls, "Value": nnlib.autograd.Value}) as connection:
        outputs = remote.run_test_cell(f"from nnlib import grading\ngrading.check_{name}({name})",
                                       connection)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors and re.search(match, errors[0]["evalue"]), outputs
