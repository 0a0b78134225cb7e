"""``dlcourse bench``: the reference solutions against the same work in PyTorch (CPU), in one run.

Each benchmark builds a NumPy callable from the reference modules and, where torch is installed, a PyTorch
callable doing the same work on the same float32 data. Both are timed as the median of several runs after a
warm-up (the machine is noisy), and the ratio NumPy / PyTorch is printed next to the target from the course
plan. Beside it, how close each kernel comes to the hardware: the machine's peak is measured first (a large
float32 matrix product in NumPy, all threads), and every row gives its achieved GFLOP/s (the multiply-adds
of its matrix products and convolutions, counted from the shapes: 2 per multiply-add, a backward pass twice
the forward's) and the fraction of that peak. ``--json FILE`` writes the same table. Benchmarks time; they
never assert (tests do not time).

A busy machine makes the times meaningless, and PyTorch's far more than NumPy's: its threads wait for each
other at every layer, so under load a 0.5 ms convolution can take 70 ms and the ratio looks like a win. Before
and after every row the benchmark counts the other tasks ready to run (Linux's ``/proc/loadavg``), and the
table warns when there were any.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class Benchmark:
    name: str
    target: float | None  # the largest acceptable NumPy / PyTorch ratio
    setup: Callable[[], tuple[Callable[[], object], Callable[[], object] | None]]
    flops: float | None = None  # floating-point operations of one timed call (None: not a compute kernel)


@dataclass
class Result:
    name: str
    numpy_seconds: float
    torch_seconds: float | None
    target: float | None
    flops: float | None = None
    peak_gflops: float | None = None
    competing: int | None = None  # other tasks ready to run around the timing (None: not known on this system)

    @property
    def ratio(self) -> float | None:
        return None if self.torch_seconds is None else self.numpy_seconds / self.torch_seconds

    def gflops(self, seconds: float | None) -> float | None:
        return None if self.flops is None or not seconds else self.flops / seconds / 1e9

    @property
    def fraction_of_peak(self) -> float | None:
        achieved = self.gflops(self.numpy_seconds)
        return None if achieved is None or not self.peak_gflops else achieved / self.peak_gflops

    def as_dict(self) -> dict:
        return {"name": self.name, "numpy_seconds": self.numpy_seconds, "torch_seconds": self.torch_seconds,
                "ratio": self.ratio, "target_ratio": self.target,
                "meets_target": None if self.ratio is None or self.target is None else self.ratio <= self.target,
                "flops": self.flops, "numpy_gflops": self.gflops(self.numpy_seconds),
                "torch_gflops": self.gflops(self.torch_seconds), "peak_gflops": self.peak_gflops,
                "numpy_fraction_of_peak": self.fraction_of_peak, "competing_tasks": self.competing}


LOADAVG = Path("/proc/loadavg")


def _own_running(tasks: Path) -> int:
    """This process's threads that are running or ready to (state R), the reader among them: PyTorch's idle
    OpenMP threads spin for a while after a call and must not count as another task."""
    running = 0
    for stat in tasks.glob("*/stat"):
        try:
            running += stat.read_text().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            pass  # a thread that ended between the listing and the read
    return max(running, 1)


def competing_tasks(loadavg: Path = LOADAVG, tasks: Path = Path("/proc/self/task"), readings: int = 5) -> int | None:
    """How many tasks of other processes are ready to run right now: the median of a few readings of the
    ``running/total`` field of ``/proc/loadavg``, less this process's running threads. None where there is no
    such file (not Linux)."""
    counts = []
    for _ in range(readings):
        try:
            running = int(loadavg.read_text().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return None
        counts.append(max(0, running - _own_running(tasks)))
        time.sleep(0.001)
    return int(statistics.median(counts))


def peak_gflops(n: int = 2048, runs: int = 5) -> float:
    """This machine's float32 matrix-product rate in NumPy (its BLAS, all threads): the best of ``runs``."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    A @ B  # warm-up: threads started, pages touched
    best = min(_timed(lambda: A @ B) for _ in range(runs))
    return 2 * n ** 3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def median_times(numpy_fn: Callable[[], object], torch_fn: Callable[[], object] | None, runs: int,
                 rounds: int = 5, warm_seconds: float = 0.05) -> tuple[float, float | None]:
    """Median seconds of ``numpy_fn`` and ``torch_fn`` (None: not timed), ``runs`` timed calls each.

    The calls are made in ``rounds`` alternating blocks, NumPy then PyTorch, so that both sides see the same
    spells of a noisy (shared, virtual) machine. Each block starts with untimed calls for ``warm_seconds`` (at
    least one): the CPU caches, the thread pools and the idle CPU's wake-up state settle first. Blocks
    alternate rather than single calls because, for a while after a PyTorch call, its idle OpenMP threads
    keep spinning on the CPUs and would slow the NumPy call after it.
    """
    fns = [fn for fn in (numpy_fn, torch_fn) if fn is not None]
    times: list[list[float]] = [[] for _ in fns]
    rounds = max(1, min(rounds, runs))
    for r in range(rounds):
        block = runs // rounds + (r < runs % rounds)
        for fn, samples in zip(fns, times):
            warm_until = time.perf_counter() + warm_seconds
            fn()
            while time.perf_counter() < warm_until:
                fn()
            for _ in range(block):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
    medians = [statistics.median(samples) for samples in times]
    return medians[0], (medians[1] if torch_fn is not None else None)


def _ref(name: str):
    from autograder.reference import reference

    return reference(name)


# ------------------------------------------------------------------ MLP training epoch

def _sgd_epochs(X, y, init: dict, forward, backward, make_net, batch_size: int, lr: float):
    """One epoch of plain SGD over ``(X, y)`` in shuffled mini-batches: in NumPy, from the parameters ``init``
    with the reference's ``forward(params, xb) -> (probs, cache)`` and ``backward(params, cache, yb)``; and, where
    torch is installed, on the same batches with the network ``make_net(torch)`` and cross-entropy."""
    order = np.random.default_rng(1).permutation(len(X))
    batches = [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]
    lr32 = np.float32(lr)

    def numpy_epoch():
        params = {k: v.copy() for k, v in init.items()}
        for xb, yb in batches:
            _, cache = forward(params, xb)
            grads = backward(params, cache, yb)
            for key in params:
                params[key] -= lr32 * grads[key]

    torch = torch_or_none()
    if torch is None:
        return numpy_epoch, None
    net = make_net(torch)
    tbatches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    def torch_epoch():
        for xb, yb in tbatches:
            opt.zero_grad(set_to_none=True)
            loss_fn(net(xb), yb).backward()
            opt.step()

    return numpy_epoch, torch_epoch


def _mlp_epoch(batch_size: int = 64, lr: float = 0.1):
    from dlcourse.mnist import load_mnist

    fwd, bwd = _ref("ch3_3_mlp_forward"), _ref("ch3_4_backprop")
    X, y = load_mnist("train", dtype=np.float32)
    sizes = [784, 128, 64, 10]
    init = {k: v.astype(np.float32) for k, v in fwd.init_mlp(sizes, np.random.default_rng(0)).items()}

    def make_net(torch):
        nn = torch.nn
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    return _sgd_epochs(X, y, init, lambda params, xb: fwd.forward_mlp(xb, params), bwd.backward_mlp, make_net,
                       batch_size, lr)


def _mlp_flops(n: int = 5000, sizes=(784, 128, 64, 10)) -> float:
    """Forward 2 flops per weight per image, backward twice that: 6 per weight per image."""
    return 6.0 * n * sum(a * b for a, b in zip(sizes, sizes[1:]))


# ------------------------------------------------------------------ the capstone CNN, one epoch

CNN_LAYERS = ((1, 8, 28), (8, 16, 14))  # (channels in, filters, side) of the two 3x3 convolutions, padding 1
CNN_DENSE = ((784, 128), (128, 10))  # (inputs, units) of the hidden and the output layer


def _cnn_flops(n: int = 5000) -> float:
    conv = sum(2.0 * c * f * 9 * side * side for c, f, side in CNN_LAYERS)
    return 3.0 * n * (conv + sum(2.0 * a * b for a, b in CNN_DENSE))


def _cnn_epoch(batch_size: int = 64, lr: float = 0.05):
    from dlcourse.mnist import load_mnist

    cap = _ref("ch4_6_capstone")
    X, y = load_mnist("train", dtype=np.float32)

    def make_net(torch):
        nn = torch.nn
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                             nn.Dropout(cap.P_DROP), nn.Linear(128, 10))

    masks = np.random.default_rng(2)  # training: dropout on, in both

    def forward(params, xb):
        return cap.capstone_forward(params, xb, masks)

    return _sgd_epochs(X.reshape(-1, 1, 28, 28), y, cap.init_capstone(np.random.default_rng(0)), forward,
                       cap.capstone_backward, make_net, batch_size, lr)


# ------------------------------------------------------------------ convolution and pooling

def _conv_flops(shape, filters) -> float:
    N, C, H, W = shape
    return 3.0 * 2 * N * filters * C * 9 * H * W

def _conv(shape, filters, seed=0):
    conv = _ref("ch4_2_convolution")
    rng = np.random.default_rng(seed)
    N, C, H, W = shape
    X = rng.standard_normal(shape, dtype=np.float32)
    K = rng.standard_normal((filters, C, 3, 3), dtype=np.float32) * np.float32(0.1)
    b = np.zeros(filters, dtype=np.float32)
    G = rng.standard_normal((N, filters, H, W), dtype=np.float32)

    def numpy_fn():
        _, cache = conv.conv2d(X, K, b, stride=1, padding=1)
        conv.conv2d_backward(G, cache)

    torch = torch_or_none()
    if torch is None:
        return numpy_fn, None
    tX, tK, tb, tG = (torch.from_numpy(a).requires_grad_(a is not G) for a in (X, K, b, G))

    def torch_fn():
        tX.grad = tK.grad = tb.grad = None
        torch.nn.functional.conv2d(tX, tK, tb, stride=1, padding=1).backward(tG)

    return numpy_fn, torch_fn


def _pool(shape=(64, 8, 28, 28), seed=0):
    pool = _ref("ch4_3_pooling")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape, dtype=np.float32)
    G = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype=np.float32)

    def numpy_fn():
        _, cache = pool.max_pool(X, 2, 2)
        pool.max_pool_backward(G, cache)

    torch = torch_or_none()
    if torch is None:
        return numpy_fn, None
    tX, tG = torch.from_numpy(X).requires_grad_(True), torch.from_numpy(G)

    def torch_fn():
        tX.grad = None
        torch.nn.functional.max_pool2d(tX, 2, 2).backward(tG)

    return numpy_fn, torch_fn


BENCHMARKS: list[Benchmark] = [
    Benchmark("mlp 784-128-64-10 epoch, 5k set, batch 64", 0.6, _mlp_epoch, _mlp_flops()),
    Benchmark("conv2d fwd+bwd x(64,1,28,28) 8x3x3 pad 1", 1.0, lambda: _conv((64, 1, 28, 28), 8),
              _conv_flops((64, 1, 28, 28), 8)),
    Benchmark("conv2d fwd+bwd x(64,8,14,14) 16x3x3 pad 1", 1.0, lambda: _conv((64, 8, 14, 14), 16),
              _conv_flops((64, 8, 14, 14), 16)),
    Benchmark("max_pool 2x2 fwd+bwd x(64,8,28,28)", 1.0, _pool),
    Benchmark("capstone CNN epoch, 5k set, batch 64", 1.2, _cnn_epoch, _cnn_flops()),
]


def run(names: list[str] | None = None, runs: int = 45) -> list[Result]:
    peak = peak_gflops(runs=min(5, runs))  # --runs 1 (a quick look) times the peak once too
    results = []
    for bench in BENCHMARKS:
        if names and not any(n in bench.name for n in names):
            continue
        numpy_fn, torch_fn = bench.setup()
        # A whole epoch takes a second or more: fewer runs give as steady a median.
        n = runs if bench.flops is None or bench.flops < 1e10 else max(1, runs // 9)
        before = competing_tasks()
        np_s, torch_s = median_times(numpy_fn, torch_fn, n)
        after = competing_tasks()
        competing = None if before is None or after is None else max(before, after)
        results.append(Result(bench.name, np_s, torch_s, bench.target, bench.flops, peak, competing))
    return results


def table(results: list[Result]) -> str:
    torch = torch_or_none()
    lines = [f"{'benchmark':<46}{'numpy ms':>10}{'torch ms':>10}{'ratio':>7}{'target':>7}  ok"
             f"{'GFLOP/s':>9}{'of peak':>8}", "-" * 101]
    for r in results:
        t = f"{r.torch_seconds * 1e3:10.3f}" if r.torch_seconds is not None else f"{'-':>10}"
        ratio = f"{r.ratio:7.2f}" if r.ratio is not None else f"{'-':>7}"
        target = f"{r.target:7.2f}" if r.target is not None else f"{'-':>7}"
        ok = r.as_dict()["meets_target"]
        achieved, share = r.gflops(r.numpy_seconds), r.fraction_of_peak
        rate = f"{achieved:9.1f}" if achieved else f"{'-':>9}"
        of_peak = f"{100 * share:7.1f}%" if share else f"{'-':>8}"
        verdict = "-" if ok is None else "yes" if ok else "NO"
        lines.append(f"{r.name[:45]:<46}{r.numpy_seconds * 1e3:10.3f}{t}{ratio}{target}  {verdict:<3}{rate}{of_peak}")
    if results and results[0].peak_gflops:
        lines.append(f"peak: a 2048x2048 float32 matrix product in NumPy, {results[0].peak_gflops:.1f} GFLOP/s "
                     "(all threads); GFLOP/s are NumPy's")
    lines.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else
                 "torch not installed: NumPy times only (pip install -e '.[torch]')")
    lines.append(f"numpy {np.__version__}; medians of the timed runs, in 5 alternating blocks, each after 0.05 s of "
                 "warm-up")
    busy = [r for r in results if r.competing]
    if busy:
        lines.append(f"WARNING: the machine was busy: {len(busy)} of {len(results)} rows were timed while other tasks "
                     f"wanted the CPU (up to {max(r.competing for r in busy)} ready to run: "
                     f"{'; '.join(r.name for r in busy)}). Those times are not representative, "
                     "PyTorch's least of all; run the benchmark again on an idle machine.")
    return "\n".join(lines)


def write_json(results: list[Result], path) -> None:
    torch = torch_or_none()
    from .machine import environment

    data = {**environment(), "numpy": np.__version__, "torch": torch.__version__ if torch else None,
            "torch_threads": torch.get_num_threads() if torch else None,
            "peak_gflops": results[0].peak_gflops if results else None,
            "benchmarks": [r.as_dict() for r in results]}
    with open(path, "w") as fh:
        json.dump(data, fh, indent=2)
