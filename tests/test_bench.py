"""`dlcourse bench`: the table and its JSON, with and without PyTorch (times are reported, never asserted)."""
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_bench(tmp_path, *args, env=None):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "bench", "--runs", "1", "--only", "max_pool",
                           "--only", "conv2d", "--only", "capstone", "--json", str(out), *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_bench_json_has_one_entry_per_benchmark(tmp_path):
    data, stdout = run_bench(tmp_path)
    names = [b["name"] for b in data["benchmarks"]]
    assert len(names) == 4 and any("max_pool" in n for n in names) and sum("conv2d" in n for n in names) == 2
    assert any("capstone CNN epoch" in n for n in names)
    assert data["peak_gflops"] > 0
    for b in data["benchmarks"]:
        assert b["numpy_seconds"] > 0
        if data["torch"] is not None:
            assert b["torch_seconds"] > 0 and abs(b["ratio"] - b["numpy_seconds"] / b["torch_seconds"]) < 1e-12
        if "max_pool" in b["name"]:  # not a compute kernel: no rate
            assert b["flops"] is None and b["numpy_gflops"] is None and b["numpy_fraction_of_peak"] is None
        else:
            assert b["numpy_gflops"] == b["flops"] / b["numpy_seconds"] / 1e9
            assert b["numpy_fraction_of_peak"] == b["numpy_gflops"] / data["peak_gflops"]
    assert all(isinstance(b["competing_tasks"], int) and b["competing_tasks"] >= 0 for b in data["benchmarks"])
    conv1 = next(b for b in data["benchmarks"] if "x(64,1,28,28)" in b["name"])
    assert conv1["flops"] == 3 * 2 * 64 * 8 * 1 * 9 * 28 * 28  # forward multiply-adds x 2, backward twice that
    assert "ratio" in stdout and "max_pool" in stdout and "GFLOP/s" in stdout and "peak:" in stdout


def test_bench_without_torch_reports_null(tmp_path):
    fake = tmp_path / "notorch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('hidden by a test')\n")
    data, stdout = run_bench(tmp_path, env=dict(os.environ, PYTHONPATH=str(fake.parent)))
    assert data["torch"] is None
    assert all(b["torch_seconds"] is None and b["ratio"] is None for b in data["benchmarks"])
    assert "torch not installed" in stdout


def fake_proc(tmp_path, running_total, own_states):
    """A /proc/loadavg reading and a /proc/self/task folder whose threads are in ``own_states``."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"0.52 0.40 0.31 {running_total} 23363\n")
    for tid, state in enumerate(own_states, 100):
        (tmp_path / "task" / str(tid)).mkdir(parents=True)
        (tmp_path / "task" / str(tid) / "stat").write_text(f"{tid} (pt_main (x)) {state} 1 {tid} {tid} 0 -1 4194560\n")
    return loadavg, tmp_path / "task"


@pytest.mark.parametrize("running_total, own, competing", [("1/88", "RS", 0), ("4/89", "RS", 3), ("3/90", "RRS", 1),
                                                           ("2/90", "SS", 1), ("2/90", "RRR", 0)])
def test_competing_tasks_leaves_out_this_process(tmp_path, running_total, own, competing):
    """Other tasks ready to run = the machine's running count less this process's running threads (the reader is
    one, even when its own reading says otherwise); a comm with a parenthesis in it does not confuse the parse."""
    from autograder.bench import competing_tasks

    assert competing_tasks(*fake_proc(tmp_path, running_total, own), readings=1) == competing


def test_competing_tasks_is_unknown_off_linux_and_counts_real_busy_processes(tmp_path):
    from autograder.bench import competing_tasks

    assert competing_tasks(tmp_path / "no-loadavg", tmp_path) is None
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)  # both started and spinning: always running or ready to run
        assert competing_tasks() >= 2
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


def test_the_table_warns_when_rows_were_timed_on_a_busy_machine():
    from autograder.bench import Result, table

    idle = [Result("conv2d a", 1e-3, 1e-3, 1.0, competing=0), Result("max_pool b", 1e-3, 2e-3, 1.0, competing=None)]
    assert "busy" not in table(idle)
    text = table([*idle, Result("capstone CNN epoch", 0.4, 0.5, 1.2, competing=3)])
    assert "WARNING: the machine was busy: 1 of 3 rows" in text and "up to 3 ready to run: capstone CNN epoch)" in text


def test_capstone_benchmark_runs_and_writes_its_json(tmp_path):
    """benchmarks/capstone.py imports the reference `capstone` module, not itself (the script has its name), and
    trains it: one epoch (a count of epochs, not a time budget, so a busy machine gives the same run) takes the
    reference past 90% on the test set."""
    out = tmp_path / "capstone.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "capstone.py"), "--seeds", "1", "--max-epochs", "1",
                           "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["seed"] == 0 and run["epochs"] == 1 and 0.9 < run["accuracy"] <= 1.0 and data["worst"] == run["accuracy"]
    assert data["budget_seconds"] == 60.0 and data["max_epochs"] == 1 and data["date"] and data["versions"]["numpy"]


@functools.lru_cache(maxsize=None)
def ensemble_module():
    """benchmarks/capstone_ensemble.py, imported by path (it is a script, not a package), once."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("capstone_ensemble", ROOT / "benchmarks" / "capstone_ensemble.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FixedDraws:
    """A stand-in for a Generator whose ``uniform`` calls return the given arrays, in order."""

    def __init__(self, *draws):
        self.draws = list(draws)

    def uniform(self, low, high, size):
        out = np.asarray(self.draws.pop(0), dtype=float)
        assert out.shape == np.empty(size).shape and np.all((low <= out) & (out <= high))
        return out


def test_the_ensembles_affine_augmentation_turns_moves_and_keeps():
    """random_affine of the prototype: no change for a zero draw, a quarter turn is np.rot90 (clockwise, about the
    centre), a one-pixel move is the shift, and fresh draws keep the ink of a centred digit."""
    ens = ensemble_module()
    X = np.random.default_rng(5).random((3, 2, 28, 28)).astype(np.float32)
    zero = FixedDraws(np.zeros(3), np.zeros(3), np.zeros((3, 2)))
    np.testing.assert_allclose(ens.random_affine(X, zero), X, atol=1e-6)
    quarter = FixedDraws(np.full(3, 90.0), np.zeros(3), np.zeros((3, 2)))
    np.testing.assert_allclose(ens.random_affine(X, quarter, degrees=90), np.rot90(X, -1, axes=(2, 3)), atol=1e-5)
    down = FixedDraws(np.zeros(3), np.zeros(3), np.tile([1.0, -1.0], (3, 1)))
    np.testing.assert_allclose(ens.random_affine(X, down), ens.shifted(X, 1, -1), atol=1e-6)
    assert np.array_equal(ens.shifted(X, 1, -1)[:, :, 1:, :-1], X[:, :, :-1, 1:])
    digit = np.zeros((8, 1, 28, 28), np.float32)
    digit[:, :, 9:19, 11:17] = 1.0
    moved = ens.random_affine(digit, np.random.default_rng(0))
    assert moved.dtype == np.float32 and not np.allclose(moved, digit)
    draws = np.random.default_rng(0)
    draws.uniform(-15, 15, 8)  # the angles come first, then the scales: the ink grows with the area
    assert np.allclose(moved.sum(axis=(1, 2, 3)), 60 * (1 + draws.uniform(-0.15, 0.15, 8)) ** 2, rtol=0.05)


def test_the_ensembles_network_backward_matches_numerical_derivatives():
    from autograder.oracle import cross_entropy

    ens = ensemble_module()
    rng = np.random.default_rng(7)
    params = {k: v.astype(np.float64) + (0 if k[0] == "W" else rng.normal(scale=0.05, size=v.shape))
              for k, v in ens.init(rng).items()}
    X, y = rng.random((4, 1, 28, 28)), rng.integers(0, 10, size=4)

    def loss(p):  # the same dropout mask every call: the same seed
        return cross_entropy(ens.forward(p, X, np.random.default_rng(3))[0], y)

    probs, cache = ens.forward(params, X, np.random.default_rng(3))
    assert probs.dtype == np.float64 and (cache["mask"] == 0).any()
    grads = ens.backward(params, cache, y)
    for key in params:
        errors = []
        for _ in range(3):  # a ReLU or a pooling winner may change within the step along one direction
            D = rng.normal(size=params[key].shape)
            numeric = (loss({**params, key: params[key] + 1e-7 * D}) - loss({**params, key: params[key] - 1e-7 * D})) / 2e-7
            analytic = float(np.vdot(grads[key], D))
            errors.append(abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-12))
        assert min(errors) < 1e-5, (key, errors)


def test_capstone_ensemble_benchmark_runs_and_writes_its_json(tmp_path):
    """benchmarks/capstone_ensemble.py: two networks in two worker processes, one epoch each, then the averaged
    five-view prediction on the test set (deterministic: a count of epochs, one thread per worker)."""
    out = tmp_path / "ensemble.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "capstone_ensemble.py"), "--seeds", "1",
                           "--max-epochs", "1", "--json", str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert data["workers"] == 2 and [m["seed"] for m in run["members"]] == [0, 1]
    assert all(m["epochs"] == 1 and 0.85 < m["accuracy"] for m in run["members"])
    assert 0.9 < run["accuracy"] == data["worst"] and "ensemble" in proc.stdout
