"""The fork server that starts sandboxed workers (autograder.sandbox.launcher._ForkServer): what it preloads, that
a dead one is replaced, and the switch back to a new interpreter per worker. Containment itself is checked in
test_sandbox.py, in both modes."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.sandbox import launcher
from autograder.sandbox.proxy import ChapterRunner

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None

MODULE = textwrap.dedent('''
    import os, sys

    def preloaded():
        return sorted(m for m in ("torch",) if m in sys.modules)

    def uses_torch():
        import torch
        return int(torch.ones(3).sum())
''')


@pytest.fixture
def forked(monkeypatch):
    monkeypatch.setattr(launcher, "FORK_SERVER", True)


def _runner(tmp_path, source):
    folder = tmp_path / "submission"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mod.py").write_text(source)
    return ChapterRunner("mod", {"mod.py": folder / "mod.py"}, [ROOT], budget=120)


def test_torch_is_preloaded_only_for_workers_whose_files_import_it(tmp_path, forked):
    runner = _runner(tmp_path, MODULE)
    try:
        assert runner.module().preloaded() == (["torch"] if HAS_TORCH else [])
        if HAS_TORCH:
            assert runner.module().uses_torch() == 3
    finally:
        runner.close_worker()
    plain = _runner(tmp_path, MODULE.replace("import torch", "pass  # no torch here"))
    try:
        assert plain.module().preloaded() == [], "a worker that never imports torch got a server holding it"
    finally:
        plain.close_worker()


def test_a_dead_fork_server_is_replaced(tmp_path, forked):
    source = "def pid():\n    import os\n    return os.getpid()\n"
    runner = _runner(tmp_path, source)
    try:
        runner.module().pid()
    finally:
        runner.close_worker()
    servers = [s for (owner, _), s in launcher._SERVERS.items() if owner == os.getpid() and s is not None]
    assert servers, "no fork server was started"
    for server in servers:
        server.proc.kill()
        server.proc.wait()
    runner = _runner(tmp_path, source)
    try:
        assert isinstance(runner.module().pid(), int)  # a new server (or a new interpreter) started it
    finally:
        runner.close_worker()
    server = launcher._SERVERS[(os.getpid(), ())]
    assert server is not None and server not in servers and server.proc.poll() is None


def test_the_switch_to_a_new_interpreter_per_worker():
    code = "import autograder.sandbox.launcher as l; print(l.FORK_SERVER)"
    env = {**os.environ, "DLCOURSE_FORK_SERVER": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    env["DLCOURSE_FORK_SERVER"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_workers_started_from_several_threads_are_each_their_own(tmp_path, forked):
    """A Dask worker may grade on several threads of one process: each thread's worker must be the one its
    handle kills, so stopping one leaves the others answering."""
    from concurrent.futures import ThreadPoolExecutor

    runners = [_runner(tmp_path / str(i), f"def who():\n    return {i}\n") for i in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(lambda r: r.module().who(), runners)) == [0, 1, 2, 3]
        workers = [r.worker for r in runners]
        for i, runner in enumerate(runners):
            runner.close_worker()
            for j in range(i + 1, 4):  # alive, and the same worker (a dead one would be replaced unseen)
                assert runners[j].worker is workers[j] and workers[j].proc.poll() is None, (i, j)
                assert runners[j].module().who() == j
    finally:
        for runner in runners:
            runner.close_worker()
