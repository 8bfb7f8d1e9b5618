"""Tests for nnlib.training (chapter 7)."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from nnlib.activations import sigmoid
from nnlib.datasets import load_and_split, make_moons
from nnlib.losses import binary_cross_entropy
from nnlib.network import backward, forward, init_params, neuron_backward
from nnlib.training import accuracy, fit, iterate_minibatches, predict, train_sgd


@pytest.mark.parametrize("n, batch_size", [(10, 3), (10, 10), (10, 20), (7, 1)])
def test_minibatches_cover_every_row_once(n, batch_size):
    X = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    batches = list(iterate_minibatches(X, y, batch_size, np.random.default_rng(0)))
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(n))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb, X[yb])  # rows stay paired with their labels


def test_minibatches_fresh_permutation_per_call_from_rng():
    X, y = np.zeros((50, 1)), np.arange(50)
    rng = np.random.default_rng(1)
    first = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, rng)])
    second = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, rng)])
    assert not np.array_equal(first, second)
    expected = np.random.default_rng(1).permutation(50)
    np.testing.assert_array_equal(first, expected)


def test_minibatches_errors_raised_at_call():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"X has shape \(5, 2\) but y has shape \(4,\)"):
        iterate_minibatches(np.zeros((5, 2)), np.zeros(4), 2, rng)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        iterate_minibatches(np.zeros((5, 2)), np.zeros(5), 0, rng)
    with pytest.raises(TypeError, match="Generator"):
        iterate_minibatches(np.zeros((5, 2)), np.zeros(5), 2, 42)


def _reference_train_sgd(X_train, y_train, X_test, y_test, lr, iterations, seed):
    """The video course's loop written out plainly."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(X_train.shape[1]), float(rng.standard_normal())
    train, test = [], []
    for _ in range(iterations):
        i = rng.integers(X_train.shape[0])
        train.append((sigmoid(X_train[i] @ w + b) - y_train[i]) ** 2)
        dw, db = neuron_backward(X_train[i], y_train[i], w, b)
        w, b = w - lr * dw, b - lr * db
        test.append(np.sum((sigmoid(X_test @ w + b) - y_test) ** 2))
    return w, b, train, test


def test_train_sgd_follows_the_video_loop():
    rng = np.random.default_rng(0)
    X_train, X_test = rng.standard_normal((30, 4)), rng.standard_normal((10, 4))
    y_train, y_test = rng.integers(0, 2, 30), rng.integers(0, 2, 10)
    params, train_losses, test_losses = train_sgd(X_train, y_train, X_test, y_test, lr=0.2, iterations=50, seed=3)
    w, b, train, test = _reference_train_sgd(X_train, y_train, X_test, y_test, 0.2, 50, 3)
    assert params["w"].shape == (4,) and isinstance(params["b"], float)
    assert len(train_losses) == len(test_losses) == 50
    np.testing.assert_allclose(params["w"], w, rtol=1e-12)
    assert params["b"] == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(train_losses, train, rtol=1e-12)
    np.testing.assert_allclose(test_losses, test, rtol=1e-12)


def test_train_sgd_learns_breast_cancer():
    X_train, X_test, y_train, y_test = load_and_split()
    params, train_losses, test_losses = train_sgd(X_train, y_train, X_test, y_test)
    assert len(test_losses) == 1000 and all(type(v) is float for v in train_losses + test_losses)
    assert np.mean(test_losses[-50:]) < 0.5 * test_losses[0]
    preds = (sigmoid(X_test @ params["w"] + params["b"]) >= 0.5).astype(int)
    assert accuracy(y_test, preds) > 0.9


def test_train_sgd_errors():
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"X_train has shape \(4, 3\) but X_test has shape \(2, 2\)"):
        train_sgd(X, np.zeros(4), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"X_test has shape \(2, 3\) but y_test has shape \(3,\)"):
        train_sgd(X, np.zeros(4), np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="iterations"):
        train_sgd(X, np.zeros(4), X, np.zeros(4), iterations=0)


def test_fit_matches_manual_loop_and_reports_epoch_means():
    X, y = make_moons(40, noise=0.1, seed=1)
    params, losses = fit(X, y, [2, 6, 1], lr=0.5, epochs=3, batch_size=16, seed=2)
    expected_params = init_params([2, 6, 1], seed=2)
    rng = np.random.default_rng(2)
    expected_losses = []
    for _ in range(3):
        total = 0.0
        for Xb, yb in iterate_minibatches(X, y, 16, rng):
            yhat, cache = forward(Xb, expected_params)
            total += binary_cross_entropy(yb, yhat) * len(yb)
            grads = backward(Xb, yb, expected_params, cache)
            for key in expected_params:
                expected_params[key] -= 0.5 * grads["d" + key]
        expected_losses.append(total / len(y))
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)
    for key in params:
        np.testing.assert_allclose(params[key], expected_params[key], rtol=1e-12)


def test_fit_shows_a_progress_bar_unless_asked_not_to(capsys):
    X, y = make_moons(40, noise=0.1, seed=1)
    loud = fit(X, y, [2, 4, 1], lr=0.5, epochs=3, batch_size=16, seed=2)
    bar = capsys.readouterr().err
    assert "fit" in bar and "3/3" in bar and f"loss={loud[1][-1]:.4f}" in bar, bar
    quiet = fit(X, y, [2, 4, 1], lr=0.5, epochs=3, batch_size=16, seed=2, progress=False)
    assert capsys.readouterr() == ("", "")
    assert quiet[1] == loud[1]


def test_fit_learns_moons():
    X, y = make_moons(200, noise=0.1, seed=0)
    params, losses = fit(X, y, [2, 16, 1], lr=0.5, epochs=150, batch_size=32, seed=0)
    assert len(losses) == 150 and all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy(y, predict(X, params)) > 0.9


def test_fit_errors():
    X, y = make_moons(20)
    with pytest.raises(ValueError, match=r"X has shape \(20, 2\) but layer_sizes \[3, 4, 1\]"):
        fit(X, y, [3, 4, 1], lr=0.1, epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="0/1 labels"):
        fit(X, y * 2, [2, 4, 1], lr=0.1, epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="epochs"):
        fit(X, y, [2, 4, 1], lr=0.1, epochs=0, batch_size=5)
    with pytest.raises(ValueError, match=r"X has shape \(20, 2\) but y has shape \(19,\)"):
        fit(X, y[:19], [2, 4, 1], lr=0.1, epochs=1, batch_size=5)
    with pytest.raises(ValueError, match="batch_size"):
        fit(X, y, [2, 4, 1], lr=0.1, epochs=1, batch_size=0)


def test_fit_accepts_column_labels():
    X, y = make_moons(30, seed=2)
    params_flat, losses_flat = fit(X, y, [2, 3, 1], lr=0.3, epochs=2, batch_size=8)
    params_col, losses_col = fit(X, y.reshape(-1, 1), [2, 3, 1], lr=0.3, epochs=2, batch_size=8)
    np.testing.assert_allclose(losses_col, losses_flat, rtol=1e-14)
    for key in params_flat:
        np.testing.assert_allclose(params_col[key], params_flat[key], rtol=1e-14)


def test_predict_thresholds_at_one_half():
    params = {"W1": np.array([[1.0]]), "b1": np.array([0.0])}
    preds = predict(np.array([[-2.0], [0.0], [1e-9], [-1e-9], [3.0]]), params)
    np.testing.assert_array_equal(preds, [0, 1, 1, 0, 1])
    assert preds.shape == (5,) and np.issubdtype(preds.dtype, np.integer)


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 2, 25), rng.integers(0, 2, 25)
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))
    assert accuracy(y_true, y_pred.reshape(-1, 1)) == pytest.approx(accuracy_score(y_true, y_pred))
    assert accuracy(y_true.reshape(-1, 1), y_pred) == pytest.approx(accuracy_score(y_true, y_pred))


def test_accuracy_errors():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        accuracy([0, 1, 1], [0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(1, 3\)"):
        accuracy([0, 1, 1], [[0, 1, 1]])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="NaN"):
        accuracy([0, 1], [0, np.nan])
