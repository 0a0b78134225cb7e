"""A prototype, not the reference: a capstone recipe that reaches 99% on the official test set in the 60 s budget.

    python benchmarks/capstone_ensemble.py --seeds 5 [--workers 2] [--budget 58] [--max-epochs N] [--json F]

The reference capstone (chapter 4.6) trains one small CNN on both cores and reaches 98.3-98.5%. This script
measures what issue 14 asks for, 99.0% on the worst of 5 seeds, with the course's own layers (the reference
modules of chapters 3.2 to 4.5) and three changes:

- augmentation by a random affine map (rotation, scale, shift; bilinear) in place of whole-pixel shifts;
- a hidden dense layer of 128 units with dropout 0.3 before the output layer;
- one network per core, each computing on one thread, and the prediction averaged over the networks and over
  five views of every test image (itself and its shifts by one pixel).

It is kept apart from the reference until the capstone's contract (one deterministic ``train_capstone`` with
a clock of its own, graded against the reference) is redesigned for several workers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from autograder.machine import environment
from autograder.reference import reference
from dlcourse.mnist import load_mnist, training_set

act, conv, pool = reference("ch3_2_activations"), reference("ch4_2_convolution"), reference("ch4_3_pooling")
reg, opt = reference("ch4_4_regularization"), reference("ch4_5_optimization")

HIDDEN, P_DROP, LR0, MU, WEIGHT_DECAY, MAX_NORM, BATCH = 128, 0.3, 0.05, 0.9, 5e-4, 5.0, 64
VIEWS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))  # the test-time views: the image and its 1-pixel shifts


def random_affine(X, rng, degrees=15.0, scale=0.15, shift=2.0):
    """Every image of ``X`` (N, C, H, W) turned by up to ``degrees``, scaled by ``1 +- scale`` and moved by up to
    ``shift`` pixels about its centre, its own draw each: bilinear interpolation, 0 outside. float32 (N, C, H, W)."""
    N, C, H, W = X.shape
    angle = np.deg2rad(rng.uniform(-degrees, degrees, N))
    zoom = 1 + rng.uniform(-scale, scale, N)
    move = rng.uniform(-shift, shift, (N, 2))
    # Output pixel p reads the input at R(-angle) (p - centre - move) / zoom + centre.
    cos, sin = (np.cos(angle) / zoom)[:, None], (np.sin(angle) / zoom)[:, None]
    cy, cx = (H - 1) / 2, (W - 1) / 2
    ys, xs = np.mgrid[0:H, 0:W].reshape(2, 1, H * W)
    py, px = ys - cy - move[:, :1], xs - cx - move[:, 1:]
    sy, sx = cos * py - sin * px + cy, sin * py + cos * px + cx  # (N, H*W) source coordinates
    y0, x0 = np.floor(sy), np.floor(sx)
    wy, wx = (sy - y0).astype(np.float32)[:, None], (sx - x0).astype(np.float32)[:, None]
    padded = np.zeros((N, C, H + 2, W + 2), np.float32)  # a zero border: corners outside the image read 0
    padded[:, :, 1:-1, 1:-1] = X
    flat = padded.reshape(N, C, -1)

    def corner(dy, dx):
        index = np.clip(y0.astype(np.int64) + dy + 1, 0, H + 1) * (W + 2) + np.clip(x0.astype(np.int64) + dx + 1, 0, W + 1)
        return np.take_along_axis(flat, np.broadcast_to(index[:, None], (N, C, H * W)), axis=2)

    out = ((1 - wy) * ((1 - wx) * corner(0, 0) + wx * corner(0, 1)) + wy * ((1 - wx) * corner(1, 0) + wx * corner(1, 1)))
    return out.reshape(N, C, H, W)


def init(rng):
    """He-initialised float32 parameters: W1 (8, 1, 3, 3), W2 (16, 8, 3, 3), W3 (784, 128), W4 (128, 10), biases 0."""
    def he(shape, n_in, gain=2.0):
        return (rng.standard_normal(shape) * np.sqrt(gain / n_in)).astype(np.float32)

    return {"W1": he((8, 1, 3, 3), 9), "b1": np.zeros(8, np.float32), "W2": he((16, 8, 3, 3), 72),
            "b2": np.zeros(16, np.float32), "W3": he((784, HIDDEN), 784), "b3": np.zeros(HIDDEN, np.float32),
            "W4": he((HIDDEN, 10), HIDDEN, gain=1.0), "b4": np.zeros(10, np.float32)}


def forward(params, X, rng=None):
    """Probabilities (m, 10) of images X (m, 1, 28, 28) and the cache; dropout only when ``rng`` is given."""
    Z1, conv1 = conv.conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    M1, pool1 = pool.max_pool(Z1, 2, 2)
    Z2, conv2 = conv.conv2d(act.relu(M1), params["W2"], params["b2"], stride=1, padding=1)
    M2, pool2 = pool.max_pool(Z2, 2, 2)
    flat = act.relu(M2).reshape(len(X), -1)
    H = flat @ params["W3"] + params["b3"]
    D, mask = reg.dropout(act.relu(H), P_DROP, rng, training=rng is not None)
    probs = act.softmax(D @ params["W4"] + params["b4"])
    return probs, dict(M1=M1, M2=M2, flat=flat, H=H, D=D, mask=mask, probs=probs, conv1=conv1, conv2=conv2,
                       pool1=pool1, pool2=pool2)


def backward(params, cache, y):
    """Gradients of the mean cross-entropy, the capstone's backward pass with the hidden layer in front."""
    probs = cache["probs"]
    dZ = probs.copy()
    dZ[np.arange(len(y)), y] -= 1
    dZ /= len(y)
    grads = {"W4": cache["D"].T @ dZ, "b4": dZ.sum(axis=0)}
    dH = reg.dropout_backward(dZ @ params["W4"].T, cache["mask"]) * act.relu_derivative(cache["H"])
    grads["W3"], grads["b3"] = cache["flat"].T @ dH, dH.sum(axis=0)
    dP2 = (dH @ params["W3"].T).reshape(cache["M2"].shape)
    dP1, grads["W2"], grads["b2"] = conv.conv2d_backward(
        pool.max_pool_backward(dP2 * act.relu_derivative(cache["M2"]), cache["pool2"]), cache["conv2"])
    _, grads["W1"], grads["b1"] = conv.conv2d_backward(
        pool.max_pool_backward(dP1 * act.relu_derivative(cache["M1"]), cache["pool1"]), cache["conv1"], need_dX=False)
    return grads


def train(X, y, seed, budget, max_epochs=None):
    """One network on all of (X, y): momentum, L2, clipping, a cosine learning rate over the budget (or the
    epochs). Returns (params, epochs)."""
    start, rng = time.perf_counter(), np.random.default_rng(seed)
    params = init(rng)
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    m, step, step_seconds, epochs = len(X), 0, 0.0, 0
    steps_per_epoch = -(-m // BATCH)
    while max_epochs is None or epochs < max_epochs:
        order = rng.permutation(m)
        for begin in range(0, m, BATCH):
            step_start = time.perf_counter()
            elapsed = step_start - start
            if elapsed + step_seconds >= budget:
                return params, epochs
            progress = elapsed / budget if max_epochs is None else step / (max_epochs * steps_per_epoch)
            lr = LR0 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            idx = order[begin:begin + BATCH]
            probs, cache = forward(params, random_affine(X[idx], rng), rng)
            grads = backward(params, cache, y[idx])
            grads, _ = opt.clip_gradients({k: g + WEIGHT_DECAY * params[k] * (k[0] == "W") for k, g in grads.items()},
                                          MAX_NORM)
            for key in params:
                opt.momentum_update(params[key], grads[key], velocity[key], lr, MU)
            step += 1
            step_seconds = time.perf_counter() - step_start
        epochs += 1
    return params, epochs


def shifted(X, dy, dx):
    """X (N, C, H, W) moved down by dy and right by dx pixels (each -1, 0 or 1), 0 where nothing moved in."""
    out = np.zeros_like(X)
    H, W = X.shape[2:]
    out[:, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        X[:, :, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out


def view_probabilities(params, X, chunk=500):
    """The probabilities (m, 10) of images X, summed over the VIEWS."""
    total = np.zeros((len(X), 10), np.float32)
    for i in range(0, len(X), chunk):
        for dy, dx in VIEWS:
            total[i:i + chunk] += forward(params, shifted(X[i:i + chunk], dy, dx))[0]
    return total


def member(seed, deadline, max_epochs):
    """One network of the ensemble, in its own process, trained until the wall-clock ``deadline`` (starting the
    process and loading the data count against it). Returns its summed view probabilities on the test set, its
    epochs and the wall-clock time its training ended."""
    X, y = load_mnist("train")
    X_test, _ = load_mnist("test")
    params, epochs = train(X.reshape(-1, 1, 28, 28).astype(np.float32), y, seed, deadline - time.time(), max_epochs)
    ended = time.time()
    return view_probabilities(params, X_test.reshape(-1, 1, 28, 28).astype(np.float32)), epochs, ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="networks, each in its own process on one thread")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds from the start of a run to the end of "
                        "its training, starting the workers and loading the data included")
    parser.add_argument("--max-epochs", type=int)
    parser.add_argument("--json")
    args = parser.parse_args()
    _, y_test = load_mnist("test")
    # One thread per worker: the workers are the parallelism (set before they start, so their BLAS reads it).
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    runs = []
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as workers:
        for seed in range(args.seeds):
            start = time.time()
            seeds = [seed * args.workers + k for k in range(args.workers)]
            members = list(workers.map(member, seeds, [start + args.budget] * len(seeds),
                                       [args.max_epochs] * len(seeds)))
            accuracy = float(np.mean(sum(p for p, _, _ in members).argmax(axis=1) == y_test))
            train_seconds = max(ended for _, _, ended in members) - start
            runs.append({"seed": seed, "accuracy": accuracy, "train_seconds": round(train_seconds, 1),
                         "members": [{"seed": s, "accuracy": float(np.mean(p.argmax(axis=1) == y_test)), "epochs": e}
                                     for s, (p, e, _) in zip(seeds, members)]})
            networks = ", ".join(f"{r['accuracy']:.4f} ({r['epochs']} epochs)" for r in runs[-1]["members"])
            print(f"seed {seed}: ensemble {accuracy:.4f}, trained in {train_seconds:.1f} s; networks {networks}",
                  flush=True)
    worst = min(r["accuracy"] for r in runs)
    print(f"training set {training_set()}: worst {worst:.4f}, target 0.99 -> {'met' if worst >= 0.99 else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**environment(("numpy", "dlcourse", "dlcourse-grader")), "training_set": training_set(),
                       "workers": args.workers, "budget_seconds": args.budget, "max_epochs": args.max_epochs,
                       "target": 0.99, "worst": worst, "runs": runs}, fh, indent=2)


if __name__ == "__main__":
    main()
