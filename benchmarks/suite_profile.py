"""Where the project's test suite spends its time: test seconds per file, the slowest tests, and how busy the
machine's CPUs were while it ran.

    python benchmarks/suite_profile.py [--json FILE] [--bin SECONDS] [-- PYTEST ARGS]

Runs ``python -m pytest -q`` (the README's test command) with pytest's timings of every test and reads
``/proc/stat`` every second meanwhile. On a machine with nothing else running, ``cpu_seconds`` is what the suite
and every process it started used, sandboxed workers and notebook kernels included (a parent's resource usage
misses the processes it never waits for). When ``busy_cores`` stays at the core count, the suite is bound by its
CPU work: reordering or more parallelism cannot shorten it, only less work can. Test seconds of different files
overlap under pytest-xdist, and a test's seconds include the waits for a CPU other tests caused.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from autograder.machine import cpu_ticks, environment

ROOT = Path(__file__).resolve().parents[1]

DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)")


def cpu_reading() -> float | None:
    """CPU seconds the whole machine has computed since boot (``cpu_ticks``' busy ticks); None where it cannot be
    read."""
    ticks = cpu_ticks()
    return None if ticks is None else ticks[0] / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Reads the machine's busy CPU seconds every ``period`` seconds until stopped: ``samples`` of
    ``(seconds since start, busy CPU seconds since start)``."""

    def __init__(self, period: float = 1.0):
        super().__init__(daemon=True)
        self.period, self.stop = period, threading.Event()
        self.start_time, self.first = time.monotonic(), cpu_reading()
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        while not self.stop.wait(self.period):
            self.take()

    def take(self) -> None:
        now = cpu_reading()
        if now is not None and self.first is not None:
            self.samples.append((time.monotonic() - self.start_time, now - self.first))


def busy_cores(samples: list[tuple[float, float]], width: float) -> list[dict]:
    """Mean busy cores over consecutive bins of about ``width`` seconds. A tail shorter than half a bin joins the
    bin before it: ``/proc/stat`` counts in 10 ms ticks per core, so a bin of a few hundredths of a second would
    read well past the core count."""
    edges = [(0.0, 0.0)]  # (seconds, CPU seconds) where each bin starts and the last one ends
    for t, c in samples:
        if t - edges[-1][0] >= width:
            edges.append((t, c))
    if samples and samples[-1] != edges[-1]:
        t, c = samples[-1]
        if len(edges) > 1 and t - edges[-1][0] < width / 2:
            edges[-1] = (t, c)
        elif t > edges[-1][0]:
            edges.append((t, c))
    return [{"from_s": round(a, 1), "to_s": round(b, 1), "busy_cores": round((d - c) / (b - a), 2)}
            for (a, c), (b, d) in zip(edges, edges[1:])]


def parse_durations(output: str) -> tuple[dict[str, float], list[dict]]:
    """Test seconds per file, and every timed phase ``{"seconds", "phase", "test"}`` (slowest first)."""
    per_file: dict[str, float] = defaultdict(float)
    phases = []
    for line in output.splitlines():
        m = DURATION.match(line.strip())
        if m:
            seconds, phase, test = float(m.group(1)), m.group(2), m.group(3)
            per_file[test.split("::", 1)[0]] += seconds
            phases.append({"seconds": seconds, "phase": phase, "test": test})
    phases.sort(key=lambda p: -p["seconds"])
    return dict(sorted(per_file.items(), key=lambda kv: -kv[1])), phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--bin", type=float, default=30.0, help="seconds per bin of the busy-cores timeline")
    parser.add_argument("pytest_args", nargs="*", help="after --: more arguments for pytest")
    args = parser.parse_args()
    sampler = Sampler()
    sampler.start()
    start = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-q", "--durations=0", "--durations-min=0", *args.pytest_args]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    sampler.stop.set()
    sampler.join()
    sampler.take()
    per_file, phases = parse_durations(proc.stdout)
    summary = next((line for line in reversed(proc.stdout.splitlines()) if re.search(r"\d+ (passed|failed)", line)),
                   "")
    # Busy cores over the sampler's own span: its first reading comes before pytest starts, so dividing by
    # ``wall`` would count a little more CPU than that time holds.
    span, cpu = sampler.samples[-1] if sampler.samples else (wall, None)
    result = {**environment(("numpy", "pytest", "pytest-xdist")), "command": ["pytest", "-q", *args.pytest_args],
              "exit_status": proc.returncode, "summary": summary.strip("= "), "wall_seconds": round(wall, 1),
              "cpu_seconds": None if cpu is None else round(cpu, 1),
              "mean_busy_cores": None if cpu is None else round(cpu / span, 2),
              "busy_cores": busy_cores(sampler.samples, args.bin),
              "test_seconds_per_file": {k: round(v, 2) for k, v in per_file.items()},
              "slowest": phases[:20]}
    print(f"{result['summary']}: {wall:.0f} s wall" + ("" if cpu is None else
          f", {cpu:.0f} CPU-s on this machine ({cpu / span:.2f} of {os.cpu_count()} cores busy on average)"))
    for name, seconds in list(per_file.items())[:12]:
        print(f"  {seconds:7.1f} s  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
