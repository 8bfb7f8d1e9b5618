"""Tests for nnlib.chain_rule (chapter 3)."""
import numpy as np
import pytest

from nnlib.chain_rule import expression_grads
from nnlib.gradcheck import numerical_derivative


def L(a, b, c, f):
    return (a * b + c) * f


def test_lecture_values():
    # the autograd lecture's numbers: a=2, b=-3, c=10, f=-2 (d = 4, L = -8)
    grads = expression_grads(2.0, -3.0, 10.0, -2.0)
    assert grads == {"dL/da": 6.0, "dL/db": -4.0, "dL/dc": -2.0, "dL/df": 4.0}
    assert all(type(v) is float for v in grads.values())


@pytest.mark.parametrize("seed", range(5))
def test_matches_finite_differences(seed):
    a, b, c, f = np.random.default_rng(seed).normal(scale=3.0, size=4)
    grads = expression_grads(a, b, c, f)
    numeric = {
        "dL/da": numerical_derivative(lambda t: L(t, b, c, f), a),
        "dL/db": numerical_derivative(lambda t: L(a, t, c, f), b),
        "dL/dc": numerical_derivative(lambda t: L(a, b, t, f), c),
        "dL/df": numerical_derivative(lambda t: L(a, b, c, t), f),
    }
    for key, value in numeric.items():
        assert grads[key] == pytest.approx(value, rel=1e-7, abs=1e-8)


def test_accepts_numpy_scalars_and_ints():
    grads = expression_grads(np.float64(1.5), 2, np.int64(-1), 0.5)
    assert grads == {"dL/da": 1.0, "dL/db": 0.75, "dL/dc": 0.5, "dL/df": 2.0}


def test_rejects_nan():
    with pytest.raises(ValueError, match="c must be a finite number"):
        expression_grads(1.0, 2.0, np.nan, 3.0)
