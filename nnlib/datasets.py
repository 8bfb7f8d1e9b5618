"""Data sets of the course, all available offline.

The lectures used data we cannot ship (a heart-disease table, MNIST); the
course substitutes data that comes with scikit-learn (breast cancer, 8x8
digits) or is generated (spiral, moons, a 4-example toy set). Features are
float64, class labels int64.
"""
from pathlib import Path

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_noise(noise):
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a non-negative finite number, got {noise}")


def load_and_split(test_size=0.2, random_state=0):
    """Breast-cancer data (569 x 30, labels 0/1), stratified split, standardised.

    The StandardScaler is fitted on the training rows only and then applied to
    both splits, so no statistic of the test set leaks into training.
    Returns (X_train, X_test, y_train, y_test).
    """
    X, y = sklearn.datasets.load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float64), y.astype(np.int64),
        test_size=test_size, random_state=random_state, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def load_heart(path):
    """A heart-disease table of your own, as the lectures used -> X (n, d) float64, y (n,) int64.

    Two layouts are read: the UCI ``heart.dat`` of the classifier article (numbers separated
    by spaces, no header, the label 1 = absent or 2 = present in the last column) and a CSV
    with a header and the label in a column ``target`` (the video course's heart-attack
    table). Labels 1/2 become 0/1; ValueError names any other problem.
    """
    import pandas as pd          # only this reader needs it
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file {path}: put your copy of the table there")
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path)
        if "target" not in table.columns:
            raise ValueError(f"{path} has no column named 'target' (its columns: "
                             f"{', '.join(map(str, table.columns[:20]))})")
        features, labels = table.drop(columns="target"), table["target"]
    else:
        table = pd.read_csv(path, sep=r"\s+", header=None)
        if table.shape[1] < 2:
            raise ValueError(f"{path} has {table.shape[1]} column: expected the features and "
                             "the label, separated by spaces")
        features, labels = table.iloc[:, :-1], table.iloc[:, -1]
    try:
        X = features.to_numpy(dtype=np.float64)
    except ValueError:
        raise ValueError(f"{path} holds text where numbers were expected") from None
    found = set(np.unique(labels).tolist())
    if found <= {0, 1}:
        y = labels.to_numpy().astype(np.int64)
    elif found <= {1, 2}:
        y = labels.to_numpy().astype(np.int64) - 1
    else:
        raise ValueError(f"{path}'s labels are {sorted(found)[:10]}: expected 0/1 or 1/2")
    return X, y


def load_digits_split(test_size=0.2, random_state=0):
    """8x8 digit images (1797 x 64, labels 0-9) with pixels scaled to [0, 1], stratified split.

    Returns (X_train, X_test, y_train, y_test).
    """
    X, y = sklearn.datasets.load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float64) / 16.0, y.astype(np.int64),
                            test_size=test_size, random_state=random_state, stratify=y)


def make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class -> X (n_per_class * n_classes, 2), y (same,) int.

    Arm k sweeps the radius from 0 to 1 while its angle runs over
    [4k, 4(k + 1)] radians, plus Gaussian noise of std ``noise`` on the angle.
    """
    _positive_int(n_per_class, "n_per_class")
    _positive_int(n_classes, "n_classes")
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n_per_class)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    for k in range(n_classes):
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), n_per_class) + noise * rng.standard_normal(n_per_class)
        rows = slice(k * n_per_class, (k + 1) * n_per_class)
        X[rows, 0] = radius * np.sin(angle)
        X[rows, 1] = radius * np.cos(angle)
    return X, y


def make_moons(n_samples=100, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's make_moons) -> X (n_samples, 2), y int."""
    _positive_int(n_samples, "n_samples")
    _check_noise(noise)
    X, y = sklearn.datasets.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X.astype(np.float64), y.astype(np.int64)


def make_toy():
    """The 4-example set of the scalar-autograd lecture -> xs (4, 3), ys (4,) with targets +-1."""
    xs = np.array([[2.0, 3.0, -1.0],
                   [3.0, -1.0, 0.5],
                   [0.5, 1.0, 1.0],
                   [1.0, 1.0, -1.0]])
    ys = np.array([1.0, -1.0, -1.0, 1.0])
    return xs, ys
