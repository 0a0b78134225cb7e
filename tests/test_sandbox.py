"""Containment of untrusted code: what a submission's worker can and cannot do.

The assertions follow the isolation level the launcher reports, so they hold on any machine; on this
project's CI (root, namespaces available) every layer is checked. Every test runs twice: with workers forked by
the fork server (the default) and with workers started as new interpreters (``DLCOURSE_FORK_SERVER=0``).
"""
import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import launcher
from autograder.sandbox.budget import WALL_FACTOR
from autograder.sandbox.launcher import _unshare_prefix, isolation_level
from autograder.sandbox.proxy import ChapterRunner

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = bool(_unshare_prefix())
AS_ROOT = os.geteuid() == 0

PROBE = textwrap.dedent('''
    import os, socket, subprocess, sys, time
    import numpy as np

    def read(path):
        try:
            with open(path) as fh:
                return "read:" + fh.read(100)
        except Exception as exc:
            return type(exc).__name__

    def write(path):
        try:
            with open(path, "w") as fh:
                fh.write("forged")
            return "written"
        except Exception as exc:
            return type(exc).__name__

    def listdir(path):
        try:
            return sorted(os.listdir(path))
        except Exception as exc:
            return type(exc).__name__

    def env():
        return dict(os.environ)

    def uid():
        return os.getuid()

    def connect(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return "connected"
        except Exception as exc:
            return type(exc).__name__

    def signal_pid(pid):
        try:
            os.kill(pid, 0)
            return "can signal"
        except Exception as exc:
            return type(exc).__name__

    def detach(marker):
        # A grandchild in its own session that keeps touching a file: it must die with the worker.
        code = f"import time\\nwhile True:\\n    open({marker!r}, 'a').close(); __import__('os').utime({marker!r})\\n    time.sleep(0.1)"
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return "started"

    class Anything:
        def __eq__(self, other):
            return True

    def liar():
        return Anything()

    def subclass():
        return np.ma.masked_array([1.0, 2.0])

    def object_array():
        return np.array([1, "a"], dtype=object)

    def huge_string():
        return "x" * 10

    def open_files():
        # Every descriptor the worker holds, by what it points at (never the fork server's socket).
        fds = os.listdir("/proc/self/fd")
        return sorted(os.readlink(f"/proc/self/fd/{fd}") for fd in fds if os.path.exists(f"/proc/self/fd/{fd}"))

    def processes():
        return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())

    def global_draw():
        return float(np.random.random())

    def faults_per_step():
        """Page faults per step of NumPy work whose temporaries (400 KB each) are made and freed every step."""
        import resource
        a = np.random.default_rng(0).random((64, 784))
        def step():
            return float(((a * 2 + 1) * a - np.sqrt(a)).sum())
        for _ in range(5):
            step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(50):
            step()
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50
''')


@pytest.fixture(autouse=True, params=[True, False], ids=["forked", "new-interpreter"])
def start_mode(request, monkeypatch):
    monkeypatch.setattr(launcher, "FORK_SERVER", request.param)
    return request.param


def runner_for(tmp_path, name: str, source: str, budget: float = 30) -> ChapterRunner:
    """A runner for a one-module submission ``name.py`` holding ``source``, with the kit's folders hidden."""
    sub = tmp_path / "submission"
    sub.mkdir(exist_ok=True)
    (sub / f"{name}.py").write_text(source)
    return ChapterRunner(name, {f"{name}.py": sub / f"{name}.py"}, [ROOT], budget=budget)


@pytest.fixture
def probe(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "probe.py").write_text(PROBE)
    secret = tmp_path / "hidden_suites"
    secret.mkdir()
    (secret / "test_secret.py").write_text("ANSWER = 42\n")
    runner = ChapterRunner("probe", {"probe.py": sub / "probe.py"}, [ROOT, secret, sub], budget=60)
    yield runner.module(), secret
    runner.close_worker()


def test_isolation_level_is_reported():
    level = isolation_level()
    assert "rlimits" in level and "time limit" in level
    assert ("namespaces" in level) == NAMESPACES or "no namespaces" in level


def test_cannot_read_hidden_suites_or_solutions(probe):
    module, secret = probe
    secret_result = module.read(str(secret / "test_secret.py"))
    hidden_result = module.read(str(ROOT / "autograder" / "ch1_3_sigmoid" / "test_sigmoid_hidden.py"))
    solution_result = module.read(str(ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py"))
    if NAMESPACES:
        assert not secret_result.startswith("read:")
        assert not hidden_result.startswith("read:")
        assert not solution_result.startswith("read:")
        # The kit is an empty tmpfs; or, where the checkout sits in a folder only its owner may enter (a
        # `mktemp -d` clone) and the worker runs as nobody, it cannot be reached at all. Nothing listed either way.
        assert module.listdir(str(ROOT)) in ([], "PermissionError")
    else:
        assert "no namespaces" in isolation_level()


def test_environment_holds_no_grader_variables(probe, monkeypatch):
    module, _ = probe
    os.environ["DLCOURSE_TEST_SECRET"] = "s3cret"
    try:
        env = module.env()
    finally:
        del os.environ["DLCOURSE_TEST_SECRET"]
    assert "DLCOURSE_TEST_SECRET" not in env
    assert not any("s3cret" in v for v in env.values())
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED", "OPENBLAS_CORETYPE",
                        "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                        "LC_CTYPE", "MALLOC_TOP_PAD_"}


def test_student_numpy_code_does_not_fault_its_temporaries_in_again(probe):
    """The worker's malloc keeps freed memory for the next call: arrays made and dropped on every call (as a
    batch's temporaries are) cost no page faults once warm, where glibc's default costs hundreds per step."""
    module, _ = probe
    assert module.faults_per_step() < 5


def test_runs_unprivileged_when_grader_is_root(probe):
    module, _ = probe
    if AS_ROOT:
        assert module.uid() != 0
        assert "nobody" in isolation_level()


def test_no_network(probe):
    module, _ = probe
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        result = module.connect(server.getsockname()[1])
    finally:
        server.close()
    if NAMESPACES:
        assert result != "connected"


def test_cannot_signal_the_grader(probe):
    module, _ = probe
    result = module.signal_pid(os.getpid())
    if NAMESPACES or AS_ROOT:
        assert result != "can signal"


def test_cannot_write_the_results_file(probe, tmp_path):
    module, _ = probe
    results = tmp_path / "results.json"
    results.write_text("{}")
    os.chmod(tmp_path, 0o755)
    module.write(str(results))
    assert results.read_text() == "{}" if (AS_ROOT or NAMESPACES) else True


@pytest.fixture
def marker():
    """A file a detached child of the worker keeps touching, in a folder the unprivileged worker may write."""
    shared = Path("/tmp") / f"dlcourse-detach-{os.getpid()}"
    shared.mkdir(exist_ok=True)
    os.chmod(shared, 0o777)
    yield shared / "alive"
    (shared / "alive").unlink(missing_ok=True)
    shared.rmdir()


def still_touched(marker: Path, seconds: float = 1.0) -> bool:
    """Whether something touches ``marker`` within ``seconds`` (the detached child does every 0.1 s)."""
    stamp = marker.stat().st_mtime
    time.sleep(seconds)
    return marker.stat().st_mtime != stamp


def test_detached_processes_die_with_the_worker(tmp_path, marker):
    runner = runner_for(tmp_path, "probe", PROBE, budget=60)
    try:
        assert runner.module().detach(str(marker)) == "started"
        assert marker.exists(), "the detached child never ran"
    finally:
        runner.close_worker()
    time.sleep(0.5)
    assert not still_touched(marker), "a process started by the submission outlived its worker"


def test_the_graders_timing_runs_with_the_students_code_stopped(tmp_path, marker):
    """seconds_here, a hidden test's measure of this machine's speed for a wall-clock budget, runs with the
    student's worker and whatever its code started stopped: a submission that keeps the CPU busy in the background
    cannot slow the measurement down and win itself a longer budget. Afterwards all of it goes on as it was."""
    from autograder.reference import seconds_here
    from dlcourse.chapters import Chapter
    from dlcourse.pytest_plugin import StudentModule

    runner = runner_for(tmp_path, "probe", PROBE, budget=60)
    student = StudentModule(runner.module(), Chapter.from_name("ch4_6_capstone"))  # what the fixture hands a test
    try:
        assert student.detach(str(marker)) == "started" and still_touched(marker)
        worker, draws = runner.worker, student.global_draw()
        seen = []
        seconds_here(lambda: seen.append(still_touched(marker, 0.4)), student=student)
        assert seen == [False] * 3, "the timed calls ran beside the student's code"
        assert still_touched(marker), "the student's process was not resumed"
        assert runner.worker is worker and student.global_draw() != draws  # the same worker, serving calls
    finally:
        runner.close_worker()


def test_results_are_plain_data_only(probe):
    """Objects that are not plain data stay in the worker: an always-equal object cannot pass a check."""
    from dlcourse.testing import check_array

    module, _ = probe
    for fn in (module.liar, module.subclass, module.object_array):
        value = fn()
        assert type(value).__name__ == "RemoteObject", f"{fn.__name__} came back as {type(value)}"
        with pytest.raises(pytest.fail.Exception, match="expected a numpy array"):
            check_array(value, np.array([1.0, 2.0]), f"{fn.__name__}()")


def test_endless_call_is_stopped_and_next_test_gets_a_fresh_worker(tmp_path):
    runner = runner_for(tmp_path, "loop", "def spin():\n    while True:\n        pass\n\ndef ok():\n    return 1\n")
    try:
        assert runner.module().ok() == 1
        used, start = runner.used, time.monotonic()
        with pytest.raises(pytest.fail.Exception, match="time limit of 1.5 s"):
            runner.module().spin(_timeout=1.5)
        # Stopped at its own limit, not the chapter's 30 s (on a busy machine, later in wall-clock time).
        assert runner.used - used < 2.5 and time.monotonic() - start < WALL_FACTOR * 1.5 + 1
        assert runner.module().ok() == 1
    finally:
        runner.close_worker()


def test_chapter_budget_is_enforced(tmp_path):
    runner = runner_for(tmp_path, "loop", "while True:\n    pass\n", budget=2)
    start = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match="import"):
        runner.module().anything()
    with pytest.raises(pytest.fail.Exception):  # later tests fail at once, with the same reason
        runner.module().anything()
    assert runner.used < 3 and time.monotonic() - start < WALL_FACTOR * 2 + 2
    runner.close_worker()


def test_chapter_budget_counts_the_workers_time_not_the_graders(tmp_path):
    """A hidden suite's own work between calls (replaying the reference: several times longer on a slow grading
    machine) does not use up the student's chapter budget; the worker's time does."""
    runner = runner_for(tmp_path, "slow", "import time\n\ndef nap(s):\n    time.sleep(s)\n    return s\n", budget=6)
    try:
        start = time.monotonic()
        for _ in range(3):                      # 3 s of the worker's time, 8 s of the grader's between calls
            assert runner.module().nap(1.0) == 1.0
            if _ < 2:
                time.sleep(4.0)
        assert time.monotonic() - start > 11 and 3 <= runner.used < 6
        left = runner.budget - runner.used
        begin = time.monotonic()
        with pytest.raises(pytest.fail.Exception, match="time budget of 6 s is used up"):
            runner.module().nap(30.0)           # stopped when the budget's rest is used, not at once
        assert left - 0.5 < time.monotonic() - begin < left + 3
        with pytest.raises(pytest.fail.Exception, match="used up"):
            runner.module().nap(0.0)
    finally:
        runner.close_worker()


@contextlib.contextmanager
def crowded(cpu: int, pid: int, others: int = 4):
    """Process ``pid`` shares CPU ``cpu`` with ``others`` busy processes, each in a session of its own (as other
    gradings' workers are): it gets about 1 / (others + 1) of the CPU."""
    os.sched_setaffinity(pid, {cpu})
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, {cpu})) for _ in range(others)]
    try:
        yield
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


BURN = "import time\n\ndef burn(s):\n    end = time.process_time() + s\n    while time.process_time() < end:\n" \
       "        pass\n    return s\n"


def test_chapter_budget_leaves_out_the_time_other_work_holds_the_cpu(tmp_path):
    """On a crowded machine a correct submission keeps its budget: the time its worker waited for a CPU is not
    charged. Its computing still is, and the wall-clock time is capped at WALL_FACTOR budgets."""
    runner = runner_for(tmp_path, "burn", BURN, budget=1.5)
    try:
        assert runner.module().burn(0.0) == 0.0  # the worker is up
        with crowded(min(os.sched_getaffinity(0)), runner.worker.pid):
            used, start = runner.used, time.monotonic()
            assert runner.module().burn(0.5) == 0.5  # 0.5 CPU-s at a fifth of a CPU: about 2.5 s
            took, charged = time.monotonic() - start, runner.used - used
            assert took > runner.budget, f"not crowded enough to test anything: {took:.1f} s"
            assert charged < 0.8, f"charged {charged:.2f} s for 0.5 s of computing in {took:.1f} s"
            begin = time.monotonic()
            with pytest.raises(pytest.fail.Exception, match=f"{WALL_FACTOR * 1.5:g} s of wall-clock time"):
                runner.module().burn(60.0)  # an endless loop, crowded out: stopped by the wall-clock cap
            assert time.monotonic() - begin < WALL_FACTOR * 1.5 - took + 1.5
    finally:
        runner.close_worker()


def test_a_calls_time_limit_capped_on_a_crowded_machine_says_so(tmp_path):
    """A call's own time limit is charged and capped as the chapter's budget is; stopped by the cap (WALL_FACTOR
    * 0.3 s of wall-clock time at a fifth of a CPU counts about 0.2 s), the message says the machine was busy."""
    runner = runner_for(tmp_path, "burn", BURN)
    try:
        assert runner.module().burn(0.0) == 0.0  # the worker is up
        with crowded(min(os.sched_getaffinity(0)), runner.worker.pid):
            with pytest.raises(pytest.fail.Exception, match=r"time limit of 0.3 s: stopped after [\d.]+ s of "
                               r"wall-clock time, the most that limit allows on a busy machine \(0.\d s counted\)"):
                runner.module().burn(60.0, _timeout=0.3)
    finally:
        runner.close_worker()


def test_in_place_changes_are_copied_back(tmp_path):
    runner = runner_for(tmp_path, "mut", "def bump(x, d):\n    x += 1\n    d['w'] *= 2\n    return None\n")
    try:
        x, d = np.zeros(3), {"w": np.ones(2)}
        runner.module().bump(x, d)
        assert x.tolist() == [1, 1, 1] and d["w"].tolist() == [2, 2]
    finally:
        runner.close_worker()


def test_large_arrays_travel_both_ways_through_wide_pipes(tmp_path):
    """Requests and replies of several MB (a pooling test sends 8 MB each way) arrive whole, through pipes of
    ``PIPE_BYTES`` where Linux allows it: fewer hand-overs between grader and worker, each a wait for a core."""
    runner = runner_for(tmp_path, "big", "def twice(X, G):\n    return X * 2, G * 2\n")
    try:
        rng = np.random.default_rng(0)
        X, G = rng.normal(size=(32, 8, 56, 56)), rng.normal(size=(32, 8, 28, 28))
        got = runner.module().twice(X, G)
        assert np.array_equal(got[0], 2 * X) and np.array_equal(got[1], 2 * G)
        if hasattr(fcntl, "F_GETPIPE_SZ"):
            worker = runner.worker
            sizes = [fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) for fd in (worker._out, worker._in)]
            assert sizes == [launcher.PIPE_BYTES] * 2, sizes
    finally:
        runner.close_worker()


def test_student_exceptions_and_warnings_come_back(tmp_path):
    runner = runner_for(tmp_path, "exc", "import numpy as np\n"
                                         "def bad():\n    raise ValueError('shapes (2, 3) and (4,)')\n"
                                         "def warn():\n    return np.exp(np.array([1e4]))\n")
    try:
        with pytest.raises(ValueError, match=r"\(2, 3\)") as info:
            runner.module().bad()
        (file, line, function, code), = info.value.frames  # the student's frame only, as plain data
        assert (file, line, function) == ("exc.py", 3, "bad") and code.startswith("raise ValueError")
        with pytest.warns(RuntimeWarning, match="overflow"):
            runner.module().warn()
    finally:
        runner.close_worker()


def test_worker_holds_no_descriptor_but_its_own(probe):
    """A forked worker must not inherit the fork server's socket (it could ask for an unconfined worker), nor
    another worker's pipes: only its standard streams, its two pipes and the listing's own descriptor."""
    module, _ = probe
    held = module.open_files()
    assert not [h for h in held if h.startswith("socket:")], held
    assert len([h for h in held if h.startswith("pipe:")]) == 2, held
    assert len(held) <= 6, held


def test_worker_sees_only_its_own_processes(probe):
    module, _ = probe
    if NAMESPACES:
        assert module.processes() == [1], "the worker sees processes outside its PID namespace"


def test_each_worker_draws_its_own_global_random_numbers(tmp_path):
    """Forked workers share the server's memory: numpy's global generator must still differ between them, as it
    does between new interpreters."""
    draws = []
    for _ in range(2):
        runner = runner_for(tmp_path, "probe", PROBE, budget=60)
        try:
            draws.append(runner.module().global_draw())
        finally:
            runner.close_worker()
    assert draws[0] != draws[1]
