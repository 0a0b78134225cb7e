"""How long grading takes: `dlcourse grade solutions` end to end, median of several runs.

    python benchmarks/grading.py                 # all chapters
    python benchmarks/grading.py --chapters 1.1,1.2,1.3 --runs 5

Prints wall time (process start to exit, as CI sees it) and the grader's own figure (pytest + workers).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--submission", default=str(ROOT / "solutions"))
    args = parser.parse_args()
    walls, inner = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [sys.executable, "-m", "dlcourse.cli", "grade", args.submission, "--json", str(out)]
        if args.chapters:
            cmd += ["--chapters", args.chapters]
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            walls.append(time.perf_counter() - start)
            result = json.loads(out.read_text())
            inner.append(result["execution_time"])
    print(f"grading {args.submission} (chapters: {args.chapters or 'all'}), {args.runs} runs")
    print(f"  wall time   median {statistics.median(walls):6.2f} s  (min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"  grader time median {statistics.median(inner):6.2f} s")
    print(f"  score {result['score']:g} / {sum(t['max_score'] for t in result['tests']):g}")


if __name__ == "__main__":
    main()
