"""One SGD epoch of a 784-128-10 MLP on 60,000 synthetic float32 rows, batch 128.

Contenders (run interleaved, one epoch each per round, median over rounds):

- floor:   only the matrix products one training step needs (X W1, H W2,
           dW2 = H^T dZ, dH = dZ W2^T, dW1 = X^T dH), in numpy. Nothing can
           train the model with less BLAS work, so it is the yardstick.
- nnlib:   nnlib.layers (Linear-ReLU-Linear + SoftmaxCrossEntropy, SGD step).
- torch:   the same model in PyTorch on the CPU (skipped if not installed).
- sklearn: MLPClassifier(hidden_layer_sizes=(128,), solver="sgd").partial_fit
           over the same epoch (its own float32/float64 handling, L2 0).

Usage: python benchmarks/bench_mlp.py [--repeats 5] [--rows 60000]
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

from nnlib.layers import Linear, ReLU, Sequential, SoftmaxCrossEntropy

N_IN, N_HIDDEN, N_OUT, BATCH, LR = 784, 128, 10, 128, 0.01


def make_data(rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, N_IN), dtype=np.float32)
    y = rng.integers(0, N_OUT, rows)
    return X, y


def batches(rows):
    return [slice(start, min(start + BATCH, rows)) for start in range(0, rows, BATCH)]


def floor_epoch(X, y):
    rng = np.random.default_rng(1)
    W1 = rng.standard_normal((N_IN, N_HIDDEN), dtype=np.float32) * np.float32(0.05)
    W2 = rng.standard_normal((N_HIDDEN, N_OUT), dtype=np.float32) * np.float32(0.05)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)   # reused, as nnlib reuses its grad buffers
    for rows in batches(X.shape[0]):
        Xb = X[rows]
        H = Xb @ W1
        Z = H @ W2
        np.matmul(H.T, Z, out=dW2)
        dH = Z @ W2.T
        np.matmul(Xb.T, dH, out=dW1)
    return dW1, dW2


def nnlib_epoch(X, y, model=None):
    if model is None:
        model = Sequential(Linear(N_IN, N_HIDDEN, dtype=np.float32, seed=1), ReLU(),
                           Linear(N_HIDDEN, N_OUT, dtype=np.float32, seed=2))
    criterion = SoftmaxCrossEntropy()
    lr = np.float32(LR)
    for rows in batches(X.shape[0]):
        loss = criterion.forward(model.forward(X[rows]), y[rows])
        model.backward(criterion.backward())
        for param, grad in model.parameters():
            grad *= lr
            param -= grad
    return loss


def torch_runner():
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(N_HIDDEN, N_OUT))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch(X, y):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for rows in batches(X.shape[0]):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[rows]), yt[rows])
            loss.backward()
            opt.step()
        return loss.item()

    return epoch, f"torch {torch.__version__} ({torch.get_num_threads()} threads)"


def sklearn_runner():
    try:
        import sklearn
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None

    def epoch(X, y):
        clf = MLPClassifier(hidden_layer_sizes=(N_HIDDEN,), solver="sgd", batch_size=BATCH,
                            learning_rate_init=LR, momentum=0.0, alpha=0.0, shuffle=False,
                            random_state=0)
        clf.partial_fit(X, y, classes=np.arange(N_OUT))
        return clf.loss_

    return epoch, f"scikit-learn {sklearn.__version__} MLPClassifier.partial_fit"


def blas_description():
    """Which BLAS libraries are loaded (numpy's, scipy's, torch's), with the kernel each one runs."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed: BLAS unknown"]
    lines = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            owner = os.path.basename(os.path.dirname(info["filepath"]))   # e.g. numpy.libs
            lines.append(f"{owner}: {info.get('internal_api')} {info.get('version')}, "
                         f"kernel {info.get('architecture')}, {info.get('num_threads')} threads")
    return lines or ["no BLAS library found"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds (median is reported), >= 1")
    parser.add_argument("--rows", type=int, default=60_000, help="rows in the synthetic epoch")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rows < BATCH:
        parser.error(f"need --repeats >= 1 and --rows >= {BATCH}")

    X, y = make_data(args.rows)
    runners = {"floor (matmuls only)": floor_epoch, "nnlib.layers": nnlib_epoch}
    notes = {}
    for name, factory in (("torch", torch_runner), ("sklearn", sklearn_runner)):
        made = factory()
        if made is None:
            notes[name] = "not installed"
        else:
            runners[name], notes[name] = made

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}")
    for line in blas_description():
        print(f"BLAS {line}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    for name, note in notes.items():
        print(f"{name}: {note}")
    print(f"one epoch: {args.rows} rows x {N_IN} float32, {N_IN}-{N_HIDDEN}-{N_OUT}, batch {BATCH}; "
          f"median of {args.repeats} interleaved rounds (after one warm-up round)")

    for run in runners.values():  # warm-up: BLAS threads, torch kernels, page faults
        run(X[:BATCH * 8], y[:BATCH * 8])
    times = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run(X, y)
            times[name].append(time.perf_counter() - start)

    floor = statistics.median(times["floor (matmuls only)"])
    print(f"\n{'contender':<24}{'median s':>10}{'min s':>10}{'x floor':>10}")
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"{name:<24}{median:>10.3f}{min(ts):>10.3f}{median / floor:>10.2f}")
    for name, note in notes.items():
        if note == "not installed":
            print(f"{name:<24}{'not installed':>30}")
    return times


if __name__ == "__main__":
    sys.exit(main() and 0)
