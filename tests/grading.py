"""Helpers for the project's tests of the grader: run `dlcourse grade` and read its results.json."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_grade(submission: Path, tmp_path: Path, *args: str, timeout: float = 900,
              cpus: set[int] | None = None) -> tuple[dict, subprocess.CompletedProcess]:
    """Grade through the real command line; returns (results.json, the finished process). ``cpus``: the CPUs the
    grading (and every process it starts) may run on, all by default."""
    out = tmp_path / f"results-{len(list(tmp_path.glob('results-*.json')))}.json"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "grade", str(submission), "--json", str(out), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    assert proc.returncode == 0, f"grading failed to run:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text()), proc


def without_torch(tmp_path: Path) -> dict[str, str]:
    """An environment for subprocesses in which PyTorch is not installed, as far as Python can tell: a
    ``sitecustomize`` on PYTHONPATH marks it missing, so ``import torch`` raises ModuleNotFoundError and
    ``importlib.util.find_spec("torch")`` is None (what 5.2's suites check)."""
    folder = tmp_path / "notorch"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text('import sys\nsys.modules["torch"] = None  # hidden by a test\n')
    return dict(os.environ, PYTHONPATH=str(folder))


def per_chapter(results: dict) -> dict[str, tuple[float, float]]:
    """{"1.3": (score, max)} summed from test names, as any reader of results.json can."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t in results["tests"]:
        chapter = t["name"].split(" ", 1)[0]
        sums[chapter][0] += t["score"]
        sums[chapter][1] += t["max_score"]
    return {k: (v[0], v[1]) for k, v in sums.items()}


def outputs(results: dict, chapter: str) -> str:
    return "\n".join(t["output"] for t in results["tests"] if t["name"].startswith(chapter + " "))


def stub_out(module: Path, function: str) -> None:
    """Turn a solved function back into a stub: the body after its docstring is `raise NotImplementedError()`."""
    text = module.read_text()
    start = text.index(f"def {function}(")
    doc_end = text.index('"""', text.index('"""', start) + 3) + 3
    end = text.find("\ndef ", start)
    rest = text[end:] if end >= 0 else ""
    module.write_text(text[:doc_end] + "\n    raise NotImplementedError()\n\n" + rest)
