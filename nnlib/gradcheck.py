"""Chapter 3: numerical derivatives, and checking analytic gradients against them.

The central difference (f(x + h) - f(x - h)) / 2h has error O(h^2), against
O(h) for the one-sided rise-over-run (f(x + h) - f(x)) / h. With h = 1e-5 in
float64 a correct gradient typically agrees with it to a relative error below
1e-7; a wrong one is off by far more than that.

All perturbations are made IN PLACE on float64 arrays and undone exactly (the
original entry is written back, not recomputed as (x + h) - h), so the loss
function may read the parameters through a closure, as a model's loss does.
"""
import numpy as np

from nnlib._validate import as_float_array


def _scalar(value, what):
    """Return ``value`` (what f returned) as a finite float, or raise naming ``what``."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, but at {what} it returned shape {arr.shape}")
    result = float(arr.reshape(()))
    if not np.isfinite(result):
        raise ValueError(f"f returned {result} at {what}; a central difference needs finite values")
    return result


def _central_difference_at(loss, x, index, h, name):
    """(loss() with x[index] + h  -  loss() with x[index] - h) / 2h; x[index] restored exactly."""
    original = x[index]
    entry = f"{name}[{', '.join(str(int(i)) for i in index)}]"
    try:
        x[index] = original + h
        loss_plus = _scalar(loss(), f"{entry} + h")
        x[index] = original - h
        loss_minus = _scalar(loss(), f"{entry} - h")
    finally:
        x[index] = original
    return (loss_plus - loss_minus) / (2.0 * h)


def _check_step(h):
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"step h must be a positive finite number, got {h}")


def _in_place_float_array(x, name):
    """Check that ``x`` is a float64 ndarray we may perturb in place (no NaN)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (it is perturbed in place), got {type(x).__name__}")
    if x.dtype != np.float64:
        hint = ("an integer array cannot hold x + h, so the perturbation would be rounded away"
                if not np.issubdtype(x.dtype, np.floating) else "float64 is needed for accurate differences")
        raise TypeError(f"{name} has dtype {x.dtype}: pass floats, e.g. {name}.astype(np.float64) "
                        f"({hint})")
    as_float_array(x, name)  # reports NaN with its index
    return x


def numerical_derivative(f, x, h=1e-5):
    """Central difference (f(x + h) - f(x - h)) / 2h of a scalar function at scalar x -> float."""
    _check_step(h)
    x = float(as_float_array(x, "x", ndim=0))
    return (_scalar(f(x + h), "x + h") - _scalar(f(x - h), "x - h")) / (2.0 * h)


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of scalar f at x (any shape) -> array of x's shape.

    ``x`` must be a float64 array; each entry is perturbed in place, ``f(x)`` is
    evaluated, and the entry is restored, so ``x`` is unchanged afterwards (also
    when ``f`` raises).
    """
    _check_step(h)
    x = _in_place_float_array(x, "x")
    grad = np.zeros_like(x)

    def loss():
        return f(x)  # x holds the perturbed entry at this moment

    for index in np.ndindex(x.shape):
        grad[index] = _central_difference_at(loss, x, index, h, "x")
    return grad


def rel_error(a, b, eps=1e-8):
    """max over entries of abs(a - b) / max(eps, abs(a) + abs(b)) -> float (0.0 for empty arrays).

    ``a`` and ``b`` must have the same shape (two scalars are fine).
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a has shape {a.shape} but b has shape {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(eps, np.abs(a) + np.abs(b))))


def _check_matching_dicts(params, grads):
    """Raise ValueError unless the two dicts have the same keys and per-key shapes."""
    missing = sorted(set(params) - set(grads), key=str)
    extra = sorted(set(grads) - set(params), key=str)
    if missing or extra:
        raise ValueError(f"params and grads must have the same keys; missing from grads: {missing}, "
                         f"extra in grads: {extra}")
    for key in params:
        _in_place_float_array(params[key], f"params[{key!r}]")
        grad_shape = np.shape(grads[key])
        if params[key].shape != grad_shape:
            raise ValueError(f"params[{key!r}] has shape {params[key].shape} but grads[{key!r}] "
                             f"has shape {grad_shape}")


def check_gradients(f, params, grads, h=1e-5, max_entries=None, rng=None):
    """Compare analytic ``grads`` with central differences of ``f()`` -> {key: rel_error}.

    ``params`` and ``grads`` are dicts of arrays with the same keys and shapes;
    ``f()`` takes no arguments and computes the scalar loss from ``params``,
    which are perturbed in place and restored. With ``max_entries`` only that
    many randomly chosen entries per key are checked (chosen with ``rng``, a
    np.random.Generator; default np.random.default_rng(0)).
    """
    _check_step(h)
    _check_matching_dicts(params, grads)
    if max_entries is not None and (isinstance(max_entries, bool) or not isinstance(max_entries, (int, np.integer))
                                    or max_entries < 1):
        raise ValueError(f"max_entries must be None or a positive integer, got {max_entries!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    errors = {}
    for key, param in params.items():
        analytic = as_float_array(grads[key], f"grads[{key!r}]").ravel()
        if max_entries is None or max_entries >= param.size:
            flat_positions = np.arange(param.size)
        else:
            flat_positions = np.sort(rng.choice(param.size, size=max_entries, replace=False))
        numeric = np.array([
            _central_difference_at(f, param, np.unravel_index(pos, param.shape), h, f"params[{key!r}]")
            for pos in flat_positions
        ])
        errors[key] = rel_error(analytic[flat_positions], numeric)
    return errors


def directional_check(f, params, grads, num_directions=5, h=1e-5, rng=None):
    """Worst relative error of directional derivatives along random unit directions -> float.

    For a random direction d over all parameters (unit norm jointly), the
    analytic slope sum(grad . d) is compared with (f(p + h d) - f(p - h d)) / 2h.
    Costs 2 * num_directions loss evaluations however big the model is.
    ``params`` are restored exactly afterwards. ``rng`` defaults to
    np.random.default_rng(0).
    """
    _check_step(h)
    _check_matching_dicts(params, grads)
    if isinstance(num_directions, bool) or not isinstance(num_directions, (int, np.integer)) or num_directions < 1:
        raise ValueError(f"num_directions must be a positive integer, got {num_directions!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    if sum(param.size for param in params.values()) == 0:
        raise ValueError("directional_check needs at least one parameter entry")
    analytic_grads = {key: as_float_array(grads[key], f"grads[{key!r}]") for key in params}
    originals = {key: param.copy() for key, param in params.items()}
    worst = 0.0
    try:
        for _ in range(num_directions):
            direction = {key: rng.standard_normal(param.shape) for key, param in params.items()}
            norm = np.sqrt(sum(np.sum(d * d) for d in direction.values()))
            direction = {key: d / norm for key, d in direction.items()}
            analytic = sum(np.sum(analytic_grads[key] * d) for key, d in direction.items())
            for key, param in params.items():
                param[...] = originals[key] + h * direction[key]
            loss_plus = _scalar(f(), "p + h d")
            for key, param in params.items():
                param[...] = originals[key] - h * direction[key]
            loss_minus = _scalar(f(), "p - h d")
            numeric = (loss_plus - loss_minus) / (2.0 * h)
            worst = max(worst, rel_error(analytic, numeric))
    finally:
        for key, param in params.items():
            param[...] = originals[key]
    return worst
