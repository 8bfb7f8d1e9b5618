"""Chapter 8: a scalar autograd engine (``Value``) and a tiny MLP built on it.

The API is the one of the well-known scalar engines: a ``Value`` holds ``data``
and ``grad``, remembers its children (``_prev``) and the op that made it
(``_op``), and ``backward()`` fills in ``grad`` for every node of the graph.

One design choice differs from the closure-per-node engines: each op stores its
*local derivatives* (d out / d child, numbers computed in the forward pass)
next to its children instead of a ``_backward`` closure that captures the
output node. A closure that refers to its own node is a reference cycle, so
every graph becomes garbage that only Python's cycle collector can free; with
plain numbers there are no cycles, graphs die as soon as the last reference
goes, and the garbage collector has nothing to chase. So each op below reads

    return Value._node(<forward value>, "<op>", child_a, d_out/d_a, child_b, d_out/d_b)

forward and local backward side by side; ``backward()`` then applies the chain
rule ``child.grad += local * out.grad`` in reverse topological order. Because
the local derivatives are numbers taken at forward time, change ``data`` only
after ``backward()`` (as an optimizer step does).
"""
import math

import numpy as np

_NUMBER = (int, float, np.integer, np.floating)


def _lift(x):
    """Return ``x`` as a Value (plain numbers become constants), NotImplemented otherwise."""
    if isinstance(x, Value):
        return x
    if isinstance(x, _NUMBER):
        return Value(x)
    return NotImplemented


class Value:
    """A scalar in an expression graph, with its gradient d root / d self.

    An op's output keeps at most two children, ``_a`` and ``_b``, each with its
    local derivative ``_da`` / ``_db`` (plain floats: no closures, no tuples,
    so a node is a single small object).
    """

    __slots__ = ("data", "grad", "label", "_op", "_a", "_da", "_b", "_db")

    def __init__(self, data, *, label=""):
        if not isinstance(data, _NUMBER):
            raise TypeError(f"Value data must be a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._op = ""
        self._a = self._b = None
        self._da = self._db = 0.0

    @staticmethod
    def _node(data, op, a, da, b=None, db=0.0):
        """The output of ``op``: value ``data``, child ``a`` with d out/d a = ``da`` (and ``b``, ``db``)."""
        out = _new_value(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._op = op
        out._a, out._da, out._b, out._db = a, da, b, db
        return out

    @property
    def _prev(self):
        """The set of children, as in the closure-based engines."""
        return {c for c in (self._a, self._b) if c is not None}

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # ---- binary ops: forward value, then each child with its local derivative --
    def __add__(self, other):
        other = _lift(other)
        if other is NotImplemented:
            return other
        return Value._node(self.data + other.data, "+", self, 1.0, other, 1.0)

    def __sub__(self, other):
        other = _lift(other)
        if other is NotImplemented:
            return other
        return Value._node(self.data - other.data, "-", self, 1.0, other, -1.0)

    def __mul__(self, other):
        other = _lift(other)
        if other is NotImplemented:
            return other
        return Value._node(self.data * other.data, "*", self, other.data, other, self.data)

    def __truediv__(self, other):
        other = _lift(other)
        if other is NotImplemented:
            return other
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"division by {other!r}{_named(other)}")
        return Value._node(a / b, "/", self, 1.0 / b, other, -a / (b * b))

    def __pow__(self, n):
        if isinstance(n, Value) or not isinstance(n, _NUMBER):
            raise TypeError(f"Value ** supports int/float exponents only, got {type(n).__name__}")
        x, n = self.data, float(n)
        if x < 0.0 and not n.is_integer():
            raise ValueError(f"{self!r}{_named(self)} ** {n}: a negative base needs an integer exponent")
        if x == 0.0 and n < 0.0:
            raise ZeroDivisionError(f"{self!r}{_named(self)} ** {n}: zero to a negative power")
        if n == 0.0:
            local = 0.0
        elif x == 0.0 and n < 1.0:
            local = math.inf  # d x^n / dx at 0 for 0 < n < 1
        else:
            local = n * x ** (n - 1.0)
        return Value._node(x ** n, f"**{n:g}", self, local)

    # ---- reflected and unary forms ------------------------------------------
    def __radd__(self, other):   # other + self
        return self + other

    def __rsub__(self, other):   # other - self
        other = _lift(other)
        if other is NotImplemented:
            return other
        return other - self

    def __rmul__(self, other):   # other * self
        return self * other

    def __rtruediv__(self, other):  # other / self
        other = _lift(other)
        if other is NotImplemented:
            return other
        return other / self

    def __neg__(self):
        return Value._node(-self.data, "neg", self, -1.0)

    # ---- elementwise functions -----------------------------------------------
    def relu(self):
        x = self.data
        return Value._node(x if x > 0.0 else 0.0, "relu", self, 1.0 if x > 0.0 else 0.0)

    def tanh(self):
        t = math.tanh(self.data)
        return Value._node(t, "tanh", self, 1.0 - t * t)

    def sigmoid(self):
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return Value._node(s, "sigmoid", self, s * (1.0 - s))

    def exp(self):
        e = math.exp(self.data)
        return Value._node(e, "exp", self, e)

    def log(self):
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log of {self!r}{_named(self)}: data must be > 0")
        return Value._node(math.log(x), "log", self, 1.0 / x)

    # ---- backpropagation -------------------------------------------------------
    def _backward(self):
        """Chain rule for this node only: push self.grad to its children."""
        if self._a is not None:
            self._a.grad += self._da * self.grad
            if self._b is not None:
                self._b.grad += self._db * self.grad

    def topological_order(self):
        """All nodes of the graph under self, every child before its parents (iterative DFS)."""
        order, visited = [], set()
        stack = [self]
        while stack:
            node = stack.pop()
            if node is None:            # marker: the node below it is finished
                order.append(stack.pop())
            elif node not in visited:
                visited.add(node)
                stack.append(node)
                stack.append(None)
                a, b = node._a, node._b
                if a is not None and a not in visited:
                    stack.append(a)
                if b is not None and b not in visited:
                    stack.append(b)
        return order

    def backward(self):
        """Set self.grad = 1 and accumulate d self / d node into every node's grad."""
        self.grad = 1.0
        for node in reversed(self.topological_order()):
            node._backward()


_new_value = object.__new__


def _named(v):
    return f" (label {v.label!r})" if v.label else ""


# ---- a tiny neural-network library on top of Value ---------------------------
_ACTIVATIONS = ("relu", "tanh", "sigmoid")


class Module:
    """Base class: ``parameters()`` lists the Values to train, ``zero_grad()`` resets them."""

    def parameters(self):
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """One unit: act(sum_i w_i x_i + b); weights uniform(-1, 1), bias 0.

    ``nonlin=False`` gives a linear unit; ``act`` picks relu (default), tanh or sigmoid.
    Weights come from ``rng`` (a numpy Generator) or, if None, from default_rng(seed).
    """

    def __init__(self, nin, nonlin=True, act="relu", rng=None, seed=0):
        if act not in _ACTIVATIONS:
            raise ValueError(f"act must be one of {_ACTIVATIONS}, got {act!r}")
        rng = np.random.default_rng(seed) if rng is None else rng
        self.w = [Value(float(w)) for w in rng.uniform(-1.0, 1.0, size=int(nin))]
        self.b = Value(0.0)
        self.nonlin = nonlin
        self.act = act

    def __call__(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        out = self.b
        for wi, xi in zip(self.w, x):
            out = out + wi * xi
        return getattr(out, self.act)() if self.nonlin else out

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{self.act.capitalize() if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; extra keywords go to Neuron."""

    def __init__(self, nin, nout, rng=None, seed=0, **kw):
        rng = np.random.default_rng(seed) if rng is None else rng
        self.neurons = [Neuron(nin, rng=rng, **kw) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nin -> nouts[0] -> ... -> nouts[-1]``; the last layer is linear.

    ``act`` is the hidden layers' nonlinearity; all weights come from one Generator
    seeded with ``seed`` (or from ``rng``), so two MLPs with the same seed are equal.
    """

    def __init__(self, nin, nouts, act="relu", rng=None, seed=0):
        rng = np.random.default_rng(seed) if rng is None else rng
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], rng=rng, act=act,
                             nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
