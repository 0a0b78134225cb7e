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
]
