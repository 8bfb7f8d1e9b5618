"""Scalar autograd: nnlib.autograd.Value against the micrograd package (PyPI 0.1.0).

One training step of MLP(2, [16, 16, 1]) on 100 moons points: forward over all
points, the mean hinge loss, zero_grad, backward, and an SGD update. The step
code is the same for both engines (same API); only the classes differ. The
garbage collector stays ON, as in a notebook. Steps run interleaved, one per
engine per round; the median over rounds is reported.

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

    times = {name: [] for name in engines}
    for name, model in engines.items():    # warm-up
        training_step(model, X, y)
    for _ in range(args.repeats):
        for name, model in engines.items():
            start = time.perf_counter()
            training_step(model, X, y)
            times[name].append(time.perf_counter() - start)

    print(f"\n{'engine':<18}{'median s':>10}{'min s':>10}{'speed-up':>10}")
    base = statistics.median(times["micrograd"]) if "micrograd" in times else None
    for name, ts in times.items():
        median = statistics.median(ts)
        speedup = f"{base / median:.2f}x" if base else "n/a"
        print(f"{name:<18}{median:>10.3f}{min(ts):>10.3f}{speedup:>10}")
    if base is None:
        print(f"{'micrograd':<18}{'not installed':>30}")
    return times


if __name__ == "__main__":
    sys.exit(main() and 0)
