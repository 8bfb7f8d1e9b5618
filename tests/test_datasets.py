"""Tests for nnlib.datasets."""
import re

import numpy as np
import pytest
import sklearn.datasets
from sklearn.model_selection import train_test_split

import nnlib
from nnlib.datasets import load_and_split, load_digits_split, make_moons, make_spiral, make_toy


def test_load_and_split_shapes_types_and_stratification():
    X_train, X_test, y_train, y_test = load_and_split()
    assert X_train.shape == (455, 30) and X_test.shape == (114, 30)
    assert y_train.shape == (455,) and y_test.shape == (114,)
    assert X_train.dtype == np.float64 and np.issubdtype(y_train.dtype, np.integer)
    assert set(np.unique(y_train)) == {0, 1}
    assert abs(y_train.mean() - y_test.mean()) < 0.01  # stratified


def test_load_and_split_scaler_fitted_on_train_only():
    X_train, X_test, y_train, y_test = load_and_split(random_state=3)
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(X_test.mean(axis=0)).max() > 1e-3  # test statistics did not enter the scaler
    # rebuild the raw split: the test rows must be scaled with the TRAIN mean and std
    X_raw, y_raw = sklearn.datasets.load_breast_cancer(return_X_y=True)
    raw_train, raw_test, _, raw_y_test = train_test_split(X_raw, y_raw, test_size=0.2, random_state=3,
                                                          stratify=y_raw)
    np.testing.assert_array_equal(y_test, raw_y_test)
    expected = (raw_test - raw_train.mean(axis=0)) / raw_train.std(axis=0)
    np.testing.assert_allclose(X_test, expected, rtol=1e-10, atol=1e-12)
    scaled_with_all = (raw_test - X_raw.mean(axis=0)) / X_raw.std(axis=0)
    assert not np.allclose(X_test, scaled_with_all)


def test_load_and_split_respects_arguments():
    a = load_and_split(test_size=0.3, random_state=1)
    b = load_and_split(test_size=0.3, random_state=1)
    c = load_and_split(test_size=0.3, random_state=2)
    assert a[1].shape == (171, 30)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_load_digits_split():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    assert X_train.min() == 0.0 and X_train.max() == 1.0 and X_test.max() <= 1.0
    assert set(np.unique(y_train)) == set(range(10))
    np.testing.assert_allclose(np.bincount(y_test) / len(y_test), np.bincount(y_train) / len(y_train),
                               atol=0.01)


@pytest.mark.parametrize("n, k", [(100, 3), (50, 2), (7, 5)])
def test_make_spiral_shapes_and_labels(n, k):
    X, y = make_spiral(n, k, seed=1)
    assert X.shape == (n * k, 2) and X.dtype == np.float64
    assert y.shape == (n * k,) and np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(np.bincount(y), [n] * k)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.max() == pytest.approx(1.0) and radius.min() == 0.0


def test_make_spiral_arms_and_noise():
    X, y = make_spiral(100, 3, noise=0.0)
    # without noise each arm is r (sin t, cos t) with t from 4k to 4(k + 1)
    r = np.linspace(0, 1, 100)
    t = np.linspace(4.0, 8.0, 100)
    np.testing.assert_allclose(X[y == 1], np.c_[r * np.sin(t), r * np.cos(t)], atol=1e-15)
    np.testing.assert_array_equal(make_spiral(seed=5)[0], make_spiral(seed=5)[0])
    assert not np.array_equal(make_spiral(seed=5)[0], make_spiral(seed=6)[0])
    with pytest.raises(ValueError, match="noise"):
        make_spiral(noise=-1.0)
    with pytest.raises(ValueError, match="n_classes"):
        make_spiral(n_classes=0)


def test_make_moons_matches_sklearn():
    X, y = make_moons(60, noise=0.2, seed=4)
    X_ref, y_ref = sklearn.datasets.make_moons(60, noise=0.2, random_state=4)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.dtype == np.float64 and np.issubdtype(y.dtype, np.integer)
    with pytest.raises(ValueError, match="n_samples"):
        make_moons(0)


def test_make_toy():
    xs, ys = make_toy()
    np.testing.assert_array_equal(xs, [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]])
    np.testing.assert_array_equal(ys, [1, -1, -1, 1])
    assert xs.dtype == np.float64 and ys.dtype == np.float64


def test_load_heart_reads_the_article_s_heart_dat_and_a_csv_with_a_target(tmp_path):
    rng = np.random.default_rng(0)
    features = np.round(rng.normal(size=(6, 13)) * 10, 1)
    labels = np.array([1, 2, 2, 1, 1, 2])
    dat = tmp_path / "heart.dat"
    dat.write_text("\n".join(" ".join(f"{v:g}" for v in row) + f" {label}"
                             for row, label in zip(features, labels)) + "\n")
    X, y = nnlib.load_heart(dat)
    assert X.shape == (6, 13) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, features)
    np.testing.assert_array_equal(y, labels - 1)
    csv = tmp_path / "heart.csv"
    csv.write_text("age,chol,target\n63,233,1\n37,250,0\n")
    X, y = nnlib.load_heart(csv)
    np.testing.assert_array_equal(X, [[63, 233], [37, 250]])
    np.testing.assert_array_equal(y, [1, 0])


@pytest.mark.parametrize("name, text, words", [
    ("heart.csv", "age,label\n63,1\n", "no column named 'target'"),
    ("heart.dat", "1 2 3\n4 5 7\n", "labels are [3, 7]: expected 0/1 or 1/2"),
    ("heart.dat", "1 x 1\n2 y 2\n", "holds text where numbers were expected"),
])
def test_load_heart_names_what_is_wrong_with_a_table(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(words)):
        nnlib.load_heart(path)
    with pytest.raises(FileNotFoundError, match="no file"):
        nnlib.load_heart(tmp_path / "missing.dat")
