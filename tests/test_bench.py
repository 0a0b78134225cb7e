"""`dlcourse bench`: the table and its JSON, with and without PyTorch (times are reported, never asserted)."""
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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
    trains its ensemble: one epoch per network (a count of epochs, not a time budget, so a busy machine gives the
    same run), two networks in worker processes, take the five-view vote past 90% on the test set."""
    out = tmp_path / "capstone.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "capstone.py"), "--seeds", "1", "--max-epochs", "1",
                           "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["seed"] == 0 and 0.9 < run["accuracy"] <= 1.0 and data["worst"] == run["accuracy"]
    assert data["networks"] == 2 and [n["epochs"] for n in run["networks"]] == [1, 1]
    assert all(0.85 < n["accuracy"] < 1.0 and n["stop_reason"] == "max_epochs" for n in run["networks"])
    assert data["budget_seconds"] == 60.0 and data["max_epochs"] == 1 and data["date"] and data["versions"]["numpy"]


def test_suite_profile_times_each_file_and_reads_the_machines_cpu(tmp_path):
    """benchmarks/suite_profile.py runs pytest with timings: a test that computes 0.4 CPU-s shows in its file's
    seconds, in the slowest tests and in the CPU seconds read from /proc/stat; pytest's exit status and summary
    come back (one test fails here)."""
    tests = tmp_path / "test_probe.py"
    tests.write_text("import time\n\n\ndef test_burns():\n    end = time.process_time() + 0.4\n"
                     "    while time.process_time() < end:\n        pass\n\n\ndef test_fails():\n    assert 1 == 2\n")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite_profile.py"), "--json", str(out), "--bin",
                           "0.5", "--", str(tests), "-n", "0"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # pytest's: a test failed
    data = json.loads(out.read_text())
    assert data["exit_status"] == 1 and data["summary"].startswith("1 failed, 1 passed"), data["summary"]
    (name, seconds), = data["test_seconds_per_file"].items()
    assert name.endswith("test_probe.py") and seconds >= 0.4
    assert data["slowest"][0]["test"].endswith("test_probe.py::test_burns") and data["slowest"][0]["phase"] == "call"
    if os.path.exists("/proc/stat"):
        # the whole machine's CPU (another pytest worker may be busy too), read in 10 ms ticks per core
        assert data["cpu_seconds"] >= 0.4 and 0 < data["mean_busy_cores"] <= os.cpu_count() + 0.05
        bins = data["busy_cores"]
        assert bins and bins[0]["from_s"] == 0 and all(0 <= b["busy_cores"] <= os.cpu_count() + 0.1 for b in bins)
    assert data["wall_seconds"] > 0.4 and data["versions"]["pytest"] and data["date"]


def test_suite_profile_bins_fold_a_short_tail_into_the_bin_before():
    """The last /proc/stat reading often comes a few hundredths of a second after the one before: read as its own
    bin, one 10 ms tick per core there would show more busy cores than the machine has (CI once read 2.23 of 2).
    It joins the previous bin; a tail of half a bin or more stays a bin of its own."""
    spec = importlib.util.spec_from_file_location("suite_profile", ROOT / "benchmarks" / "suite_profile.py")
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    samples = [(1.0, 2.0), (2.0, 4.0), (2.04, 4.09)]
    assert profile.busy_cores(samples, 1.0) == [{"from_s": 0.0, "to_s": 1.0, "busy_cores": 2.0},
                                                {"from_s": 1.0, "to_s": 2.0, "busy_cores": 2.01}]
    assert profile.busy_cores([(1.0, 1.0), (1.6, 1.9)], 1.0)[-1] == {"from_s": 1.0, "to_s": 1.6, "busy_cores": 1.5}
    assert profile.busy_cores([(0.03, 0.06)], 1.0) == [{"from_s": 0.0, "to_s": 0.0, "busy_cores": 2.0}]
