"""Tests for nnlib.grading.datasets: the load_and_split check (04_forward).

Every "student" function here is written the way notebook code would be: plain
functions defined in this module, never nnlib's own.
"""
import re

import numpy as np
import pandas as pd
import pytest
from gradingtools import HIDDEN, failure, passes
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from nnlib.grading import datasets as checks

# ---------------------------------------------------------------- correct variants

def split_stratified(test_size=0.2, random_state=0):
    data = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=test_size, random_state=random_state,
        stratify=data.target)
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


def split_plain_numpy_scaling(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=random_state)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std, y_train.astype(float), y_test


def split_pandas(test_size=0.2, random_state=0):
    frame = load_breast_cancer(as_frame=True).frame
    features = frame.drop(columns="target")
    X_train, X_test, y_train, y_test = train_test_split(
        features, frame["target"], test_size=test_size, random_state=random_state)
    scaler = StandardScaler().fit(X_train)
    return [scaler.transform(X_train), scaler.transform(X_test), y_train, y_test]


@HIDDEN
@pytest.mark.parametrize("fn", [split_stratified, split_plain_numpy_scaling, split_pandas])
def test_load_and_split_accepts_correct_variants(fn, hidden, capsys):
    passes(checks.check_load_and_split, fn, hidden, capsys, "load_and_split")


# ---------------------------------------------------------------- realistic mistakes

def split_xy_order(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return X_train, y_train, X_test, y_test


def split_unscaled(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)


def split_scaled_before_splitting(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)


def split_test_scaled_on_its_own(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=random_state)
    return (StandardScaler().fit_transform(X_train), StandardScaler().fit_transform(X_test),
            y_train, y_test)


def split_test_not_scaled(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=random_state)
    return StandardScaler().fit_transform(X_train), X_test, y_train, y_test


def split_fixed_test_size(test_size=0.2, random_state=0):
    return split_stratified(0.2, random_state)


def split_fixed_random_state(test_size=0.2, random_state=0):
    return split_stratified(test_size, 42)


def split_unseeded(test_size=0.2, random_state=0):
    return split_stratified(test_size, None)


def split_column_labels(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return X_train, X_test, y_train.reshape(-1, 1), y_test.reshape(-1, 1)


def split_flipped_labels(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return X_train, X_test, 1 - y_train, 1 - y_test


def split_scaled_labels(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y.astype(float),
                                                        test_size=test_size,
                                                        random_state=random_state)
    scale_x = StandardScaler().fit(X_train)
    scale_y = StandardScaler().fit(y_train.reshape(-1, 1))
    return (scale_x.transform(X_train), scale_x.transform(X_test),
            scale_y.transform(y_train.reshape(-1, 1)).ravel(),
            scale_y.transform(y_test.reshape(-1, 1)).ravel())


def split_float32(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return X_train.astype(np.float32), X_test.astype(np.float32), y_train, y_test


def split_own_shuffle(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(random_state).permutation(len(X))
    n_test = int(np.ceil(test_size * len(X)))
    test, train = order[:n_test], order[n_test:]
    scaler = StandardScaler().fit(X[train])
    return scaler.transform(X[train]), scaler.transform(X[test]), y[train], y[test]


def split_not_shuffled(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        shuffle=False)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def split_sample_std(test_size=0.2, random_state=0):
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=test_size, random_state=random_state)
    features = [c for c in frame.columns if c != "target"]
    mean, std = train[features].mean(), train[features].std()
    return (((train[features] - mean) / std).to_numpy(), ((test[features] - mean) / std).to_numpy(),
            train["target"].to_numpy(), test["target"].to_numpy())


def split_min_max(test_size=0.2, random_state=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                        random_state=random_state)
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def split_labels_shuffled_apart(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return X_train, X_test, np.random.default_rng(1).permutation(y_train), y_test


def split_returns_pair(test_size=0.2, random_state=0):
    X_train, X_test, y_train, y_test = split_stratified(test_size, random_state)
    return (X_train, y_train), (X_test, y_test)


@HIDDEN
@pytest.mark.parametrize("fn, match", [
    (split_xy_order, r"^load_and_split\(\) returns the arrays in the order X_train, y_train, "
                     r"X_test, y_test .*return X_train, X_test, y_train, y_test"),
    (split_unscaled, r"\[0\] \(X_train\) is wrong .*X_train is not standardised"),
    (split_scaled_before_splitting, r"\(X_train\) is wrong .*fitted on all rows before "
                                    r"splitting"),
    (split_test_scaled_on_its_own, r"\[1\] \(X_test\) is wrong .*fitted again on the test set"),
    (split_test_not_scaled, r"\(X_test\) is wrong .*X_test is not standardised"),
    (split_fixed_test_size, r"^load_and_split\(test_size=0\.3, random_state=7\)\[0\] \(X_train\)"
                            r" has shape \(455, 30\), expected \(398, 30\)\. Likely bug: "
                            r"test_size is ignored"),
    (split_fixed_random_state, r"^load_and_split\(\) \(no arguments\) splits with "
                               r"random_state=42; the default must be random_state=0, and the "
                               r"random_state argument must reach train_test_split\.$"),
    (split_unseeded, r"^load_and_split\(\) gives a different split each time"),
    (split_column_labels, r"\[2\] \(y_train\) has shape \(455, 1\), expected \(455,\)\. The "
                          r"labels should be a 1-D array"),
    (split_flipped_labels, r"\(y_train\) is wrong .*labels are flipped"),
    (split_scaled_labels, r"\(y_train\) is wrong .*labels are standardised"),
    (split_float32, r"\[0\] \(X_train\) has dtype float32; keep the features as float64"),
    (split_own_shuffle, r"does not hold the rows that train_test_split\(X, y, test_size=0\.2, "
                        r"random_state=0\) puts in the training set"),
    (split_not_shuffled, r"first 455 rows .*not shuffled"),
    (split_sample_std, r"sample standard deviation \(ddof=1"),
    (split_min_max, r"min-max"),
    (split_labels_shuffled_apart, r"\(y_train\): \d+ of 455 labels do not belong .*same "
                                  r"train_test_split call"),
    (split_returns_pair, r"^load_and_split\(\) returned a tuple of 2; it should return 4 "
                         r"values: return X_train, X_test, y_train, y_test\.$"),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_load_and_split_diagnoses_mistakes(fn, match, hidden):
    failure(checks.check_load_and_split, fn, hidden, match)


def test_load_and_split_reports_wrong_defaults():
    def load_and_split(test_size=0.25, random_state=0):
        return split_stratified(test_size, random_state)
    failure(checks.check_load_and_split, load_and_split, False,
            r"^load_and_split\(\)\[0\] \(X_train\) has shape \(426, 30\), expected \(455, 30\)\. "
            r"With no arguments the split must use the defaults")

    def load_and_split(test_size=0.2, random_state=42):
        return split_stratified(test_size, random_state)
    failure(checks.check_load_and_split, load_and_split, False,
            r"^load_and_split\(\) \(no arguments\) splits with random_state=42; the default "
            r"must be random_state=0")

    def load_and_split(test_size=0.2, random_state=0):
        return split_stratified(test_size, 0)
    failure(checks.check_load_and_split, load_and_split, False,
            r"^load_and_split\(test_size=0\.3, random_state=7\)\[0\] \(X_train\) holds the rows "
            r"of the split with random_state=0\. Likely bug: random_state is ignored")


def test_load_and_split_message_shows_no_expected_entries():
    message = failure(checks.check_load_and_split, split_scaled_before_splitting, False,
                      "fitted on all rows")
    X_train = split_stratified()[0]
    shown = [float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", message)]
    assert not any(np.isclose(v, X_train, rtol=1e-5).any() for v in shown if abs(v) > 0.01)


def test_load_and_split_accepts_pandas_objects_throughout(capsys):
    def load_and_split(test_size=0.2, random_state=0):
        frame = load_breast_cancer(as_frame=True).frame
        X, y = frame.drop(columns="target"), frame["target"]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y)
        mean, std = X_train.mean(), X_train.std(ddof=0)
        return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test
    passes(checks.check_load_and_split, load_and_split, True, capsys, "load_and_split")
    assert isinstance(load_and_split()[0], pd.DataFrame)
