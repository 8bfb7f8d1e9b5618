"""Tests for nnlib.optim (chapter 6)."""
import numpy as np
import pytest

from nnlib.optim import adam_step, momentum_step, sgd_step


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads_seq = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(6)]
    return params, grads_seq


def test_sgd_step_in_place_and_returned():
    params, grads_seq = make_problem()
    W_array = params["W"]
    expected = {k: v - 0.1 * grads_seq[0][k] for k, v in params.items()}
    returned = sgd_step(params, grads_seq[0], 0.1)
    assert returned is params
    assert params["W"] is W_array  # the array itself was updated
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-15)


def test_steps_accept_grads_named_like_backward_output():
    params, grads_seq = make_problem()
    expected = {k: v - 0.1 * grads_seq[0][k] for k, v in params.items()}
    sgd_step(params, {"dW": grads_seq[0]["W"], "db": grads_seq[0]["b"]}, 0.1)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-15)
    velocity = {}
    momentum_step(params, {"dW": grads_seq[1]["W"], "db": grads_seq[1]["b"]}, velocity, 0.1)
    assert set(velocity) == {"W", "b"}
    with pytest.raises(ValueError, match=r"missing from grads: \['db'\], not in params: \[\]"):
        sgd_step(params, {"dW": grads_seq[0]["W"]}, 0.1)


def test_sgd_step_scalar_entry_is_replaced():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    sgd_step(params, {"w": np.array([1.0, -1.0]), "b": 2.0}, 0.25)
    np.testing.assert_allclose(params["w"], [0.75, 2.25])
    assert params["b"] == pytest.approx(0.0) and isinstance(params["b"], float)


def test_sgd_step_errors():
    params, grads_seq = make_problem()
    with pytest.raises(ValueError, match=r"missing from grads: \['b'\]"):
        sgd_step(params, {"W": grads_seq[0]["W"]}, 0.1)
    with pytest.raises(ValueError, match=r"not in params: \['c'\]"):
        sgd_step(params, dict(grads_seq[0], c=np.ones(1)), 0.1)
    with pytest.raises(ValueError, match=r"params\['W'\] has shape \(3, 2\) but grads\['W'\] has shape \(2, 3\)"):
        sgd_step(params, {"W": np.ones((2, 3)), "b": np.ones(2)}, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        sgd_step(params, {"W": np.full((3, 2), np.nan), "b": np.ones(2)}, 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        sgd_step(params, grads_seq[0], -1.0)
    with pytest.raises(TypeError, match="int64"):
        sgd_step({"W": np.ones(2, dtype=np.int64)}, {"W": np.ones(2)}, 0.1)


def test_momentum_matches_hand_rolled_and_alternative_convention():
    params, grads_seq = make_problem(1)
    reference = {k: v.copy() for k, v in params.items()}
    alt = {k: v.copy() for k, v in params.items()}
    v_ref = {k: np.zeros_like(v) for k, v in params.items()}
    v_alt = {k: np.zeros_like(v) for k, v in params.items()}
    velocity = {}
    lr, beta = 0.05, 0.8
    for grads in grads_seq:
        returned, returned_velocity = momentum_step(params, grads, velocity, lr, beta=beta)
        assert returned is params and returned_velocity is velocity
        for k in params:
            v_ref[k] = beta * v_ref[k] + grads[k]
            reference[k] -= lr * v_ref[k]
            v_alt[k] = beta * v_alt[k] - lr * grads[k]  # v' = beta v' - lr g; p += v'
            alt[k] += v_alt[k]
    for k in params:
        np.testing.assert_allclose(params[k], reference[k], rtol=1e-13)
        np.testing.assert_allclose(params[k], alt[k], rtol=1e-12)
        np.testing.assert_allclose(velocity[k], v_ref[k], rtol=1e-13)


def test_momentum_creates_velocity_in_place_and_checks_it():
    params, grads_seq = make_problem()
    velocity = {}
    momentum_step(params, grads_seq[0], velocity, 0.1)
    assert set(velocity) == {"W", "b"}
    np.testing.assert_array_equal(velocity["W"], grads_seq[0]["W"])  # first step: v = g
    with pytest.raises(ValueError, match=r"velocity\['b'\] has shape \(3,\)"):
        momentum_step(params, grads_seq[1], {"b": np.zeros(3)}, 0.1)
    with pytest.raises(ValueError, match="not in params"):
        momentum_step(params, grads_seq[1], {"z": np.zeros(3)}, 0.1)
    with pytest.raises(ValueError, match="beta"):
        momentum_step(params, grads_seq[1], {}, 0.1, beta=1.0)


def _entrywise(params, grads_seq, step):
    """Run ``step(p, g, state) -> p`` on every entry separately, with Python floats."""
    out = {}
    for key, array in params.items():
        values = []
        for index in np.ndindex(array.shape):
            p, state = float(array[index]), {}
            for grads in grads_seq:
                p = step(p, float(grads[key][index]), state)
            values.append(p)
        out[key] = np.array(values).reshape(array.shape)
    return out


def test_momentum_matches_the_convention_of_torch_sgd():
    """torch.optim.SGD(momentum=0.9): v = 0.9 v + g, p = p - lr v, entry by entry."""
    params, grads_seq = make_problem(2)

    def step(p, g, state):
        state["v"] = 0.9 * state.get("v", 0.0) + g
        return p - 0.03 * state["v"]
    expected = _entrywise(params, grads_seq, step)
    velocity = {}
    for grads in grads_seq:
        momentum_step(params, grads, velocity, 0.03)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=0, atol=1e-12)


def test_adam_first_step_moves_each_entry_by_about_lr():
    params, grads_seq = make_problem(3)
    before = {k: v.copy() for k, v in params.items()}
    state = {}
    returned, returned_state = adam_step(params, grads_seq[0], state, 0.01)
    assert returned is params and returned_state is state
    assert state["t"] == 1 and set(state["m"]) == {"W", "b"} and set(state["v"]) == {"W", "b"}
    for k in params:  # bias correction makes the first step lr * g / |g|
        np.testing.assert_allclose(before[k] - params[k], 0.01 * np.sign(grads_seq[0][k]), rtol=1e-6)


@pytest.mark.parametrize("lr, betas", [(1e-3, (0.9, 0.999)), (0.1, (0.5, 0.9))])
def test_adam_matches_the_paper_entry_by_entry(lr, betas):
    """Kingma and Ba's Algorithm 1 (torch.optim.Adam's convention), with Python floats."""
    params, grads_seq = make_problem(4)
    beta1, beta2 = betas

    def step(p, g, s):
        s["t"] = s.get("t", 0) + 1
        s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
        s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g * g
        m_hat, v_hat = s["m"] / (1 - beta1 ** s["t"]), s["v"] / (1 - beta2 ** s["t"])
        return p - lr * m_hat / (v_hat ** 0.5 + 1e-8)
    expected = _entrywise(params, grads_seq, step)
    state = {}
    for grads in grads_seq:
        adam_step(params, grads, state, lr, beta1=beta1, beta2=beta2)
    assert state["t"] == len(grads_seq)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=0, atol=1e-12)


def test_adam_state_errors():
    params, grads_seq = make_problem()
    with pytest.raises(ValueError, match=r"missing \['t'\]"):
        adam_step(params, grads_seq[0], {"m": {}, "v": {}}, 0.1)
    with pytest.raises(ValueError, match=r"state\['m'\]\['W'\] has shape \(2,\)"):
        adam_step(params, grads_seq[0], {"m": {"W": np.zeros(2)}, "v": {}, "t": 0}, 0.1)
    with pytest.raises(ValueError, match="beta2"):
        adam_step(params, grads_seq[0], {}, 0.1, beta2=1.5)
