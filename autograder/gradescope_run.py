"""Inside a Gradescope autograder: grade ``$ROOT/submission`` into ``$ROOT/results/results.json``.

``run_autograder`` (from the bundle ``dlcourse gradescope`` builds) calls ``python -m autograder.gradescope_run
--root /autograder``. The bundle's ``config.json`` says which chapters, seed, time budget and visibility; its
``kit/`` holds the suites and reference modules. Whatever the upload holds (modules, notebooks, a release
folder, a zip, nothing usable, code that never ends), a results.json is written that says what happened: a
provisional one before grading starts, replaced by the scores when grading ends.

``--self-test`` (run by ``setup.sh`` while Gradescope builds the image) grades the kit's reference solutions
and exits 1 unless they score full marks, so a broken image fails its build rather than its students.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from dlcourse.chapters import Chapter

from .engine import grade
from .kit import Kit
from .results import gradescope_json, scorecard, write_json
from .upload import map_upload


def load_config(source: Path) -> dict:
    return json.loads((source / "config.json").read_text())


def _failure(message: str, seconds: float) -> dict:
    return {"score": 0.0, "execution_time": round(seconds, 2), "output": message, "stdout_visibility": "hidden",
            "tests": []}


def run(root: Path) -> dict:
    """Grade the upload; the results written (also when grading broke)."""
    start = time.monotonic()
    results = root / "results" / "results.json"
    write_json(_failure("Grading started but did not finish (the autograder's own time limit?). Please tell "
                        "your instructor.", 0.0), results)
    try:
        source = root / "source"
        config = load_config(source)
        kit = Kit(source / "kit")
        chapters = [Chapter.from_name(name) for name in config["chapters"]]
        with tempfile.TemporaryDirectory(prefix="dlcourse-upload-") as tmp:
            mapped = map_upload(root / "submission", chapters, Path(tmp) / "submission")
            print("\n".join(mapped.notes))
            report = grade(mapped.folder, chapters, seed=config["seed"], budget=config["timeout"], kit=kit)
        print(scorecard(report))
        data = gradescope_json(report, hidden_visibility=config["hidden_visibility"],
                               hidden_total=config["hidden_total"], notes=mapped.notes)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the student gets a results.json saying so
        print(f"grading failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        data = _failure(f"The autograder could not grade this submission ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}). Please tell your instructor.",
                        time.monotonic() - start)
    write_json(data, results)
    return data


def self_test(root: Path) -> int:
    """Grade the bundle's reference solutions; 0 when they score full marks."""
    source = root / "source"
    config = load_config(source)
    kit = Kit(source / "kit")
    chapters = [Chapter.from_name(name) for name in config["chapters"]]
    report = grade(kit.solutions, chapters, seed=config["seed"], budget=config["timeout"], kit=kit)
    print(scorecard(report))
    if report.score < report.max_score:
        print("self-test FAILED: the reference solutions do not score full marks in this image", file=sys.stderr)
        return 1
    print(f"self-test passed: {report.score:g} of {report.max_score:g} points in {report.seconds:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope_run")
    parser.add_argument("--root", default="/autograder", help="Gradescope's root folder (default /autograder)")
    parser.add_argument("--self-test", action="store_true", help="grade the reference solutions instead")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.self_test:
        return self_test(root)
    run(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
