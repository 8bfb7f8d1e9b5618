"""Checks for chapter 2 (02_sigmoid): activation functions and their derivatives."""
import warnings

import numpy as np

from nnlib import activations as ref
from nnlib.grading.core import (GradingError, Hint, SIGN_FLIPPED, call_student, case_rng,
                                compare, describe_call, run_cases)

LARGE = 1e4


def _inputs(rng, hidden, scale=4.0):
    """Arrays of several shapes, an integer array and a scalar, with zeros included."""
    vector, matrix = rng.normal(scale=scale, size=7), rng.normal(scale=scale, size=(3, 4))
    vector[0] = matrix[0, 0] = 0.0
    cases = [vector, matrix, np.arange(-3, 4), 0.75]
    if hidden:
        cases += [rng.normal(scale=scale, size=(2, 3, 5)), np.array([0.0, -0.0, 1e-12, -1e-12]),
                  np.arange(-5, 6).reshape(11, 1), -3.0, 0.0]
    return [((z,), {}) for z in cases]


def _extreme(name, fn, reference, hints, warn_is_error):
    """Inputs up to +-1e4 must give finite, correct values (and, if asked, no warnings)."""
    z = np.array([-LARGE, -800.0, -50.0, 0.0, 50.0, 800.0, LARGE])
    call = describe_call(name, (z,)) + " with entries up to ±1e4"
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")   # whatever np.seterr the notebook ran earlier
        got = call_student(fn, name, (z,))
    compare(name, call, got, reference(z), hints=hints, args=(z,))
    if warn_is_error and caught:
        raise GradingError(f"{call} gives the right numbers but warns "
                           f"'{caught[0].message}'. Likely bug: np.exp of a large positive "
                           "number overflows; rewrite it so you only ever take exp of "
                           "non-positive numbers, e.g. e = np.exp(-np.abs(z)) (np.where "
                           "computes both branches, so each branch must be safe for every z).")


def check_sigmoid(sigmoid, hidden=False):
    """sigmoid(z) elementwise, for any shape, without overflow warnings up to |z| = 1e4."""
    hints = (Hint("you compute 1 - sigmoid(z): either the exponent's sign is flipped "
                  "(use exp(-z), not exp(z)) or you return exp(-z) / (1 + exp(-z))",
                  lambda e, a: 1.0 - e),
             SIGN_FLIPPED)
    run_cases("sigmoid", sigmoid, ref.sigmoid, _inputs(case_rng("sigmoid", hidden), hidden),
              hints=hints,
              then=[lambda: _extreme("sigmoid", sigmoid, ref.sigmoid, hints, warn_is_error=True)])


def check_sigmoid_derivative(sigmoid_derivative, hidden=False):
    """sigmoid_derivative(z) = s(1 - s) with s = sigmoid(z)."""
    hints = (
        Hint("you return sigmoid(z) itself, not its derivative", lambda e, a: ref.sigmoid(a[0])),
        Hint("you apply the formula to z instead of to s = sigmoid(z): use s * (1 - s)",
             lambda e, a: np.asarray(a[0], float) * (1 - np.asarray(a[0], float))),
        Hint("you wrote s * (1 + s) instead of s * (1 - s)",
             lambda e, a: ref.sigmoid(a[0]) * (1 + ref.sigmoid(a[0]))),
        Hint("you wrote 1 - s instead of s * (1 - s)", lambda e, a: 1 - ref.sigmoid(a[0])),
        SIGN_FLIPPED,
    )
    extreme = [lambda: _extreme("sigmoid_derivative", sigmoid_derivative,
                                ref.sigmoid_derivative, hints, warn_is_error=False)]
    run_cases("sigmoid_derivative", sigmoid_derivative, ref.sigmoid_derivative,
              _inputs(case_rng("sigmoid_derivative", hidden), hidden), hints=hints,
              then=extreme if hidden else ())


def check_relu(relu, hidden=False):
    """relu(z) = max(0, z) elementwise."""
    hints = (Hint("you return min(0, z) instead of max(0, z)",
                  lambda e, a: np.minimum(np.asarray(a[0], float), 0)),
             Hint("you return the 0/1 mask (the derivative) instead of the values",
                  lambda e, a: (np.asarray(a[0]) > 0).astype(float)),
             Hint("you return |z| instead of max(0, z)", lambda e, a: np.abs(a[0])),
             SIGN_FLIPPED)
    run_cases("relu", relu, ref.relu, _inputs(case_rng("relu", hidden), hidden), hints=hints)


def check_relu_derivative(relu_derivative, hidden=False):
    """relu_derivative(z): 1 where z > 0, else 0 (so 0 at z = 0)."""
    hints = (Hint("at z = 0 the derivative must be 0 (the course's convention): use z > 0, "
                  "not z >= 0", lambda e, a: (np.asarray(a[0]) >= 0).astype(float)),
             Hint("you return relu(z) itself, not its derivative",
                  lambda e, a: np.maximum(np.asarray(a[0], float), 0)),
             Hint("the mask is inverted (1 for negative z)",
                  lambda e, a: (np.asarray(a[0]) <= 0).astype(float)),
             Hint("the mask is inverted (1 for negative z)",
                  lambda e, a: (np.asarray(a[0]) < 0).astype(float)),
             Hint("you return sign(z), which is -1 for negative z; the slope there is 0",
                  lambda e, a: np.sign(np.asarray(a[0], float))),
             Hint("at z = 0 the derivative must be 0 (the course's convention), not 0.5",
                  lambda e, a: np.heaviside(np.asarray(a[0], float), 0.5)))
    run_cases("relu_derivative", relu_derivative, ref.relu_derivative,
              _inputs(case_rng("relu_derivative", hidden), hidden), hints=hints, atol=0, rtol=0)


def check_tanh_derivative(tanh_derivative, hidden=False):
    """tanh_derivative(z) = 1 - tanh(z)^2."""
    hints = (Hint("you wrote 1 - tanh(z) (forgot to square tanh)",
                  lambda e, a: 1 - np.tanh(a[0])),
             Hint("you return tanh(z) itself, not its derivative", lambda e, a: np.tanh(a[0])),
             Hint("you wrote 1 + tanh(z)^2 instead of 1 - tanh(z)^2",
                  lambda e, a: 1 + np.tanh(a[0]) ** 2),
             Hint("you wrote 1 - z^2: apply tanh first, then square",
                  lambda e, a: 1 - np.square(np.asarray(a[0], float))),
             SIGN_FLIPPED)
    extreme = [lambda: _extreme("tanh_derivative", tanh_derivative, ref.tanh_derivative, hints,
                                warn_is_error=False)]
    run_cases("tanh_derivative", tanh_derivative, ref.tanh_derivative,
              _inputs(case_rng("tanh_derivative", hidden), hidden, scale=1.5), hints=hints,
              then=extreme if hidden else ())
