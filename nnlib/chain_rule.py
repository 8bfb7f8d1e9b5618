"""Chapter 3: backpropagation by hand through L = (a*b + c) * f.

Name the intermediate result: d = a*b + c, so L = d * f. The graph is

    a --\\
         (*) --> a*b --\\
    b --/               (+) --> d --\\
                   c --/             (*) --> L
                                f --/

Walk it backwards, starting from dL/dL = 1:

- L = d * f is a product, and a product sends each input the other input
  times the gradient arriving from above: dL/dd = f and dL/df = d.
- d = a*b + c is a sum, and a sum passes the gradient through unchanged:
  dd/dc = 1, so dL/dc = dL/dd * dd/dc = f. The same happens for the product
  node a*b: dL/d(a*b) = f.
- a*b is a product again: dL/da = dL/d(a*b) * b = f * b and dL/db = f * a.

Each step is the chain rule dL/dx = dL/dy * dy/dx: a gradient from above
times a local derivative. No numerical differentiation is involved; the
tests compare these numbers with nnlib.gradcheck.numerical_derivative.
"""
import numpy as np


def _finite_float(value, name):
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    return number


def expression_grads(a, b, c, f):
    """Gradients of L = (a*b + c) * f -> {"dL/da", "dL/db", "dL/dc", "dL/df"} as floats."""
    a, b, c, f = (_finite_float(v, name) for v, name in zip((a, b, c, f), "abcf"))
    d = a * b + c          # forward: the intermediate node
    dL_dd = f              # L = d * f: the product's local derivative w.r.t. d is f
    dL_df = d              # ... and w.r.t. f it is d
    dL_dc = dL_dd * 1.0    # d = (a*b) + c: a sum passes the gradient through
    dL_dab = dL_dd * 1.0   # the same for the a*b branch
    dL_da = dL_dab * b     # a*b: the gradient for a is the other operand, b
    dL_db = dL_dab * a
    return {"dL/da": dL_da, "dL/db": dL_db, "dL/dc": dL_dc, "dL/df": dL_df}
