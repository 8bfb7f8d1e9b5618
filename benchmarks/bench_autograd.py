"""Scalar autograd: nnlib.autograd.Value against the micrograd package (PyPI 0.1.0).

One training step of MLP(2, [16, 16, 1]) on 100 moons points: forward over all
points, the mean hinge loss, zero_grad, backward, and an SGD update. The step
code is the same for both engines (same API); only the classes differ. The
garbage collector stays ON, as in a notebook. Steps run interleaved, one per
engine per round, each from a clean heap; the median over rounds is reported,
and so is the time gc.collect() then needs for the cyclic garbage a step left.

Usage: python benchmarks/bench_autograd.py [--repeats 7]
"""
import argparse
import gc
import platform
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import make_moons

import nnlib.autograd


def training_step(model, X, y, lr=0.05):
    """Forward all rows, hinge loss, backward, SGD; returns (loss, number of graph nodes)."""
    scores = [model(row) for row in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    loss = sum(losses) * (1.0 / len(losses))
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data


def count_nodes(root):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node._prev)
    return len(seen)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds (median is reported), >= 1")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    X, labels = make_moons(n_samples=100, noise=0.1, random_state=0)
    X = X.tolist()
    y = (2 * labels - 1).tolist()         # targets -1 / +1 for the hinge loss

    engines = {"nnlib.autograd": nnlib.autograd.MLP(2, [16, 16, 1], seed=0)}
    try:
        import random
        from importlib.metadata import version

        from micrograd.nn import MLP as MicrogradMLP
        random.seed(0)
        engines["micrograd"] = MicrogradMLP(2, [16, 16, 1])
        micrograd_note = f"micrograd {version('micrograd')}"
    except ImportError:
        micrograd_note = "micrograd: not installed"

    nodes = count_nodes(sum((engines["nnlib.autograd"](row) for row in X), 0.0))
    print(f"python {platform.python_version()}, numpy {np.__version__}, gc enabled: {gc.isenabled()}")
    print(f"{micrograd_note}; MLP(2, [16, 16, 1]) on {len(X)} moons points, "
          f"{nodes} graph nodes (nnlib) in the forward pass")
    print(f"one step = forward + hinge loss + backward + SGD; median of {args.repeats} interleaved rounds")

    # Each timed step starts from a clean heap (an untimed gc.collect() first), so no engine
    # pays for collecting the other's garbage. The step itself runs with the collector on.
    # Right after it, gc.collect() is timed separately: the cost of the reference cycles
    # the step left behind (micrograd's closures make one per node; nnlib makes none).
    times = {name: [] for name in engines}
    cleanup = {name: [] for name in engines}
    garbage = {name: [] for name in engines}
    for name, model in engines.items():    # warm-up
        training_step(model, X, y)
    for _ in range(args.repeats):
        for name, model in engines.items():
            gc.collect()
            start = time.perf_counter()
            training_step(model, X, y)
            middle = time.perf_counter()
            garbage[name].append(gc.collect())
            times[name].append(middle - start)
            cleanup[name].append(time.perf_counter() - middle)

    print(f"\n{'engine':<16}{'step s':>9}{'min s':>9}{'cleanup s':>11}{'cycle garbage':>15}"
          f"{'speed-up':>10}{'incl. cleanup':>15}")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    total = {name: statistics.median([a + b for a, b in zip(times[name], cleanup[name])]) for name in engines}
    has_micrograd = "micrograd" in engines
    for name in engines:
        speedup = f"{med['micrograd'] / med[name]:.2f}x" if has_micrograd else "n/a"
        speedup_total = f"{total['micrograd'] / total[name]:.2f}x" if has_micrograd else "n/a"
        print(f"{name:<16}{med[name]:>9.3f}{min(times[name]):>9.3f}"
              f"{statistics.median(cleanup[name]):>11.3f}{int(statistics.median(garbage[name])):>15}"
              f"{speedup:>10}{speedup_total:>15}")
    if not has_micrograd:
        print(f"{'micrograd':<16}{'not installed':>30}")
    return times


if __name__ == "__main__":
    sys.exit(main() and 0)
