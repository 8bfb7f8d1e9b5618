"""Checks for chapter 6 (06_optimizer): sgd_step, momentum_step and adam_step.

Every step must update the caller's ``params`` dict (arrays in place, or entries
replaced) and its state dict, as the chapter documents; returning them too is
expected but not required. Only the parameter
trajectory is compared, so both momentum conventions (v = beta v + g;
p -= lr v and v = beta v - lr g; p += v) pass.
"""
import copy

import numpy as np

from nnlib import optim as ref
from nnlib.grading.core import (GradingError, Hint, _same_value, call_student, case_rng, compare,
                                describe_call, ensure_student_function, passed, type_name)


def _call_step(fn, name, args):
    """Call the student's step through call_student; return (result, the args it got)."""
    box = {}

    def probe(*given):
        box["args"] = copy.deepcopy(given)
        return fn(*box["args"])
    result = call_student(probe, name, args)
    return result, box["args"]


def _caller_dicts(result, given, call, with_state, original):
    """(params, state, problem) after one student step: the returned dicts, else the inputs.

    The text documents that a step updates the dicts it is given (and returns
    them): a caller that ignores the return value must see the new values.
    ``problem`` says so when a step builds new dicts and leaves the caller's
    unchanged; it is raised once the values of every step have been compared,
    so a wrong update is named first.
    """
    params, state = given[0], (given[2] if with_state else None)
    returned_params, returned_state = result, None
    if isinstance(result, tuple) and len(result) in (1, 2):
        if len(result) == 2 and with_state:
            if not isinstance(result[1], dict):
                raise GradingError(f"{call} returned a tuple whose second entry is a "
                                   f"{type_name(result[1])}; it should be the state dict.")
            returned_state = result[1]
        returned_params = result[0]
    if returned_params is not None and not isinstance(returned_params, dict):
        raise GradingError(f"{call} returned a {type_name(returned_params)}; it should update "
                           "params in place and return it.")
    unchanged = _same_value(params, original)
    if returned_params is None and unchanged:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    problem = None
    if with_state and returned_state is not None and returned_state is not state and (
            not _same_value(returned_state, state)):
        problem = (f"{call} returns a new state dict but leaves the caller's one "
                   f"{'empty' if not state else 'unchanged'}; the caller keeps that dict "
                   "between steps, so store the new values in it (state[key] = ...) "
                   "instead of building another dict.")
        state = returned_state
    if returned_params is not None and returned_params is not params and unchanged and (
            not _same_value(returned_params, params)):
        problem = (f"{call} returns new parameters but leaves the caller's params dict "
                   "unchanged. Update the dict you are given, params[key] = params[key] "
                   "- ... (or params[key] -= ...), and return it.")
    return (params if returned_params is None else returned_params), state, problem


def _params(rng, hidden, tiny=False):
    # None: a plain float, like the bias of chapter 7's single neuron
    shapes = [{"W1": (3, 4), "b1": (4,), "W2": (4, 1), "b2": (1,)}, {"w": (6,), "b": None}]
    if hidden:
        shapes += [{"W": (1, 1)}, {"W1": (5, 2), "b1": (2,), "W2": (2, 3), "b2": (3,)}]
    draw = lambda s: float(rng.normal()) if s is None else rng.normal(size=s)
    out = []
    for i, spec in enumerate(shapes):
        params = {k: draw(s) for k, s in spec.items()}
        grads_seq = []
        for _ in range(4):
            g = {k: draw(s) for k, s in spec.items()}
            if tiny and i == 0:
                g["b1"] = g["b1"] * 1e-4  # eps inside or outside the sqrt matters here
            grads_seq.append(g)
        out.append((params, grads_seq))
    return out


def _run(name, fn, cases, reference, variants, with_state, init_state):
    """cases: (params, grads list, extra positional args). variants: [(text, simulator)]."""
    ensure_student_function(fn, name)
    for params, grads_seq, extra in cases:
        mine, state = copy.deepcopy(params), init_state(params)
        ref_params, ref_state = copy.deepcopy(params), init_state(params)
        wrong = [(text, copy.deepcopy(params), init_state(params), sim) for text, sim in variants]
        pending = None      # a step that leaves the caller's dicts unchanged, said last
        for step, grads in enumerate(grads_seq, start=1):
            args = (mine, grads, state) + extra if with_state else (mine, grads) + extra
            call = describe_call(name, args)
            result, given = _call_step(fn, name, args)
            got, new_state, problem = _caller_dicts(result, given, call, with_state, mine)
            out = reference(ref_params, copy.deepcopy(grads), ref_state, *extra)
            for text, p, s, sim in wrong:
                with np.errstate(all="ignore"):
                    sim(p, grads, s, *extra)
            for key in params:
                where = f"{call} at step {step}: params['{key}']"
                if key not in got:
                    raise GradingError(f"{where} is missing from the result; keep every key.")
                hints = [Hint(text, lambda e, a, v=p[key]: v) for text, p, _, _ in wrong]
                value = np.asarray(got[key], dtype=float) if _numeric(got[key]) else got[key]
                if (name == "adam_step" and step == 1 and np.shape(value) == np.shape(out[key])
                        and not np.all(np.isfinite(value))):
                    raise GradingError(f"{where} is not finite. Likely bug: the bias correction "
                                       "uses t = 0 on the first step (1 - beta**0 = 0): count "
                                       "steps from 1, increase t before correcting.")
                compare(name, where, value, out[key], rtol=1e-6, atol=1e-9, hints=hints,
                        args=args)
            pending = pending or problem
            mine, state = copy.deepcopy(got), copy.deepcopy(new_state)
        if pending:
            raise GradingError(pending)
    passed(name, len(cases))


def _numeric(value):
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 - anything odd is simply not numeric
        return False


# ---------------------------------------------------------------- sgd

def _sgd_sim(scale):
    def sim(p, g, s, lr):
        for k in p:
            p[k] = p[k] - scale(lr) * g[k]
    return sim


def check_sgd_step(sgd_step, hidden=False):
    """sgd_step(params, grads, lr): p <- p - lr * g for every key."""
    rng = case_rng("sgd_step", hidden)
    lrs = [0.1, 0.5, 0.03, 0.2]
    cases = [(p, g[:3], (lrs[i],)) for i, (p, g) in enumerate(_params(rng, hidden))]
    variants = [
        ("the sign is flipped: gradient ascent (p + lr * g) instead of descent",
         _sgd_sim(lambda lr: -lr)),
        ("the learning rate is applied twice (lr * lr * g)", _sgd_sim(lambda lr: lr * lr)),
        ("the learning rate is missing (p - g)", _sgd_sim(lambda lr: 1.0)),
    ]
    _run("sgd_step", sgd_step, cases, lambda p, g, s, lr: ref.sgd_step(p, g, lr), variants,
         False, lambda p: None)


# ---------------------------------------------------------------- momentum

def _mom_sim(sign=1.0, lr_pow=1, damp=False, keep=True):
    def sim(p, g, v, lr, beta=0.9):
        for k in p:
            old = v.get(k, 0.0) if keep else 0.0
            v[k] = beta * old + ((1 - beta) if damp else 1.0) * g[k]
            p[k] = p[k] - sign * (lr ** lr_pow) * v[k]
    return sim


def check_momentum_step(momentum_step, hidden=False):
    """momentum_step(params, grads, velocity, lr, beta=0.9) -> (params, velocity)."""
    rng = case_rng("momentum_step", hidden)
    extras = [(0.05,), (0.1, 0.8), (0.2, 0.5), (0.01, 0.95)]
    cases = [(p, g, extras[i]) for i, (p, g) in enumerate(_params(rng, hidden))]
    variants = [
        ("the sign is flipped: the update climbs the gradient instead of descending",
         _mom_sim(sign=-1.0)),
        ("the learning rate is applied twice", _mom_sim(lr_pow=2)),
        ("the learning rate is missing from the update", _mom_sim(lr_pow=0)),
        (("the velocity is not kept between steps (this is plain SGD): update the velocity "
          "dict and reuse it"), _mom_sim(keep=False)),
        ("you damp the gradient with (1 - beta); this course uses v = beta * v + g",
         _mom_sim(damp=True)),
    ]
    zeros = lambda p: {k: np.zeros(np.shape(v)) for k, v in p.items()}
    _run("momentum_step", momentum_step, cases,
         lambda p, g, v, *x: ref.momentum_step(p, g, v, *x)[0], variants, True, zeros)


# ---------------------------------------------------------------- adam

def _adam_sim(sign=1.0, lr_pow=1, correct=True, swap=False, eps_inside=False):
    def sim(p, g, s, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        if swap:
            beta1, beta2 = beta2, beta1
        s["t"] = s.get("t", 0) + 1
        t = s["t"]
        for k in p:
            m = s.setdefault("m", {}).get(k, 0.0) * beta1 + (1 - beta1) * g[k]
            v = s.setdefault("v", {}).get(k, 0.0) * beta2 + (1 - beta2) * g[k] ** 2
            s["m"][k], s["v"][k] = m, v
            if correct:
                m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            denom = np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps
            p[k] = p[k] - sign * lr ** lr_pow * m / denom
    return sim


def check_adam_step(adam_step, hidden=False):
    """adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8); state starts {}."""
    rng = case_rng("adam_step", hidden)
    extras = [(0.01,), (0.1, 0.8, 0.99, 1e-8), (0.05,), (0.2,)]
    cases = [(p, g, extras[i]) for i, (p, g) in enumerate(_params(rng, hidden, tiny=True))]
    variants = [
        ("the sign is flipped: the update climbs the gradient instead of descending",
         _adam_sim(sign=-1.0)),
        ("the learning rate is applied twice", _adam_sim(lr_pow=2)),
        ("the learning rate is missing from the update", _adam_sim(lr_pow=0)),
        ("no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)",
         _adam_sim(correct=False)),
        ("beta1 and beta2 are swapped: m uses beta1 (0.9), v uses beta2 (0.999)",
         _adam_sim(swap=True)),
        ("eps is inside the square root: use np.sqrt(v_hat) + eps", _adam_sim(eps_inside=True)),
    ]
    _run("adam_step", adam_step, cases, lambda p, g, s, *x: ref.adam_step(p, g, s, *x)[0],
         variants, True, lambda p: {})
