"""Planted bugs for chapter 4.5 (momentum, gradient clipping, early stopping, the capstone's augmentation)."""
from . import Bug

BUGS = [
    # momentum: the sign of the gradient flipped (steps uphill), and the moving-average form of Adam-style texts
    Bug("4.5", "momentum-sign", "    velocity -= lr * grad\n", "    velocity += lr * grad\n", "moved UP the gradient"),
    Bug("4.5", "momentum-as-moving-average",
        "    velocity *= mu\n    velocity -= lr * grad\n    param += velocity\n",
        "    velocity *= mu\n    velocity += (1 - mu) * grad\n    param -= lr * velocity\n",
        "v = beta * v + (1 - beta) * grad"),
    # clipping each array by its own norm instead of the global norm
    Bug("4.5", "clip-per-array",
        "    if total > max_norm:\n        scale = max_norm / total\n",
        "    if total > max_norm:\n"
        "        return {key: g * (max_norm / max(float(np.linalg.norm(g)), max_norm))\n"
        "                for key, g in arrays.items()}, total\n"
        "        scale = max_norm / total\n",
        "clipped by its OWN norm"),
    # early stopping: the window one epoch too long (compares patience + 1 epochs: stops one epoch late)
    Bug("4.5", "early-stopping-off-by-one",
        "    best = min((v for v in losses[:n - patience] if not math.isnan(v)), default=math.inf)\n"
        "    return not any(v < best - min_delta for v in losses[n - patience:])\n",
        "    best = min((v for v in losses[:n - patience - 1] if not math.isnan(v)), default=math.inf)\n"
        "    return not any(v < best - min_delta for v in losses[n - patience - 1:])\n",
        "off by one"),
    # augmentation: rng.integers' upper bound is exclusive, so +max_shift is never drawn
    Bug("4.5", "shift-upper-bound-excluded",
        "    dy = rng.integers(-s, s + 1, size=N)\n    dx = rng.integers(-s, s + 1, size=N)\n",
        "    dy = rng.integers(-s, s, size=N)\n    dx = rng.integers(-s, s, size=N)\n",
        "INCLUDED"),
]
