"""The reference solutions under many hidden-suite seeds: every chapter must score full marks under each.

    python benchmarks/seeds.py                          # seeds 0-19, all chapters
    python benchmarks/seeds.py --seeds 5 --chapters 4.2-4.6 --json benchmarks/results/seeds.json

The hidden suites draw their inputs from the seed (`dlcourse grade --seed`); a reference that fails under one
seed is a flaky test waiting for a student. Per chapter it records the score under every seed and the
slowest test (its worst time over the seeds) and the chapter's worst total against its time budget: close-to-limit timing is
where flakes come from. Exit status 1 when any chapter misses full marks under any seed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from autograder.engine import find_kit, grade
    from autograder.machine import environment
    from dlcourse.chapters import select

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 .. N-1 (default 20)")
    parser.add_argument("--chapters", default=None, help="chapter numbers or ranges (default: all)")
    parser.add_argument("--timeout", type=float, default=60.0, help="time budget per chapter, as dlcourse grade")
    parser.add_argument("--json", help="write the distribution here")
    args = parser.parse_args(argv)
    kit = find_kit(str(ROOT))
    chapters = select(kit.chapters(), args.chapters)
    per: dict[str, dict] = {c.number: {"chapter": c.name, "scores": [], "max": None, "failures": [],
                                       "slowest": {"test": None, "seconds": 0.0, "seed": None},
                                       "chapter_seconds": []} for c in chapters}
    start = time.monotonic()
    for seed in range(args.seeds):
        report = grade(kit.solutions, chapters, seed=seed, budget=args.timeout, kit=kit)
        for c in chapters:
            mine = [r for r in report.results if r.chapter == c]
            row = per[c.number]
            got, top = sum(r.score for r in mine), sum(r.max_score for r in mine)
            row["scores"].append(got)
            row["max"] = top
            row["chapter_seconds"].append(round(sum(r.seconds for r in mine), 3))
            row["failures"] += [{"seed": seed, "test": r.title, "message": r.message[:300]} for r in mine if r.failed]
            slow = max(mine, key=lambda r: r.seconds, default=None)
            if slow is not None and slow.seconds > row["slowest"]["seconds"]:
                row["slowest"] = {"test": slow.title, "seconds": round(slow.seconds, 3), "seed": seed}
        print(f"seed {seed}: {report.score:g} of {report.max_score:g} in {report.seconds:.1f} s", flush=True)
    bad = 0
    print(f"\n{'chapter':<8}{'full marks':>12}{'slowest test (worst over seeds)':>40}{'s':>8}"
          f"{'chapter s':>11}{'of budget':>11}")
    for number, row in per.items():
        full = sum(s == row["max"] for s in row["scores"])
        bad += full < len(row["scores"])
        slow = row["slowest"]
        print(f"{number:<8}{full:>5} of {len(row['scores']):<5}{(slow['test'] or '-')[:38]:>40}"
              f"{slow['seconds']:>8.2f}{max(row['chapter_seconds']):>11.2f}"
              f"{100 * max(row['chapter_seconds']) / args.timeout:>10.1f}%")
        for f in row["failures"][:3]:
            print(f"    seed {f['seed']}: {f['test']}: {f['message'].splitlines()[0] if f['message'] else ''}")
    total = time.monotonic() - start
    print(f"\n{len(chapters)} chapters x {args.seeds} seeds in {total:.0f} s; "
          f"{'every chapter full marks under every seed' if not bad else f'{bad} chapter(s) missed full marks'}")
    if args.json:
        data = {**environment(), "seeds": list(range(args.seeds)), "budget_seconds": args.timeout,
                "seconds": round(total, 1), "chapters": per}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
