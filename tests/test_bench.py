"""`dlcourse bench`: the table and its JSON, with and without PyTorch (times are reported, never asserted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

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
