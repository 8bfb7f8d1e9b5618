"""Tests for nnlib.plotting, headless (Agg): the returned Axes hold the expected artists."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from nnlib.autograd import Value  # noqa: E402
from nnlib.plotting import (  # noqa: E402
    plot_network,
    draw_graph,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_loss,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_loss_draws_one_line_per_history():
    ax = plot_loss([3.0, 2.0, 1.5, 1.2])
    assert len(ax.get_lines()) == 1 and ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3.0, 2.0, 1.5, 1.2])
    fig, own_ax = plt.subplots()
    ax = plot_loss([3.0, 2.0], [3.5, 2.5], ax=own_ax, title="curves", logy=True)
    assert ax is own_ax
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"
    assert ax.get_title() == "curves"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]


def test_plot_decision_boundary_draws_contours_and_points():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(int)
    seen = []

    def predict(points):
        seen.append(points.shape)
        return (points[:, 0] > 0).astype(int)

    ax = plot_decision_boundary(predict, X, y, resolution=50)
    assert seen == [(2500, 2)]
    kinds = {type(c).__name__ for c in ax.collections}
    assert "QuadContourSet" in kinds or "ContourSet" in kinds
    assert "PathCollection" in kinds          # the scatter of the data
    scatter = next(c for c in ax.collections if type(c).__name__ == "PathCollection")
    assert scatter.get_offsets().shape == (40, 2)
    with pytest.raises(ValueError, match="one label per point"):
        plot_decision_boundary(lambda p: np.zeros(3), X, y, resolution=10)
    with pytest.raises(ValueError, match=r"\(40, 3\)"):
        plot_decision_boundary(predict, np.zeros((40, 3)), y)


def test_draw_graph_draws_one_box_per_node_with_data_and_grad():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * a            # a is used twice: one box, two outgoing arrows
    L.label = "L"
    L.backward()
    ax = draw_graph(L)
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 6
    labels = [t for t in ax.texts if type(t).__name__ == "Text"]
    texts = [t.get_text() for t in labels]
    assert len(texts) == 6
    assert any(t.startswith("L [*]") and "data 8" in t and "grad 1" in t for t in texts)
    assert any(t.startswith("a") and "grad -2" in t for t in texts)   # dL/da = b*a + d = -6 + 4
    arrows = [t for t in ax.texts if type(t).__name__ == "Annotation"]
    assert len(arrows) == 6                    # one per (child, parent) edge
    x_of = {t.get_text().split()[0]: t.get_position()[0] for t in labels}
    assert x_of["a"] < x_of["e"] < x_of["d"] < x_of["L"]   # inputs left, root right


def test_draw_graph_arrows_always_point_right_when_nodes_are_reused():
    x = Value(0.5, label="x")
    y = x * 2
    z = y + x
    w = z * y + x
    root = (w * z).tanh() + x
    shallow_and_deep = x.exp().exp().exp() + x.tanh()   # x feeds a deep and a shallow branch
    for graph, n_edges in ((root, 13), (shallow_and_deep, 6)):
        plt.close("all")
        ax = draw_graph(graph)
        arrows = [t for t in ax.texts if type(t).__name__ == "Annotation"]
        assert len(arrows) == n_edges        # one per (child, parent) edge
        for arrow in arrows:               # from the child's right edge to the parent's left edge
            (x_child, _), (x_parent, _) = arrow.xyann, arrow.xy
            assert x_child < x_parent


def test_draw_graph_of_a_single_value():
    ax = draw_graph(Value(1.5))
    assert len([p for p in ax.patches if isinstance(p, FancyBboxPatch)]) == 1
    assert "data 1.5" in ax.texts[0].get_text()


def test_plot_confusion_matrix_counts_each_pair():
    ax = plot_confusion_matrix([0, 0, 1, 1, 1, 2], np.array([[0], [1], [1], [1], [0], [2]]))
    np.testing.assert_array_equal(ax.confusion_counts, [[1, 1, 0], [1, 2, 0], [0, 0, 1]])
    assert sorted(t.get_text() for t in ax.texts) == sorted("110120001")
    ax = plot_confusion_matrix([1, 1], [1, 1], class_names=["benign", "malignant"])
    np.testing.assert_array_equal(ax.confusion_counts, [[0, 0], [0, 2]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["benign", "malignant"]


def test_plot_confusion_matrix_names_bad_input():
    with pytest.raises(ValueError, match="y_true has 2 labels and y_pred 3"):
        plot_confusion_matrix([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="non-negative integers"):
        plot_confusion_matrix([0, 1], [0.4, 1])
    with pytest.raises(ValueError, match="1 class names for 2 classes"):
        plot_confusion_matrix([0, 1], [0, 1], class_names=["a"])


def test_plot_network_draws_every_unit_of_small_layers_and_dots_for_large_ones():
    ax = plot_network([30, 8, 1])
    circles = [p for p in ax.patches if isinstance(p, plt.Circle)]
    assert len(circles) == 8 + 8 + 1                 # 30 inputs: 8 circles and a gap
    texts = [t.get_text() for t in ax.texts]
    assert "⋮" in texts
    assert "W1 (30, 8)\nb1 (8,)" in texts and "W2 (8, 1)\nb2 (1,)" in texts
    assert "8 units\nReLU" in texts and "1 unit\nsigmoid" in texts
    assert len(ax.lines) == 8 * 8 + 8 * 1            # every drawn pair of units, connected


def test_plot_network_names_bad_input():
    with pytest.raises(ValueError, match="at least two positive widths"):
        plot_network([4])
    with pytest.raises(ValueError, match="activations names 1 layers; layer_sizes"):
        plot_network([4, 3, 1], activations=["tanh"])
