"""How long grading takes: a whole class, one submission, and where each chapter's fixed cost goes.

    python benchmarks/grading.py --students 100 --json benchmarks/results/grading-class.json
    python benchmarks/grading.py --one --runs 3          # `dlcourse grade solutions`, end to end
    python benchmarks/grading.py --profile --json benchmarks/results/grading-profile.json

``--students N`` builds N submissions, a mix a class hands in: 40% the reference solutions, 20% the release's
untouched stubs, 40% a copy of the reference with one realistic mistake per chapter (the planted bugs of
tests/planted, their batches in turn), and grades them with ``dlcourse gradebook --jobs auto`` in a fresh
process. It reports the wall time and the machine's CPU use over the run from ``/proc/stat`` (the sandboxed
workers run in namespaces of their own, where ``getrusage`` of the children misses them): utilisation is the
busy share of the cores' time, and steal the share a virtual machine's host took.

``--profile`` splits each chapter's grading of the reference into its fixed costs, measured in one warm
process (imports done): collecting its suites (a pytest session with ``--collect-only``), starting and stopping
its sandboxed worker, and the tests themselves (the rest of a whole grading); plus the start of a grading
process (``python -c 'import autograder.engine, pytest, numpy'``), paid once per pool process.

Benchmark with this machine's BLAS settings unset (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``), as on a
user's machine: the JSON records the kernel in use.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _cpu_ticks() -> tuple[int, int, int]:
    from autograder.machine import cpu_ticks

    ticks = cpu_ticks()
    if ticks is None:
        raise SystemExit("the class benchmark reads the machine's CPU time from /proc/stat (Linux), not found here")
    return ticks


def build_class(folder: Path, n: int) -> dict[str, str]:
    """``n`` submissions in ``folder``; returns student -> kind."""
    from tests.planted import all_bugs, batches, make_submission

    kinds = {}
    planted = batches(all_bugs())
    for i in range(n):
        name = f"student{i:03d}"
        slot = i % 5
        if slot in (0, 2):
            shutil.copytree(ROOT / "solutions", folder / name, ignore=shutil.ignore_patterns("*.ipynb"))
            kinds[name] = "reference"
        elif slot == 4:
            shutil.copytree(ROOT / "exercises", folder / name, ignore=shutil.ignore_patterns("*.ipynb"))
            kinds[name] = "stubs"
        else:
            batch = planted[(i // 5 * 2 + (slot == 3)) % len(planted)]
            make_submission(ROOT / "solutions", folder / name, batch)
            for nb in (folder / name).rglob("*.ipynb"):
                nb.unlink()
            kinds[name] = f"planted bugs (batch of {len(batch)})"
    return kinds


def bench_class(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "gradebook"
        kinds = build_class(subs, n)
        cmd = [sys.executable, "-m", "dlcourse.cli", "gradebook", str(subs), "--out", str(out), "--jobs", "auto"]
        before, start = _cpu_ticks(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        busy, steal, total = (b - a for a, b in zip(before, _cpu_ticks()))
        if proc.returncode != 0:
            raise SystemExit(f"the gradebook failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        rows = (out / "gradebook.csv").read_text().splitlines()[1:]
    counts: dict[str, int] = {}
    for kind in kinds.values():
        counts[kind.split(" (")[0]] = counts.get(kind.split(" (")[0], 0) + 1
    from autograder.gradebook import resolve_jobs

    hz = os.sysconf("SC_CLK_TCK")
    return {"students": n, "mix": counts, "graded_rows": len(rows), "wall_seconds": round(wall, 1),
            "cpu_seconds": round(busy / hz, 1), "cores": resolve_jobs("auto"), "cpu_utilisation": round(busy / total, 3),
            "steal": round(steal / total, 3), "seconds_per_student": round(wall / n, 2),
            "command": " ".join(cmd[2:4] + cmd[5:])}


def bench_one(runs: int, chapters: str | None) -> dict:
    walls, inner = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [sys.executable, "-m", "dlcourse.cli", "grade", str(ROOT / "solutions"), "--json", str(out)]
        if chapters:
            cmd += ["--chapters", chapters]
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            walls.append(time.perf_counter() - start)
            inner.append(json.loads(out.read_text())["execution_time"])
    return {"runs": runs, "chapters": chapters or "all", "wall_seconds": [round(w, 2) for w in walls],
            "wall_median": round(statistics.median(walls), 2), "grader_seconds_median": round(statistics.median(inner), 2)}


def bench_profile() -> dict:
    from autograder.engine import find_kit, grade, submission_files
    from autograder.sandbox.proxy import ChapterRunner
    from dlcourse.testrun import Collector, run

    kit = find_kit(str(ROOT))
    starts = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import autograder.engine, pytest, numpy"], check=True)
        starts.append(time.perf_counter() - start)
    grade(kit.solutions, kit.chapters()[:1], kit=kit)  # warm: the imports a pool process has made once
    chapters = {}
    for chapter in kit.chapters():
        start = time.perf_counter()
        report = grade(kit.solutions, [chapter], kit=kit)
        total = time.perf_counter() - start
        start = time.perf_counter()
        run(kit.suites(chapter), [Collector(kit.hidden)], rootdir=kit.root, extra=("--collect-only",))
        collect = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as scratch:
            files, _ = submission_files(kit.solutions, chapter, kit, Path(scratch))
            runner = ChapterRunner(chapter.module, files, [kit.root], 60.0, chapter=chapter)
            start = time.perf_counter()
            runner._ensure()  # starts the worker (the sandbox, numpy, the chapter's module), as a first test does
            runner.close_worker()
            worker = time.perf_counter() - start
        chapters[chapter.number] = {"total": round(total, 3), "collect": round(collect, 3),
                                    "worker_start": round(worker, 3),
                                    "tests": round(max(0.0, total - collect - worker), 3),
                                    "score": f"{report.score:g}/{report.max_score:g}"}
    fixed = sum(c["collect"] + c["worker_start"] for c in chapters.values())
    return {"process_start_median": round(statistics.median(starts), 3), "chapters": chapters,
            "fixed_seconds_all_chapters": round(fixed, 2),
            "tests_seconds_all_chapters": round(sum(c["tests"] for c in chapters.values()), 2)}


def main() -> None:
    from autograder.machine import environment

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, help="grade a class of this many submissions")
    parser.add_argument("--one", action="store_true", help="time `dlcourse grade solutions`, end to end")
    parser.add_argument("--profile", action="store_true", help="each chapter's fixed costs")
    parser.add_argument("--chapters", default=None, help="with --one: the chapters (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="with --one: runs (default 3)")
    parser.add_argument("--json", help="write the figures here (with date, machine, versions, BLAS)")
    args = parser.parse_args()
    if not (args.students or args.one or args.profile):
        parser.error("say what to measure: --students N, --one or --profile")
    data = environment(("numpy", "pytest", "dlcourse", "dlcourse-grader"))
    if args.students:
        data["class"] = found = bench_class(args.students)
        print(f"{found['students']} submissions {found['mix']}: {found['wall_seconds']:.0f} s wall "
              f"({found['seconds_per_student']:.1f} s per student), CPU {found['cpu_seconds']:.0f} s, "
              f"utilisation {100 * found['cpu_utilisation']:.0f}% of {found['cores']} cores (steal "
              f"{100 * found['steal']:.0f}%)")
    if args.one:
        data["one_submission"] = found = bench_one(args.runs, args.chapters)
        print(f"dlcourse grade solutions ({found['chapters']}): median {found['wall_median']:.1f} s wall, "
              f"runs {found['wall_seconds']}")
    if args.profile:
        data["profile"] = found = bench_profile()
        print(f"grading process start (imports): {found['process_start_median']:.2f} s")
        print(f"{'chapter':<8}{'total':>8}{'collect':>9}{'worker':>8}{'tests':>8}")
        for number, c in found["chapters"].items():
            print(f"{number:<8}{c['total']:>8.2f}{c['collect']:>9.2f}{c['worker_start']:>8.2f}{c['tests']:>8.2f}")
        print(f"fixed (collect + worker) over all chapters {found['fixed_seconds_all_chapters']:.1f} s, "
              f"tests {found['tests_seconds_all_chapters']:.1f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
