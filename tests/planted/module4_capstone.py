"""Planted bugs for chapter 4.6 (the capstone)."""
from . import Bug

BUGS = [
    # the ReLU mask forgotten between max_pool_backward and conv2d_backward (the second block)
    Bug("4.6", "relu-mask-forgotten",
        '    dZ2 = max_pool_backward(dP2 * relu_derivative(cache["M2"]), cache["pool2"])\n',
        '    dZ2 = max_pool_backward(dP2, cache["pool2"])\n',
        "times the ReLU mask of the PRE-activation"),
    # the learning-rate schedule restarted every epoch instead of running over all max_epochs
    Bug("4.6", "schedule-restarted-every-epoch",
        "                progress = step / (max_epochs * steps_per_epoch)\n",
        "                progress = (step % steps_per_epoch) / steps_per_epoch\n",
        "not restarted every epoch"),
    # the clock read on every mini-batch for the progress bar too: the contract's readings no longer hold
    Bug("4.6", "clock-read-for-the-display",
        '                            left=f"{max(0.0, time_budget - elapsed):.0f}s", refresh=False)\n',
        '                            left=f"{max(0.0, time_budget - (clock() - start)):.0f}s", refresh=False)\n',
        "nowhere else"),
    # the dropout mask left out of the backward pass: the kept units' gradients lack their 1 / (1 - p) scale and
    # the dropped ones get a gradient they never earned
    Bug("4.6", "dropout-mask-forgotten",
        '    dZ3 = dropout_backward(dZ4 @ np.asarray(params["W4"]).T, cache["mask"]) * relu_derivative(cache["Z3"])\n',
        '    dZ3 = (dZ4 @ np.asarray(params["W4"]).T) * relu_derivative(cache["Z3"])\n',
        "dropout_backward with the forward pass's mask"),
    # the turn's sign: the images turn the other way (the inverse map read as the forward one)
    Bug("4.6", "affine-turned-the-other-way",
        "    maps = np.stack([cos, -sin, cy - cos * dy + sin * dx,\n"
        "                     sin, cos, cx - sin * dy - cos * dx], axis=1).reshape(N * 2, 3)\n",
        "    maps = np.stack([cos, sin, cy - cos * dy - sin * dx,\n"
        "                     -sin, cos, cx + sin * dy - cos * dx], axis=1).reshape(N * 2, 3)\n",
        "output pixel (i, j) reads the input at"),
    # every network of the ensemble given the same generator: forked copies of one state train the same network
    Bug("4.6", "ensemble-without-spawn",
        "    rngs = rng.spawn(networks)\n",
        "    rngs = [rng] * networks\n",
        "spawn(2)[0]"),
]
