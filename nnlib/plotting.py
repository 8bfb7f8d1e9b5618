"""Figures of the course: loss curves, 2-D decision boundaries, confusion matrices and autograd
expression graphs.

matplotlib only (no graphviz), so everything also renders headless with the
Agg backend. Every function draws into ``ax`` (a new figure when None) and
returns the Axes.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from nnlib._validate import as_float_array


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_loss(train_losses, test_losses=None, ax=None, title="Loss", logy=False, xlabel="step"):
    """One line per loss history (1-D sequences of floats); a log y-axis with ``logy``."""
    train = as_float_array(train_losses, "train_losses", ndim=1)
    ax = _axes(ax, (6, 4))
    ax.plot(np.arange(train.size), train, label="train")
    if test_losses is not None:
        test = as_float_array(test_losses, "test_losses", ndim=1)
        ax.plot(np.arange(test.size), test, label="test")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_decision_boundary(predict_fn, X, y, ax=None, resolution=200, margin=0.5):
    """Filled contours of ``predict_fn`` over the plane around X (n, 2), with the points coloured by y.

    ``predict_fn`` maps an (m, 2) array of points to m class labels.
    """
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y).ravel()
    if X.shape[1] != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"X has shape {X.shape} and y has shape {np.shape(y)}; need X (n, 2) and y (n,)")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    xs = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    ys = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    gx, gy = np.meshgrid(xs, ys)
    labels = np.asarray(predict_fn(np.column_stack([gx.ravel(), gy.ravel()])))
    if labels.size != gx.size:
        raise ValueError(f"predict_fn returned shape {labels.shape} for {gx.size} points; "
                         f"it must return one label per point")
    classes = np.union1d(np.unique(labels), np.unique(y)).astype(np.float64)
    levels = np.concatenate([classes - 0.5, [classes[-1] + 0.5]])
    ax = _axes(ax, (5, 5))
    ax.contourf(gx, gy, labels.reshape(gx.shape).astype(np.float64), levels=levels,
                cmap="Spectral", alpha=0.35, vmin=levels[0], vmax=levels[-1])
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", vmin=levels[0], vmax=levels[-1],
               s=18, edgecolors="k", linewidths=0.4)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    return ax


def plot_confusion_matrix(y_true, y_pred, class_names=None, ax=None, title="Confusion matrix"):
    """Counts of (true class, predicted class) pairs as a grid, one row per true class.

    y_true and y_pred hold integer class labels 0..k-1 with shape (n,) or (n, 1);
    ``class_names`` (k strings) label the axes. Returns the Axes; the counts, a
    (k, k) int array, are in ``ax.confusion_counts``.
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true has {y_true.size} labels and y_pred {y_pred.size}; "
                         "need the same, non-zero number")
    if not all(np.array_equal(v, np.round(v)) and v.min() >= 0 for v in (y_true, y_pred)):
        raise ValueError("labels must be non-negative integers (class numbers 0, 1, ...)")
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    k = int(max(y_true.max(), y_pred.max())) + 1
    if class_names is not None:
        if len(class_names) < k:
            raise ValueError(f"{len(class_names)} class names for {k} classes")
        k = len(class_names)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    names = list(class_names) if class_names is not None else [str(c) for c in range(k)]
    ax = _axes(ax, (1.2 + 0.6 * k, 1.0 + 0.6 * k))
    ax.imshow(counts, cmap="Blues")
    for (row, col), count in np.ndenumerate(counts):
        ax.text(col, row, str(count), ha="center", va="center",
                color="white" if count > counts.max() / 2 else "black")
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names, rotation=90, va="center")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    ax.confusion_counts = counts
    return ax


_BOX_W, _BOX_H, _COL_GAP, _ROW_GAP = 2.6, 1.1, 1.4, 0.5


def _columns_from_root(root):
    """{node: longest path length to root}, so every child sits left of all its parents."""
    order = root.topological_order()          # children before parents
    column = {root: 0}
    for node in reversed(order):              # parents before children
        for child in node._prev:
            column[child] = max(column.get(child, 0), column[node] + 1)
    return order, column


def draw_graph(root, ax=None):
    """Draw the expression graph of the Value ``root``, one box per node, inputs on the left.

    A box shows the node's label (if any) and op, its data and its grad; arrows
    run from each child to the node computed from it.
    """
    order, column = _columns_from_root(root)
    depth = max(column.values())
    rows = {}
    position = {}
    for node in order:
        col = column[node]
        row = rows.get(col, 0)
        rows[col] = row + 1
        position[node] = [(depth - col) * (_BOX_W + _COL_GAP), -row * (_BOX_H + _ROW_GAP)]
    for node, (x, y) in position.items():     # centre each column vertically
        position[node][1] = y + (rows[column[node]] - 1) * (_BOX_H + _ROW_GAP) / 2

    tallest = max(rows.values())
    ax = _axes(ax, (max(4.0, 2.2 * (depth + 1)), max(2.0, 1.0 * tallest)))
    for node, (x, y) in position.items():
        title = " ".join(part for part in (node.label, node._op and f"[{node._op}]") if part)
        ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                    boxstyle="round,pad=0.05", facecolor="#e8f0fe",
                                    edgecolor="#3b5b92"))
        ax.text(x, y, f"{title or 'value'}\ndata {node.data:.4g}\ngrad {node.grad:.4g}",
                ha="center", va="center", fontsize=7, family="monospace")
        for child in node._prev:
            cx, cy = position[child]
            skips = column[child] - column[node] > 1       # would run through the boxes between
            ax.annotate("", xy=(x - _BOX_W / 2, y), xytext=(cx + _BOX_W / 2, cy),
                        arrowprops=dict(arrowstyle="->", color="#555555", lw=0.8,
                                        connectionstyle=f"arc3,rad={-0.35 if skips else 0.0}"))
    half_h = (tallest - 1) * (_BOX_H + _ROW_GAP) / 2 + _BOX_H
    ax.set_xlim(-_BOX_W, depth * (_BOX_W + _COL_GAP) + _BOX_W)
    ax.set_ylim(-half_h, half_h)
    ax.set_axis_off()
    return ax


_LAYER_GAP = 3.2     # between two layers of plot_network, in units of one circle's spacing


def _shown_units(width, most):
    """Which units of a layer of ``width`` are drawn: all, or the first and last few with a
    gap (None) between them when there are more than ``most``."""
    if width <= most:
        return list(range(width))
    head = (most - 1) // 2
    return list(range(head)) + [None] + list(range(width - (most - 1 - head), width))


def plot_network(layer_sizes, activations=None, ax=None, most=9):
    """Draw a fully connected network of widths ``layer_sizes`` [d_0, ..., d_L]: one circle per
    unit (at most ``most`` per layer, the rest shown as dots), every connection between two
    consecutive layers, each layer's width and activation below it and each weight matrix's
    shape between the layers. ``activations`` names the L layers' activations (default: ReLU
    on the hidden layers, sigmoid on the output)."""
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"layer_sizes must list at least two positive widths, got {layer_sizes!r}")
    names = list(activations) if activations is not None else \
        ["ReLU"] * (len(sizes) - 2) + ["sigmoid"]
    if len(names) != len(sizes) - 1:
        raise ValueError(f"activations names {len(names)} layers; layer_sizes {sizes} has "
                         f"{len(sizes) - 1}")
    ax = _axes(ax, (1.7 * len(sizes) + 1, 3.6))
    columns = [_shown_units(width, most) for width in sizes]
    tallest = max(len(units) for units in columns)
    places = []
    for x, units in enumerate(columns):
        top = (len(units) - 1) / 2
        places.append([(x * _LAYER_GAP, top - row) for row in range(len(units))])
    for x in range(len(sizes) - 1):                # connections first, under the circles
        for (x0, y0), u in zip(places[x], columns[x]):
            for (x1, y1), v in zip(places[x + 1], columns[x + 1]):
                if u is not None and v is not None:
                    ax.plot([x0, x1], [y0, y1], color="#9aa7bd", lw=0.5, zorder=1)
        ax.text(_LAYER_GAP * (x + 0.5), tallest / 2 + 0.1, f"W{x + 1} ({sizes[x]}, {sizes[x + 1]})\n"
                f"b{x + 1} ({sizes[x + 1]},)", ha="center", va="bottom", fontsize=8)
    for x, (units, spots) in enumerate(zip(columns, places)):
        for u, (cx, cy) in zip(units, spots):
            if u is None:
                ax.text(cx, cy, "⋮", ha="center", va="center", fontsize=14)
            else:
                ax.add_patch(plt.Circle((cx, cy), 0.28, facecolor="#e8f0fe" if x else "#fdf1dc",
                                        edgecolor="#3b5b92", zorder=2))
        what = "input" if x == 0 else names[x - 1]
        ax.text(_LAYER_GAP * x, -tallest / 2 - 0.2, f"{sizes[x]} unit{'s' if sizes[x] > 1 else ''}\n{what}", ha="center",
                va="top", fontsize=8)
    ax.set_xlim(-0.9, _LAYER_GAP * (len(sizes) - 1) + 0.9)
    ax.set_ylim(-tallest / 2 - 1.4, tallest / 2 + 1.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax
