"""Combine reports of `dlcourse mutants --json` made in pieces (a chapter or a few at a time) into one summary.

A full run over every chapter takes hours on 2 cores, so it is made chapter by chapter, and a chapter is run
again after its suite changes. Given the reports in the order they were made, each chapter is taken from the
LAST report that holds it; a report graded with --max or --survivors is refused for a chapter (not a full run)
unless --allow-partial names that chapter, and it is then marked ``"full_run": false``. The summary keeps
per chapter the counts, the score, the time, the command and date of its run, and the survivors with their
diffs; the per-mutant lists stay in the reports.

    python benchmarks/mutants_summary.py /tmp/mut/1.1.json ... --json benchmarks/results/mutants.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEEP = ("available", "excluded", "total", "killed", "incompetent", "timeouts", "not_graded", "score", "seconds",
        "budget_seconds", "seconds_per_mutant", "reference", "warnings")


def summarise(paths: list[Path], allow_partial: set[str]) -> dict:
    chapters: dict[str, dict] = {}
    runs = []
    for path in paths:
        report = json.loads(path.read_text())
        runs.append({"file": path.name, "date": report["date"], "command": report["command"],
                     "seconds": report["seconds"], "jobs": report["jobs"]})
        for number, ch in report["chapters"].items():
            if ch.get("error"):
                raise SystemExit(f"{path}: chapter {number} was not tested: {ch['error']}")
            full = ch["total"] == ch["available"]
            if not full and number not in allow_partial:
                continue
            entry = {key: ch[key] for key in KEEP if key in ch}
            entry.update(chapter=ch["chapter"], full_run=full, run=path.name, date=report["date"],
                         command=report["command"],
                         equivalent=[{"id": m["id"], "reason": m.get("equivalent_reason", "")}
                                     for m in ch["equivalent"]],
                         survived=[{"id": m["id"], "diff": m.get("diff", "")} for m in ch["survived"]])
            chapters[number] = entry
    order = sorted(chapters, key=lambda n: tuple(int(p) for p in n.split(".")))
    graded = sum(c["total"] - len(c["equivalent"]) - len(c["not_graded"]) for c in chapters.values())
    killed = sum(c["killed"] for c in chapters.values())
    first = json.loads(paths[0].read_text())
    return {"machine": first["machine"], "versions": first["versions"], "engine": first["engine"],
            "seed": first["seed"], "runs": runs,
            "summary": {"chapters": len(order), "total": sum(c["total"] for c in chapters.values()),
                        "killed": killed, "equivalent": sum(len(c["equivalent"]) for c in chapters.values()),
                        "survived": sum(len(c["survived"]) for c in chapters.values()),
                        "score": killed / graded if graded else None,
                        "seconds": round(sum(c["seconds"] for c in chapters.values()), 1),
                        "below_95": [n for n in order if (chapters[n]["score"] or 0) < 0.95],
                        "partial": [n for n in order if not chapters[n]["full_run"]]},
            "chapters": {n: chapters[n] for n in order}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="reports of `dlcourse mutants --json`, oldest first")
    parser.add_argument("--json", type=Path, required=True, help="where to write the summary")
    parser.add_argument("--allow-partial", default="", help="chapters (comma-separated) whose latest run may be "
                                                           "a --max or --survivors run")
    args = parser.parse_args(argv)
    data = summarise(args.reports, {c for c in args.allow_partial.split(",") if c})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    for number, ch in data["chapters"].items():
        score = "-" if ch["score"] is None else f"{100 * ch['score']:.1f}%"
        print(f"{number:<5}{ch['killed']:>5}/{ch['total']:<5} equiv {len(ch['equivalent']):>2}  survived "
              f"{len(ch['survived']):>3}  {score:>7}  {ch['seconds']:>6.0f}s  {'' if ch['full_run'] else 'PARTIAL'}")
    s = data["summary"]
    print(f"all  {s['killed']:>5}/{s['total']:<5} equiv {s['equivalent']:>2}  survived {s['survived']:>3}  "
          f"{100 * s['score']:.1f}%  below 95%: {', '.join(s['below_95']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
