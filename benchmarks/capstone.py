"""The capstone target: accuracy on the official 10k MNIST test set after `train_capstone` with a 60 s budget.

    python benchmarks/capstone.py --seeds 3 [--json capstone.json] [--max-epochs N]

Course plan: at least 97% when trained on the 5k subset (98.5% on the full 60k) in under 60 s on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

# This file is named like the capstone's reference module and its folder comes first on sys.path: reference()
# puts the kit's solutions ahead of it, so `capstone` is the reference, not this script.
from autograder.machine import environment
from autograder.reference import reference
from dlcourse.mnist import load_mnist, training_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--max-epochs", type=int, help="stop after this many epochs (a quick check that does not "
                        "depend on the machine's speed); default: only the budget and early stopping stop it")
    parser.add_argument("--json")
    args = parser.parse_args()
    cap = reference("ch4_6_capstone")
    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    runs = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        params, history = cap.train_capstone(X, y, np.random.default_rng(seed), time_budget=args.budget,
                                             max_epochs=args.max_epochs)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(cap.predict_capstone(params, X_test) == y_test))
        runs.append({"seed": seed, "accuracy": accuracy, "train_seconds": round(seconds, 1),
                     "epochs": len(history["train_loss"])})
        print(f"seed {seed}: test accuracy {accuracy:.4f} after {seconds:.1f} s ({runs[-1]['epochs']} epochs)")
    target = 0.97 if training_set() == "subset5k" else 0.985
    worst = min(r["accuracy"] for r in runs)
    print(f"training set {training_set()}: worst {worst:.4f}, target {target} -> {'met' if worst >= target else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**environment(("numpy", "dlcourse", "dlcourse-grader")), "training_set": training_set(),
                       "budget_seconds": args.budget, "max_epochs": args.max_epochs, "target": target,
                       "worst": worst, "runs": runs}, fh, indent=2)


if __name__ == "__main__":
    main()
