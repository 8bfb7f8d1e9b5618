"""Chapter 6: optimizers that turn gradients into parameter updates.

``params`` and ``grads`` are dicts with the same keys (``grads[k]`` has the
shape of ``params[k]``); grads named like network.backward's output ("dW1"
for "W1") are accepted too. Every step updates ``params`` IN PLACE (float64
arrays are modified themselves, so other references to them see the update;
a plain-number entry such as a bias stored as a float is replaced in the
dict) and also returns it, so both ``sgd_step(p, g, lr)`` and
``p = sgd_step(p, g, lr)`` work. Optimizer state (velocity, Adam's moments)
lives in a dict the caller keeps between steps.
"""
import numpy as np

from nnlib._validate import as_float_array


def _checked_grads(params, grads):
    """Return {params key: grad as float64} after checking keys and shapes against ``params``.

    ``grads`` may use the names of ``params`` ("W1") or, as network.backward
    returns them, those names with a "d" prefix ("dW1").
    """
    uses_prefix = bool(grads) and all(isinstance(name, str) and name.startswith("d") and name[1:] in params
                                      and name not in params for name in grads)
    names = {key: f"d{key}" if uses_prefix else key for key in params}
    missing = sorted((name for name in names.values() if name not in grads), key=str)
    extra = sorted(set(grads) - set(names.values()), key=str)
    if missing or extra:
        raise ValueError(f"grads must have the keys of params (or those keys with a 'd' prefix); "
                         f"missing from grads: {missing}, not in params: {extra}")
    checked = {}
    for key, param in params.items():
        if isinstance(param, np.ndarray) and not np.issubdtype(param.dtype, np.floating):
            raise TypeError(f"params[{key!r}] has dtype {param.dtype}; it must hold floats to be "
                            f"updated in place (use .astype(np.float64))")
        name = names[key]
        grad = as_float_array(grads[name], f"grads[{name!r}]")
        if grad.shape != np.shape(param):
            raise ValueError(f"params[{key!r}] has shape {np.shape(param)} but grads[{name!r}] "
                             f"has shape {grad.shape}")
        checked[key] = grad
    return checked


def _checked_state(state, params, name):
    """Check that the state dict ``state`` (e.g. a velocity) matches ``params`` where it has entries."""
    extra = sorted(set(state) - set(params), key=str)
    if extra:
        raise ValueError(f"{name} has keys that are not in params: {extra}")
    for key, value in state.items():
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            raise TypeError(f"{name}[{key!r}] must be a float64 numpy array (it is updated in place)")
        if np.shape(value) != np.shape(params[key]):
            raise ValueError(f"params[{key!r}] has shape {np.shape(params[key])} but {name}[{key!r}] "
                             f"has shape {np.shape(value)}")


def _check_lr(lr):
    if not np.isfinite(lr) or lr < 0:
        raise ValueError(f"learning rate must be a non-negative finite number, got {lr}")


def _subtract(params, key, delta):
    """params[key] -= delta, in place for arrays; plain numbers are replaced in the dict."""
    if isinstance(params[key], np.ndarray):
        params[key] -= delta
    else:
        params[key] = float(params[key] - delta)


def sgd_step(params, grads, lr):
    """Plain gradient descent p <- p - lr * g for every key -> params."""
    _check_lr(lr)
    grads = _checked_grads(params, grads)
    for key in params:
        _subtract(params, key, lr * grads[key])
    return params


def momentum_step(params, grads, velocity, lr, beta=0.9):
    """SGD with momentum: v <- beta v + g; p <- p - lr v -> (params, velocity).

    This is PyTorch's convention. The other common form, v' <- beta v' - lr g;
    p <- p + v', gives the same parameters for a constant lr (v' = -lr v).
    ``velocity`` is a dict updated in place; missing entries start at zero.
    """
    _check_lr(lr)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    grads = _checked_grads(params, grads)
    _checked_state(velocity, params, "velocity")
    for key in params:
        if key not in velocity:
            velocity[key] = np.zeros(np.shape(params[key]))
        v = velocity[key]
        v *= beta
        v += grads[key]
        _subtract(params, key, lr * v)
    return params, velocity


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step with bias correction -> (params, state).

    ``state`` holds "m" and "v" (dicts of first and second moment arrays) and
    "t" (the number of steps taken); pass an empty dict to start. With
    g the gradient and t counted from 1::

        m <- beta1 m + (1 - beta1) g          m_hat = m / (1 - beta1^t)
        v <- beta2 v + (1 - beta2) g^2        v_hat = v / (1 - beta2^t)
        p <- p - lr m_hat / (sqrt(v_hat) + eps)

    This matches torch.optim.Adam.
    """
    _check_lr(lr)
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {beta}")
    grads = _checked_grads(params, grads)
    if not state:
        state.update(m={}, v={}, t=0)
    missing = [key for key in ("m", "v", "t") if key not in state]
    if missing:
        raise ValueError(f"Adam state is missing {missing}; pass an empty dict to start fresh")
    _checked_state(state["m"], params, "state['m']")
    _checked_state(state["v"], params, "state['v']")
    state["t"] += 1
    t = state["t"]
    for key in params:
        m = state["m"].setdefault(key, np.zeros(np.shape(params[key])))
        v = state["v"].setdefault(key, np.zeros(np.shape(params[key])))
        g = grads[key]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1 ** t)
        v_hat = v / (1.0 - beta2 ** t)
        _subtract(params, key, lr * m_hat / (np.sqrt(v_hat) + eps))
    return params, state
