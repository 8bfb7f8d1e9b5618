"""Tests for nnlib.softmax_mlp: He init, loss with L2, gradients, training on spiral and digits."""
import time

import numpy as np
import pytest

from nnlib.datasets import load_digits_split, make_spiral
from nnlib.gradcheck import check_gradients
from nnlib.losses import cross_entropy_from_logits
from nnlib.softmax_mlp import SoftmaxMLP, kaiming_init


def test_kaiming_init_shape_scale_and_reproducibility():
    W = kaiming_init(400, 300, np.random.default_rng(0))
    assert W.shape == (400, 300) and W.dtype == np.float64
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert abs(W.mean()) < 0.005
    np.testing.assert_array_equal(W, kaiming_init(400, 300, np.random.default_rng(0)))
    with pytest.raises(TypeError, match="Generator"):
        kaiming_init(3, 2, 0)
    with pytest.raises(ValueError, match="fan_out"):
        kaiming_init(3, 0, np.random.default_rng(0))


def test_params_layout_and_seeded_init():
    model = SoftmaxMLP([4, 6, 5, 3], seed=7)
    params = model.params
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [p.shape for p in params.values()] == [(4, 6), (6,), (6, 5), (5,), (5, 3), (3,)]
    rng = np.random.default_rng(7)
    for l, (fan_in, fan_out) in enumerate([(4, 6), (6, 5), (5, 3)], start=1):
        np.testing.assert_array_equal(params[f"W{l}"], kaiming_init(fan_in, fan_out, rng))
        assert not params[f"b{l}"].any()
    params["b3"][...] = 1.0                      # the dict holds the model's own arrays
    assert model.params["b3"][0] == 1.0


@pytest.mark.parametrize("sizes, reg", [([3, 5, 4], 0.0), ([2, 6, 7, 3], 0.1), ([5, 2], 0.5)])
def test_gradients_match_finite_differences(sizes, reg):
    rng = np.random.default_rng(len(sizes))
    model = SoftmaxMLP(sizes, reg=reg, seed=1)
    for key, value in model.params.items():
        if key.startswith("b"):
            value[...] = rng.standard_normal(value.shape) * 0.1
    X = rng.standard_normal((11, sizes[0]))
    y = rng.integers(0, sizes[-1], 11)
    grads = model.gradients(X, y)
    assert list(grads) == list(model.params)
    errors = check_gradients(lambda: model.loss(X, y), model.params, grads)
    assert max(errors.values()) < 1e-6, errors


def test_loss_is_cross_entropy_plus_half_reg_squared_weights():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 3)), rng.integers(0, 4, 9)
    plain = SoftmaxMLP([3, 8, 4], reg=0.0, seed=2)
    regularised = SoftmaxMLP([3, 8, 4], reg=0.3, seed=2)
    penalty = 0.5 * 0.3 * sum(np.sum(W ** 2) for k, W in plain.params.items() if k.startswith("W"))
    assert regularised.loss(X, y) == pytest.approx(plain.loss(X, y) + penalty, rel=1e-12)
    assert plain.loss(X, y) == pytest.approx(cross_entropy_from_logits(plain.scores(X), y), rel=1e-12)
    grads_plain, grads_reg = plain.gradients(X, y), regularised.gradients(X, y)
    np.testing.assert_allclose(grads_reg["W1"] - grads_plain["W1"], 0.3 * plain.params["W1"], atol=1e-12)
    np.testing.assert_array_equal(grads_reg["b1"], grads_plain["b1"])   # biases are not penalised


def test_spiral_train_accuracy_above_95_percent():
    X, y = make_spiral(n_per_class=100, n_classes=3)
    model = SoftmaxMLP([2, 100, 3], reg=1e-3, seed=0)
    start = time.perf_counter()
    history = model.fit(X, y, lr=1.0, epochs=300, batch_size=300)
    assert time.perf_counter() - start < 10
    assert len(history) == 300 and history[-1] < 0.5 * history[0]
    assert np.mean(model.predict(X) == y) > 0.95


def test_digits_test_accuracy_above_90_percent():
    X_train, X_test, y_train, y_test = load_digits_split()
    model = SoftmaxMLP([64, 64, 10], reg=1e-4, seed=0)
    start = time.perf_counter()
    model.fit(X_train, y_train, lr=0.1, epochs=20, batch_size=32)
    assert time.perf_counter() - start < 10
    assert np.mean(model.predict(X_test) == y_test) > 0.90


def test_predict_and_predict_proba():
    model = SoftmaxMLP([2, 5, 3], seed=0)
    X = np.random.default_rng(1).standard_normal((7, 2))
    proba = model.predict_proba(X)
    assert proba.shape == (7, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = model.predict(X)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))


def test_fit_is_reproducible_and_reduces_loss_with_minibatches():
    X, y = make_spiral(n_per_class=30)
    runs = [SoftmaxMLP([2, 20, 3], seed=4).fit(X, y, lr=0.5, epochs=15, batch_size=16) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0][-1] < runs[0][0]


def test_fit_history_is_the_mean_loss_over_the_epoch():
    X, y = make_spiral(n_per_class=20)
    model = SoftmaxMLP([2, 10, 3], reg=0.01, seed=0)
    before = model.loss(X, y)
    history = model.fit(X, y, lr=0.1, epochs=1, batch_size=len(y))   # one full batch
    assert history == [pytest.approx(before, rel=1e-12)]


def test_bad_inputs_raise_clear_errors():
    model = SoftmaxMLP([3, 4, 2])
    with pytest.raises(ValueError, match="out of range"):
        model.loss(np.zeros((2, 3)), np.array([0, 2]))
    with pytest.raises(ValueError, match=r"\(2, 5\).*3 features"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3,\)"):
        model.gradients(np.zeros((4, 3)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="lr"):
        model.fit(np.zeros((4, 3)), np.array([0, 1, 1, 0]), lr=-1.0, epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="reg"):
        SoftmaxMLP([3, 2], reg=-0.1)
    with pytest.raises(ValueError, match="layer_sizes"):
        SoftmaxMLP([3])


def _overfitting_split():
    """A wide network on 40 noisy spiral points, 150 more to validate on: it overfits."""
    X, y = make_spiral(n_per_class=70, noise=0.4, seed=3)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order[:40]], y[order[:40]], X[order[40:190]], y[order[40:190]]


def test_fit_records_the_validation_loss_and_accuracy_after_every_epoch():
    X, y, X_val, y_val = _overfitting_split()
    model = SoftmaxMLP([2, 32, 3], reg=1e-3, seed=0)
    plain = SoftmaxMLP([2, 32, 3], reg=1e-3, seed=0)
    losses = model.fit(X, y, lr=0.3, epochs=30, batch_size=16, validation=(X_val, y_val))
    # watching the validation rows changes nothing of the training itself
    assert losses == plain.fit(X, y, lr=0.3, epochs=30, batch_size=16)
    history = model.history
    assert history["epoch"] == list(range(1, 31)) and history["training loss"] == losses
    assert history["validation loss"][-1] == pytest.approx(model.loss(X_val, y_val), rel=1e-12)
    assert history["validation accuracy"][-1] == np.mean(model.predict(X_val) == y_val)
    best = history["best epoch"]
    assert history["validation loss"][best - 1] == min(history["validation loss"])


def test_patience_stops_early_and_puts_back_the_best_epoch():
    X, y, X_val, y_val = _overfitting_split()
    model = SoftmaxMLP([2, 64, 64, 3], seed=0)
    model.fit(X, y, lr=0.3, epochs=3000, batch_size=40, validation=(X_val, y_val), patience=50)
    history = model.history
    best = history["best epoch"]
    assert len(history["epoch"]) == best + 50 < 3000           # it overfits, and stops
    assert min(history["validation loss"][best:]) > history["validation loss"][best - 1]
    # the parameters are those of the best epoch: the same model trained that long
    again = SoftmaxMLP([2, 64, 64, 3], seed=0)
    again.fit(X, y, lr=0.3, epochs=best, batch_size=40)
    for key, value in again.params.items():
        np.testing.assert_array_equal(model.params[key], value)
    assert model.loss(X_val, y_val) == pytest.approx(history["validation loss"][best - 1])


def test_bad_validation_arguments_raise_clear_errors():
    X, y, X_val, y_val = _overfitting_split()
    model = SoftmaxMLP([2, 8, 3])
    with pytest.raises(ValueError, match="patience needs validation"):
        model.fit(X, y, lr=0.1, epochs=1, batch_size=8, patience=5)
    with pytest.raises(ValueError, match=r"validation must be a pair \(X_val, y_val\)"):
        model.fit(X, y, lr=0.1, epochs=1, batch_size=8, validation=X_val)
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        model.fit(X, y, lr=0.1, epochs=1, batch_size=8, validation=(X_val, y_val), patience=0)
    with pytest.raises(ValueError, match=r"\(150, 3\).*2 features"):
        model.fit(X, y, lr=0.1, epochs=1, batch_size=8, validation=(np.zeros((150, 3)), y_val))
    with pytest.raises(ValueError, match=r"one label per row"):
        model.fit(X, y, lr=0.1, epochs=1, batch_size=8, validation=(X_val, y_val[:-1]))
