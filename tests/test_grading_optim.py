"""Tests for nnlib.grading.optim: the chapter 6 checks (06_optimizer).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import numpy as np
import pytest
from gradingtools import HIDDEN, failure, passes

from nnlib.grading import optim as checks


# ---------------------------------------------------------------- sgd_step

def sgd_in_place(params, grads, lr):
    for key in params:
        params[key] -= lr * grads[key]


def sgd_in_place_returning(params, grads, lr):
    for key, grad in grads.items():
        params[key] = params[key] - lr * grad
    return params


def sgd_new_dict(params, grads, lr):
    return {k: v - lr * grads[k] for k, v in params.items()}


@HIDDEN
@pytest.mark.parametrize("fn", [sgd_in_place, sgd_in_place_returning])
def test_sgd_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_sgd_step, fn, hidden, capsys, "sgd_step")


def sgd_ascent(params, grads, lr):
    return {k: v + lr * grads[k] for k, v in params.items()}


def sgd_lr_twice(params, grads, lr):
    return {k: v - lr * lr * grads[k] for k, v in params.items()}


def sgd_no_lr(params, grads, lr):
    for key in params:
        params[key] -= grads[key]
    return params


def sgd_drops_key(params, grads, lr):
    return {k: v - lr * grads[k] for k, v in params.items() if k != "b1" and k != "b"}


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (sgd_ascent, "sign is flipped"),
    (sgd_lr_twice, "learning rate is applied twice"),
    (sgd_no_lr, "learning rate is missing"),
    (sgd_drops_key, r"params\['b1?'\] is missing"),
    (sgd_new_dict, "leaves the caller's params dict unchanged"),
])
def test_sgd_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_sgd_step, fn, hidden, match)


# ---------------------------------------------------------------- momentum_step

def momentum_pytorch(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity.get(key, 0.0) + grads[key]
        params[key] -= lr * velocity[key]
    return params, velocity


def momentum_cs231n(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity[key] - lr * grads[key]
        params[key] += velocity[key]


def momentum_new_dicts(params, grads, velocity, lr, beta=0.9):
    v = {k: beta * velocity.get(k, np.zeros_like(p)) + grads[k] for k, p in params.items()}
    return {k: p - lr * v[k] for k, p in params.items()}, v


@HIDDEN
@pytest.mark.parametrize("fn", [momentum_pytorch, momentum_cs231n])
def test_momentum_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_momentum_step, fn, hidden, capsys, "momentum_step")


def momentum_new_velocity(params, grads, velocity, lr, beta=0.9):
    velocity = {k: beta * velocity[k] + grads[k] for k in params}
    for key in params:
        params[key] -= lr * velocity[key]
    return params, velocity


def momentum_ascent(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity[key] + grads[key]
        params[key] += lr * velocity[key]
    return params, velocity


def momentum_forgets_velocity(params, grads, velocity, lr, beta=0.9):
    v = {k: beta * velocity[k] + grads[k] for k in params}   # never stored
    return {k: p - lr * v[k] for k, p in params.items()}, velocity


def momentum_dampened(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity[key] + (1 - beta) * grads[key]
        params[key] -= lr * velocity[key]
    return params, velocity


def momentum_lr_twice(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity[key] - lr * grads[key]
        params[key] += lr * velocity[key]
    return params, velocity


def momentum_returns_velocity_only(params, grads, velocity, lr, beta=0.9):
    for key in params:
        velocity[key] = beta * velocity[key] + grads[key]
        params[key] -= lr * velocity[key]
    return velocity.get("W1", 3.0)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (momentum_ascent, "sign is flipped"),
    (momentum_forgets_velocity, "velocity is not kept between steps"),
    (momentum_dampened, r"damp the gradient with \(1 - beta\)"),
    (momentum_lr_twice, "learning rate is applied twice"),
    (momentum_returns_velocity_only, r"returned a (ndarray|float); it should update params"),
    (momentum_new_dicts, "leaves the caller's params dict unchanged"),
    (momentum_new_velocity, "returns a new state dict but leaves the caller's one unchanged"),
])
def test_momentum_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_momentum_step, fn, hidden, match)


# ---------------------------------------------------------------- adam_step

def _adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8, *, bias=True,
          t0=False, swap=False, inside=False, sign=1.0):
    if swap:
        beta1, beta2 = beta2, beta1
    if not state:
        state.update(m={k: np.zeros_like(v) for k, v in params.items()},
                     v={k: np.zeros_like(v) for k, v in params.items()}, t=0)
    if not t0:
        state["t"] += 1
    t = state["t"]
    for k in params:
        state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * grads[k]
        state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * grads[k] ** 2
        m_hat, v_hat = state["m"][k], state["v"][k]
        if bias:
            with np.errstate(all="ignore"):
                m_hat, v_hat = m_hat / (1 - beta1 ** t), v_hat / (1 - beta2 ** t)
        with np.errstate(all="ignore"):
            denom = np.sqrt(v_hat + eps) if inside else np.sqrt(v_hat) + eps
            params[k] = params[k] - sign * lr * m_hat / denom
    if t0:
        state["t"] += 1
    return params, state


def adam_in_place(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    _adam(params, grads, state, lr, beta1, beta2, eps)


def adam_returns(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return _adam(params, grads, state, lr, beta1, beta2, eps)


def adam_functional(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.get("t", 0) + 1
    m = {k: beta1 * state.get("m", {}).get(k, 0) + (1 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state.get("v", {}).get(k, 0) + (1 - beta2) * g * g for k, g in grads.items()}
    new = {k: p - lr * (m[k] / (1 - beta1 ** t)) / (np.sqrt(v[k] / (1 - beta2 ** t)) + eps)
           for k, p in params.items()}
    return new, {"m": m, "v": v, "t": t}


@HIDDEN
@pytest.mark.parametrize("fn", [adam_in_place, adam_returns])
def test_adam_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_adam_step, fn, hidden, capsys, "adam_step")


def adam_rebinds_state(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    if not state:
        state = {}
    return _adam(params, grads, state, lr, beta1, beta2, eps)


def _wrong(**mistake):
    def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        return _adam(params, grads, state, lr, beta1, beta2, eps, **mistake)
    return adam_step


def adam_no_lr(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    return _adam(params, grads, state, 1.0, beta1, beta2, eps)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (_wrong(sign=-1.0), "sign is flipped"),
    (_wrong(bias=False), "no bias correction"),
    (_wrong(t0=True), "bias correction uses t = 0"),
    (_wrong(swap=True), "beta1 and beta2 are swapped"),
    (_wrong(inside=True), "eps is inside the square root"),
    (adam_no_lr, "learning rate is missing"),
    (adam_functional, "leaves the caller's params dict unchanged"),
    (adam_rebinds_state, "returns a new state dict but leaves the caller's one empty"),
])
def test_adam_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_adam_step, fn, hidden, match)
