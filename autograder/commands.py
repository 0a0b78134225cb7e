"""The grader's subcommands of ``dlcourse`` (registered through the ``dlcourse.commands`` entry point).

build, grade, gradebook, release, gradescope, bench, mutants. Each returns an exit status; an error a person
can fix (a missing path, not a submission, an unknown chapter, no kit) is one line on stderr, never a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

from dlcourse.chapters import ChapterError, select
from dlcourse.cli import error, use_data_dir

from .sandbox.budget import WALL_FACTOR

KIT_HELP = "the kit folder (default: $DLCOURSE_KIT, this checkout, or the current folder)"
DATA_HELP = "folder with the MNIST IDX files (default: $DLCOURSE_MNIST_DIR, the user cache, the package's copy)"
# What --timeout bounds: the time waiting on the student's worker, not the grader's own checks (sandbox/proxy.py),
# nor the worker's waits for a CPU that other work holds (sandbox/budget.py).
TIMEOUT_HELP = ("seconds the submission's code may run per chapter, time the machine spends on other work left "
                f"out; at most {WALL_FACTOR:g} times that in wall-clock time (default 60)")


def _guarded(args, run) -> int:
    """``run()`` with ``--data-dir`` applied; a grading error, a chapter error or a missing kit is one line."""
    from .engine import GradingError
    from .kit import KitError

    use_data_dir(getattr(args, "data_dir", None))
    try:
        return run()
    except (GradingError, ChapterError, KitError) as exc:
        return error(str(exc))


def cmd_build(args) -> int:
    from .build import BuildError, build, check
    from .kit import Kit, KitError

    try:
        root = Path(args.root).resolve() if args.root else Kit.find().root  # a new kit has no solutions/ yet
        if args.check:
            problems = check(root)
            if problems:
                print("exercises/ and solutions/ are stale; run `dlcourse build` and commit:", file=sys.stderr)
                print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
                return 1
            print("exercises/ and solutions/ match source/")
            return 0
        written = build(root)
    except (BuildError, KitError) as exc:
        return error(str(exc))
    except ModuleNotFoundError as exc:
        return error(f"{exc}; the build needs the instructor tools: pip install -e '.[instructor]'")
    print(f"exercises/ and solutions/ rebuilt from source/ ({len(written)} files changed)")
    return 0


def cmd_grade(args) -> int:
    def run() -> int:
        from .engine import find_chapters, find_kit
        from .gradebook import resolve_jobs
        from .pool import grade_all_cores
        from .results import gradescope_json, scorecard, write_json

        kit = find_kit(args.kit)
        submission = Path(args.path)
        chapters = select(find_chapters(submission, kit), args.chapters)
        report = grade_all_cores(submission, chapters, jobs=resolve_jobs(args.jobs), seed=args.seed,
                                 budget=args.timeout, kit=kit)
        print(scorecard(report))
        if args.json:
            write_json(gradescope_json(report), Path(args.json))
            print(f"results written to {args.json}")
        return 1 if args.strict and report.score < report.max_score else 0

    return _guarded(args, run)


def cmd_gradebook(args) -> int:
    def run() -> int:
        from .engine import GradingError, find_kit
        from .gradebook import grade_all

        kit = find_kit(args.kit)
        chapters = select(kit.chapters(), args.chapters)
        if args.canvas and not args.roster:
            raise GradingError("--canvas needs --roster ROSTER.csv (the students' names and Canvas IDs)")
        regrade = True if args.regrade_all else {s.strip() for s in (args.regrade or "").split(",") if s.strip()}
        out = Path(args.out)
        done = grade_all(Path(args.submissions), chapters, out, seed=args.seed, budget=args.timeout,
                         jobs=args.jobs, kit=kit, before=args.before, regrade=regrade,
                         seed_per_student=args.seed_per_student, scheduler=args.scheduler)
        rows = done.rows
        failed = [r.student for r in rows if r.total is None]
        if args.canvas:
            from .lms import canvas_csv

            for line in canvas_csv(rows, chapters, Path(args.roster), Path(args.canvas), args.canvas_assignment,
                                   args.canvas_points):
                print(line, file=sys.stderr)
        if args.stats:
            from .class_stats import write_stats

            write_stats(out, rows, chapters)
        kept = f" ({len(done.skipped)} kept from an earlier run)" if done.skipped else ""
        print(f"{len(rows) - len(failed)} of {len(rows)} submissions graded{kept} into {out / 'gradebook.csv'}"
              + (f"; not graded (see the status column): {', '.join(failed)}" if failed else ""))
        if done.interrupted:
            print("interrupted: what was graded is written; run the same command again to grade the rest",
                  file=sys.stderr)
            return 130
        return 0

    return _guarded(args, run)


def cmd_release(args) -> int:
    def run() -> int:
        from .engine import find_kit
        from .release import ReleaseError, commit, release

        kit = find_kit(args.kit)
        chapters = select(kit.chapters(), args.chapters)
        try:
            done = release(Path(args.out), chapters, kit)
            sha = commit(done, args.message) if args.commit else None
        except ReleaseError as exc:
            return error(str(exc))
        added = ", ".join(c.number for c in done.added) or "none"
        print(f"release in {done.out}: chapters added {added}")
        if done.kept:
            print(f"  already there, left as they are (the student's work): {', '.join(c.number for c in done.kept)}")
        print("  course files refreshed: README.md, pyproject.toml, dlcourse/, .github/workflows/, .gitignore")
        if sha:
            print(f"  committed as {sha[:10]}")
        return 0

    return _guarded(args, run)


def cmd_gradescope(args) -> int:
    def run() -> int:
        import secrets

        from .engine import find_kit
        from .gradescope import BundleError, build_bundle, image_needs

        kit = find_kit(args.kit)
        chapters = select(kit.chapters(), args.chapters)
        if args.chapters is None:  # all chapters: those the image cannot grade are left out, and said so
            left_out = [c for c in chapters if image_needs(kit, c)]
            chapters = [c for c in chapters if c not in left_out]
            for c in left_out:
                print(f"chapter {c.number} left out: it needs {', '.join(image_needs(kit, c))}, which the bundle "
                      "does not install; grade it with `dlcourse grade`")
        seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
        try:
            bundle = build_bundle(Path(args.out), chapters, kit, seed=seed, timeout=args.timeout,
                                  hidden_visibility=args.hidden_visibility, hidden_total=args.show_hidden_total,
                                  python_version=args.python_version, platform_tag=args.platform,
                                  find_links=Path(args.find_links) if args.find_links else None)
        except BundleError as exc:
            return error(str(exc))
        print(f"{bundle.path}: {bundle.size / 2**20:.1f} MB, chapters {', '.join(c.number for c in bundle.chapters)}, "
              f"seed {bundle.seed}, {len(bundle.wheels)} wheels")
        least = len(bundle.chapters) * args.timeout / 60
        print("upload it on Gradescope (Configure Autograder, zip file upload); set the autograder timeout to at "
              f"least {least:.0f} min ({args.timeout:g} s per chapter); up to {WALL_FACTOR * least:.0f} min lets a "
              f"busy grading machine finish too (a chapter may take {WALL_FACTOR:g} times its budget in wall-clock "
              "time there)")
        return 0

    return _guarded(args, run)


def cmd_bench(args) -> int:
    from dlcourse.mnist import MnistError

    from . import bench

    use_data_dir(args.data_dir)
    try:
        results = bench.run(args.only, runs=args.runs)
    except MnistError as exc:
        return error(str(exc).splitlines()[0] + " (see `dlcourse data`)")
    print(bench.table(results))
    if args.json:
        bench.write_json(results, args.json)
        print(f"written to {args.json}")
    return 0


def cmd_mutants(args) -> int:
    def run() -> int:
        import os
        import time

        from .engine import find_kit
        from .results import write_json

        if args.max is not None and args.max < 1:
            return error(f"--max must be at least 1, not {args.max}")
        if args.jobs is not None and args.jobs < 1:
            return error(f"--jobs must be at least 1, not {args.jobs}")
        try:
            import cosmic_ray.plugins  # noqa: F401 - the mutation engine, an instructor (dev) dependency
        except ModuleNotFoundError as exc:
            return error(f"{exc}; `dlcourse mutants` needs cosmic-ray: pip install -e '.[dev]'")
        from .mutants import report
        from .mutants.run import run as mutation_test

        kit = find_kit(args.kit)
        chapters = select(kit.chapters(), args.chapters)
        only = None
        if args.survivors:
            import json

            from .mutants.run import survivors_of
            try:
                only = survivors_of(json.loads(Path(args.survivors).read_text()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                return error(f"--survivors {args.survivors}: not a report written by `dlcourse mutants --json` "
                             f"({type(exc).__name__}: {exc})")
            chapters = [c for c in chapters if c.number in only]
        jobs = args.jobs or os.cpu_count() or 1
        start = time.monotonic()
        results = mutation_test(kit, chapters, limit=args.max, jobs=jobs, seed=args.seed, budget=args.timeout,
                                only=only)
        seconds = time.monotonic() - start
        print(report.table(results, seconds))
        for block in (report.survivors(results), report.warnings(results)):
            if block:
                print("\n" + block)
        if args.json:
            write_json(report.to_json(results, seconds=seconds, seed=args.seed, limit=args.max, jobs=jobs,
                                      argv=sys.argv[1:]), Path(args.json))
            print(f"\nwritten to {args.json}")
        return 1 if any(r.error for r in results) else 0

    return _guarded(args, run)


def register(sub) -> None:
    """Add the grader's subcommands to ``dlcourse``'s subparsers."""
    p = sub.add_parser("build", help="regenerate exercises/ and solutions/ from source/")
    p.add_argument("--check", action="store_true", help="only verify that the committed trees are up to date")
    p.add_argument("--root", "--kit", dest="root", help="the kit folder holding source/ (default: this checkout)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("grade", help="grade a submission (a folder shaped like a release)")
    p.add_argument("path", help="the submission folder")
    p.add_argument("--chapters", help="chapter numbers or ranges, e.g. 1.1,1.3 or 1.1-2.4 (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden suites' random inputs (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write Gradescope's results.json to FILE")
    p.add_argument("--timeout", type=float, default=60.0, help=TIMEOUT_HELP)
    p.add_argument("--jobs", default="auto", help="chapters graded at the same time (default auto: one per core)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when the submission scores below full marks (default: 0 whenever grading completed)")
    p.add_argument("--kit", help=KIT_HELP)
    p.add_argument("--data-dir", help=DATA_HELP)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("gradebook", help="grade a folder of submissions or student repositories into a gradebook")
    p.add_argument("submissions", help="a folder holding one submission folder (or cloned repository) per student")
    p.add_argument("--out", default="gradebook",
                   help="where to write gradebook.csv and each student's results.json and feedback.md "
                        "(default: ./gradebook)")
    p.add_argument("--before", metavar="DATE",
                   help="grade each git repository at its last commit before DATE (ISO 8601, e.g. "
                        "2026-12-01T23:59:00+01:00; default: the latest commit)")
    p.add_argument("--chapters", help="chapter numbers or ranges, e.g. 1.1,1.3 or 1.1-2.4 (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden suites' random inputs (default 0)")
    p.add_argument("--timeout", type=float, default=60.0, help=TIMEOUT_HELP)
    p.add_argument("--jobs", default="auto",
                   help="submissions graded at the same time on this machine (default auto: one per core)")
    p.add_argument("--regrade", metavar="STUDENT,...",
                   help="grade these students again even if the gradebook holds their grade of the same files")
    p.add_argument("--regrade-all", action="store_true", help="grade every student again")
    p.add_argument("--seed-per-student", action="store_true",
                   help="a seed of its own per student, derived from --seed and the folder name (recorded in "
                        "results.json, so a regrade reproduces it)")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="grade on a Dask cluster: the scheduler's address (needs dlcourse-grader[cluster])")
    p.add_argument("--roster", metavar="ROSTER.csv",
                   help="the class list for --canvas: Student, ID, SIS User ID, SIS Login ID, Section (Canvas's own "
                        "gradebook export will do), and a 'folder' column where the submission folder names differ "
                        "from the SIS Login IDs")
    p.add_argument("--canvas", metavar="OUT.csv", help="write Canvas's gradebook-import CSV")
    p.add_argument("--canvas-assignment", default="dlcourse", metavar="NAME",
                   help="the assignment column's name in the Canvas CSV (default dlcourse)")
    p.add_argument("--canvas-points", choices=("total", "chapters"), default="total",
                   help="export the total (one column) or one column per chapter (default total)")
    p.add_argument("--stats", action="store_true",
                   help="write stats.md and stats.csv: each test's pass rate over the class, the commonest failures, "
                        "score histograms")
    p.add_argument("--kit", help=KIT_HELP)
    p.add_argument("--data-dir", help=DATA_HELP)
    p.set_defaults(func=cmd_gradebook)

    p = sub.add_parser("release", help="write (or extend) the repository students receive")
    p.add_argument("out", help="the folder to write: new, empty, or an earlier release to add chapters to")
    p.add_argument("--chapters", help="chapter numbers or ranges, e.g. 1.1-2.4 (default: all)")
    p.add_argument("--commit", action="store_true",
                   help="commit what was written (OUT must be a git repository: a student's clone, a template)")
    p.add_argument("--message", help="the commit message (default: 'Course release: chapters ...')")
    p.add_argument("--kit", help=KIT_HELP)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("gradescope", help="build the autograder.zip for a Gradescope programming assignment")
    p.add_argument("out", help="the zip to write, e.g. autograder.zip")
    p.add_argument("--chapters", help="chapter numbers or ranges graded by this assignment (default: all)")
    p.add_argument("--seed", type=int, help="seed of the hidden suites' random inputs (default: a random one, "
                                            "recorded in the zip's config.json)")
    p.add_argument("--timeout", type=float, default=60.0, help=TIMEOUT_HELP)
    p.add_argument("--hidden-visibility", default="after_published",
                   choices=["after_due_date", "after_published", "hidden", "visible"],
                   help="when students see the hidden tests' results (default after_published)")
    p.add_argument("--show-hidden-total", action="store_true",
                   help="show students one line 'hidden tests: x of y points' right away")
    p.add_argument("--python-version", help="the Python of the Gradescope image the wheels are for, e.g. 3.10 "
                                            "(default: this Python)")
    p.add_argument("--platform", help="its platform tag, e.g. manylinux2014_x86_64 (default: this machine's)")
    p.add_argument("--find-links", metavar="DIR",
                   help="take the dependency wheels from this folder instead of the package index")
    p.add_argument("--kit", help=KIT_HELP)
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("bench", help="time the reference solutions against PyTorch (CPU)")
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    p.add_argument("--runs", type=int, default=45,
                   help="timed runs per benchmark and side, in 5 alternating blocks (median; default 45)")
    p.add_argument("--only", action="append", help="run the benchmarks whose name contains this (repeatable)")
    p.add_argument("--data-dir", help=DATA_HELP)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("mutants", help="mutation-test the suites: mutate each reference module, grade every mutant",
                       description="Mutate the code between the solution markers of each chapter's reference "
                                   "module (cosmic-ray's operators) and grade every mutant with the chapter's visible "
                                   "and hidden suites: below full marks kills it. Survivors are printed as diffs. "
                                   "Exit 1 when a chapter could not be tested.")
    p.add_argument("--chapters", help="chapter numbers or ranges, e.g. 1.3 or 1.1-2.4 (default: all)")
    p.add_argument("--max", type=int, metavar="N",
                   help="at most N mutants per chapter, a sample drawn with --seed (default: all of them)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="mutants graded at the same time (default: the number of cores)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the hidden suites' random inputs and of the --max sample (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write the whole report as JSON")
    p.add_argument("--survivors", metavar="FILE",
                   help="grade only the mutants that survived in this earlier --json report (after strengthening "
                        "a suite: a quick re-check; the full run is what counts)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="time budget per mutant (default: 4 times the reference's grading time, at least 10 s)")
    p.add_argument("--kit", help=KIT_HELP)
    p.add_argument("--data-dir", help=DATA_HELP)
    p.set_defaults(func=cmd_mutants)
