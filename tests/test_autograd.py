"""Tests for nnlib.autograd: Value ops against finite differences and PyTorch, graph hygiene, MLP."""
import gc
import math
import sys

import numpy as np
import pytest

from nnlib.autograd import MLP, Layer, Neuron, Value
from nnlib.datasets import make_toy
from nnlib.gradcheck import numerical_gradient

# Each entry: name -> function of two Values (or numbers) valid for a in [0.5, 2], b in [0.5, 2].
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow_int": lambda a, b: a ** 3 + b ** -2,
    "pow_float": lambda a, b: a ** 1.5 * b ** 0.5,
    "neg": lambda a, b: -a * b,
    "relu": lambda a, b: (a - b).relu() + (b - a).relu() * 3,
    "tanh": lambda a, b: (a * b).tanh(),
    "exp": lambda a, b: (a - b).exp(),
    "log": lambda a, b: (a * b).log(),
    "sigmoid": lambda a, b: (a - 2 * b).sigmoid(),
    "radd": lambda a, b: 1 + a + 2.5 + b,
    "rsub": lambda a, b: 2 - a - (3.0 - b),
    "rmul": lambda a, b: 2 * a * 3.5 * b,
    "rdiv": lambda a, b: 10.0 / a + 1 / b,
    "reuse": lambda a, b: a * a + a * b + a,
}


def _grads_via_backward(fn, x):
    a, b = Value(x[0]), Value(x[1])
    out = fn(a, b)
    out.backward()
    return np.array([a.grad, b.grad])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_each_op_matches_finite_differences(name):
    fn = BINARY[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    for _ in range(3):
        x = rng.uniform(0.5, 2.0, size=2)
        grad = _grads_via_backward(fn, x)
        numeric = numerical_gradient(lambda v: fn(Value(v[0]), Value(v[1])).data, x.copy())
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


# ---- random chains against PyTorch in float64 ---------------------------------
def _random_program(seed, n_leaves=4, n_steps=60):
    """A random straight-line program over a pool of nodes, mixing every operator."""
    rng = np.random.default_rng(seed)
    kinds = ["add", "sub", "mul", "div", "pow", "neg", "relu", "tanh", "exp", "log", "sigmoid",
             "radd", "rsub", "rmul", "rdiv", "const_right"]
    program = []
    for step in range(n_steps):
        pool = n_leaves + step
        program.append((kinds[rng.integers(len(kinds))], int(rng.integers(pool)),
                        int(rng.integers(pool)), float(rng.uniform(-2.0, 2.0))))
    leaves = rng.uniform(-2.0, 2.0, n_leaves)
    return leaves, program


def _run_program(leaves, program):
    """Evaluate the program with Python operators and Value methods (the same code for every leaf)."""
    nodes = list(leaves)
    for kind, i, j, c in program:
        a, b = nodes[i], nodes[j]
        squash = lambda v: v.tanh()  # noqa: E731  keep magnitudes bounded
        positive = lambda v: v * v + 0.5  # noqa: E731  a denominator / log argument > 0
        out = {
            "add": lambda: a + b,
            "sub": lambda: a - b,
            "mul": lambda: squash(a) * b,
            "div": lambda: a / positive(b),
            "pow": lambda: positive(a) ** 1.5 - squash(b) ** 3,
            "neg": lambda: -a,
            "relu": lambda: (a + c).relu(),
            "tanh": lambda: (a * c).tanh(),
            "exp": lambda: squash(a).exp(),
            "log": lambda: positive(a).log(),
            "sigmoid": lambda: (a * c).sigmoid(),
            "radd": lambda: c + a,
            "rsub": lambda: c - a,
            "rmul": lambda: c * squash(a),
            "rdiv": lambda: c / positive(a),
            "const_right": lambda: squash(a) * c + b / 2.0 - 1,
        }[kind]()
        nodes.append(squash(out) * 3.0 if kind in ("add", "pow", "exp") else out)
    return nodes[-1] + nodes[-2] * nodes[-3]


@pytest.mark.parametrize("seed", range(6))
def test_random_chains_match_finite_differences(seed):
    """backward() against central differences of the forward pass alone, leaf by leaf."""
    leaves, program = _random_program(seed)
    values = [Value(x) for x in leaves]
    _run_program(values, program).backward()

    def forward(xs):
        return _run_program([Value(float(x)) for x in xs], program).data
    numeric = numerical_gradient(forward, np.array(leaves, dtype=float), h=1e-6)
    np.testing.assert_allclose([v.grad for v in values], numeric, rtol=1e-5, atol=1e-7)


def test_lecture_neuron_gives_the_gradients_worked_out_by_hand():
    """o = tanh(x1 w1 + x2 w2 + b), tanh written with exp: n = 0.8814 makes o = 1/sqrt(2), so
    do/dn = 1 - o**2 = 1/2 and each input's gradient is half of its weight (and vice versa)."""
    x1, x2, w1, w2, b = (Value(v) for v in (2.0, 0.0, -3.0, 1.0, 6.8813735870195432))
    n = x1 * w1 + x2 * w2 + b
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    assert o.data == pytest.approx(2 ** -0.5, rel=1e-12)
    np.testing.assert_allclose([x1.grad, x2.grad, w1.grad, w2.grad, b.grad],
                               [-1.5, 0.5, 1.0, 0.0, 0.5], rtol=1e-12, atol=1e-15)


def test_same_numbers_as_the_micrograd_package():
    engine = pytest.importorskip("micrograd.engine")
    results = []
    for V in (Value, engine.Value):
        a, b = V(-4.0), V(2.0)
        c = a + b
        d = a * b + b ** 3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e ** 2
        g = f / 2.0
        g += 10.0 / f
        g.backward()
        results.append((g.data, a.grad, b.grad))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13)


# ---- API details ---------------------------------------------------------------
def test_graph_attributes_like_the_lecture():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    d = e + c
    assert (d.data, d._op, d._prev) == (4.0, "+", {e, c})
    assert e._op == "*" and e._prev == {a, b}
    assert a._prev == set() and a._op == "" and a.label == "a" and a.grad == 0.0
    assert "data=4.0" in repr(d)


def test_manual_backprop_with_per_node_backward():
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    e = a * b
    d = e + c
    L = d * f
    L.grad = 1.0
    for node in (L, d, e):
        node._backward()
    assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)


def test_numbers_mix_in_and_other_types_raise():
    v = Value(4.0)
    assert (2 * v).data == 8.0 and (1 + v).data == 5.0 and (10.0 / v).data == 2.5
    assert (2 - v).data == -2.0 and (v - 2).data == 2.0 and (v / 2).data == 2.0
    assert (np.float64(0.5) * v).data == 2.0 and (v + np.int64(1)).data == 5.0
    for bad in ("1", [1.0], None, 1j):
        with pytest.raises(TypeError):
            v + bad
        with pytest.raises(TypeError):
            bad * v
    with pytest.raises(TypeError):
        v ** Value(2.0)
    with pytest.raises(TypeError):
        Value("3")
    with pytest.raises(TypeError):
        Value(1.0, (v,), "+")   # children cannot be passed in by hand


def test_domain_errors_name_the_value():
    with pytest.raises(ValueError, match=r"log of Value\(data=-1\.0.*label 'x'"):
        Value(-1.0, label="x").log()
    with pytest.raises(ValueError, match="data=0.0"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="label 'z'"):
        Value(1.0) / Value(0.0, label="z")
    assert (Value(-2.0) ** 3).data == -8.0


def test_gradients_accumulate_and_zero_grad_resets():
    x = Value(3.0)
    y = x * x + x          # x reaches y on two paths: dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0
    z = x * 2.0
    z.backward()           # a second backward adds to the grads already there (+=)
    assert x.grad == 9.0
    model = MLP(2, [3, 1])
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_deep_chain_backward_is_iterative():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    assert sys.getrecursionlimit() < 10_000
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-9)
    assert len(y.topological_order()) == 1 + 5000 * 4   # x, and per step: const, *, const, +


def _values_alive():
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def test_backward_leaves_no_reference_cycles():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)   # whatever the collector frees lands in gc.garbage
    try:
        baseline = _values_alive()
        model = MLP(2, [8, 8, 1])
        n_params = len(model.parameters())
        loss = sum((model([x, -x]) - 1.0) ** 2 for x in np.linspace(-1, 1, 20))
        loss.backward()
        assert _values_alive() > baseline + 2000
        del loss                      # the graph must die by reference counting alone
        assert _values_alive() == baseline + n_params
        del model
        found = gc.collect()
        values_in_garbage = sum(1 for obj in gc.garbage if type(obj) is Value)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert values_in_garbage == 0
    assert found < 50                 # nothing of the graph needed the cycle collector


# ---- Neuron, Layer, MLP --------------------------------------------------------
def test_mlp_shapes_parameters_and_seeds():
    model = MLP(3, [4, 4, 1])
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 1 * 5
    out = model([2.0, 3.0, -1.0])
    assert isinstance(out, Value)
    assert len(Layer(3, 4)([1.0, 2.0, 3.0])) == 4
    weights = [p.data for p in model.parameters()]
    assert all(-1.0 <= w <= 1.0 for w in weights)
    assert weights == [p.data for p in MLP(3, [4, 4, 1]).parameters()]
    assert weights != [p.data for p in MLP(3, [4, 4, 1], seed=1).parameters()]
    rng_weights = [p.data for p in MLP(3, [4, 4, 1], rng=np.random.default_rng(0)).parameters()]
    assert rng_weights == weights
    assert len({n.w[0].data for n in model.layers[0].neurons}) == 4   # neurons differ


def test_neuron_activation_and_errors():
    n = Neuron(2, seed=3)
    n.w[0].data, n.w[1].data = 1.0, 1.0
    assert n([-1.0, -2.0]).data == 0.0                         # relu
    assert Neuron(2, nonlin=False, seed=3)([0.0, 0.0])._op == "+"
    tanh_neuron = Neuron(2, act="tanh", seed=3)
    assert tanh_neuron([1.0, 1.0])._op == "tanh"
    assert MLP(2, [3, 1]).layers[-1].neurons[0].nonlin is False  # linear output
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        n([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="act must be"):
        Neuron(2, act="softplus")


def test_training_on_the_toy_set_reduces_loss():
    xs, ys = make_toy()
    model = MLP(3, [4, 4, 1], act="tanh")
    losses = []
    for _ in range(50):
        preds = [model(list(x)) for x in xs]
        loss = sum((p - t) ** 2 for p, t in zip(preds, ys))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]
    assert all(math.isfinite(v) for v in losses)
