"""Tests for nnlib.vectors (chapter 1)."""
import numpy as np
import pytest

from nnlib.vectors import cosine_similarity, dense, dot, dot_loop, most_similar, neuron


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("d", [1, 5, 40])
def test_dot_and_dot_loop_match_numpy(seed, d):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(d), rng.standard_normal(d)
    assert dot(x, w) == pytest.approx(np.dot(x, w), rel=1e-12)
    assert dot_loop(x, w) == pytest.approx(np.dot(x, w), rel=1e-12)
    assert isinstance(dot(x, w), float) and isinstance(dot_loop(list(x), list(w)), float)


def test_dot_of_lecture_example():
    # the video course: an input scored by two weight vectors, w1 -> 3, w2 -> 1.8
    x = [1.0, 2.0, 0.5]
    assert dot(x, [1.0, 1.0, 0.0]) == pytest.approx(3.0)
    assert dot_loop(x, [0.6, 0.6, 0.0]) == pytest.approx(1.8)


def test_dot_loop_length_mismatch():
    with pytest.raises(ValueError, match="length 3.*length 2"):
        dot_loop([1, 2, 3], [1, 2])


def test_dot_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        dot(np.ones(3), np.ones(2))


def test_dot_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        dot([1.0, np.nan], [1.0, 2.0])


def test_cosine_similarity_range_and_extremes():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, w = rng.standard_normal(7), rng.standard_normal(7)
        c = cosine_similarity(x, w)
        assert -1.0 <= c <= 1.0
        assert c == pytest.approx(np.dot(x, w) / np.linalg.norm(x) / np.linalg.norm(w))
    x = rng.standard_normal(7)
    assert cosine_similarity(x, 3 * x) == pytest.approx(1.0)
    assert cosine_similarity(x, -0.1 * x) == pytest.approx(-1.0)
    assert cosine_similarity([1, 0], [0, 2]) == pytest.approx(0.0)


def test_cosine_similarity_zero_vector():
    with pytest.raises(ValueError, match="zero vector"):
        cosine_similarity([0, 0], [1, 2])


def test_most_similar_picks_largest_dot():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(4)
    candidates = rng.standard_normal((6, 4))
    assert most_similar(x, candidates) == int(np.argmax(candidates @ x))
    candidates[2] = 10 * x
    assert most_similar(x, candidates) == 2


def test_most_similar_errors():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        most_similar(np.ones(4), np.ones((2, 3)))
    with pytest.raises(ValueError, match="at least one"):
        most_similar(np.ones(3), np.ones((0, 3)))


def test_neuron_is_weighted_sum_plus_bias():
    assert neuron([1.0, 2.0], [3.0, -1.0], 0.5) == pytest.approx(1.5)


@pytest.mark.parametrize("n, d, h", [(1, 1, 1), (5, 3, 4), (7, 13, 8)])
def test_dense_matches_matmul(n, d, h):
    rng = np.random.default_rng(n + d + h)
    X, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h)
    out = dense(X, W, b)
    assert out.shape == (n, h)
    np.testing.assert_allclose(out, X @ W + b, rtol=1e-12)


def test_dense_shape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(4, 2\)"):
        dense(np.ones((5, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(3,\)"):
        dense(np.ones((5, 3)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="2-D"):
        dense(np.ones(3), np.ones((3, 2)), np.ones(2))
