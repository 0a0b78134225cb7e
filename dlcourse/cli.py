"""The ``dlcourse`` command: build, grade, check, data.

Every subcommand returns an exit status; errors a person can fix are printed as one line, never as a
traceback (``dlcourse: error: ...``).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _err(msg: str) -> int:
    print(f"dlcourse: error: {msg}", file=sys.stderr)
    return 2


def cmd_build(args) -> int:
    from .build import BuildError, build, check

    try:
        root = Path(args.root) if args.root else None
        if args.check:
            problems = check(root)
            if problems:
                print("exercises/ and solutions/ are stale; run `dlcourse build` and commit:", file=sys.stderr)
                print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
                return 1
            print("exercises/ and solutions/ match source/")
            return 0
        written = build(root)
    except BuildError as exc:
        return _err(str(exc))
    except ModuleNotFoundError as exc:
        return _err(f"{exc}; the build needs the instructor tools: pip install -e '.[instructor]'")
    print(f"exercises/ and solutions/ rebuilt from source/ ({len(written)} files changed)")
    return 0


def _grading(args, run) -> int:
    """``run()`` with ``--data-dir`` applied; a missing grader, a bad submission folder or an unknown chapter
    becomes one line, not a traceback."""
    try:
        from autograder.engine import GradingError
    except ModuleNotFoundError as exc:
        return _err(f"the grader is not installed here ({exc}); it ships with the instructor's copy of the kit")
    from .chapters import ChapterError

    _use_data_dir(args.data_dir)
    try:
        return run()
    except (GradingError, ChapterError) as exc:
        return _err(str(exc))


def cmd_grade(args) -> int:
    def run() -> int:
        from autograder.engine import find_chapters, grade
        from autograder.results import gradescope_json, scorecard, write_json

        from .chapters import select

        submission = Path(args.path)
        chapters = select(find_chapters(submission, _kit()), args.chapters)
        report = grade(submission, chapters, seed=args.seed, budget=args.timeout)
        print(scorecard(report))
        if args.json:
            write_json(gradescope_json(report), Path(args.json))
            print(f"results written to {args.json}")
        return 0

    return _grading(args, run)


def cmd_gradebook(args) -> int:
    def run() -> int:
        from autograder.gradebook import grade_all

        from .chapters import select

        chapters = select(_kit().chapters(), args.chapters)
        rows = grade_all(Path(args.submissions), chapters, Path(args.out), seed=args.seed, budget=args.timeout,
                         jobs=args.jobs)
        failed = [r.student for r in rows if r.total is None]
        print(f"{len(rows) - len(failed)} of {len(rows)} submissions graded into "
              f"{Path(args.out) / 'gradebook.csv'}"
              + (f"; not graded (see the status column): {', '.join(failed)}" if failed else ""))
        return 0

    return _grading(args, run)


def _use_data_dir(data_dir: str | None) -> None:
    """``--data-dir`` reaches the MNIST fixture of the suites through the loader's environment variable."""
    if data_dir:
        from .mnist import ENV_VAR

        os.environ[ENV_VAR] = str(Path(data_dir).resolve())


def _kit():
    from autograder.engine import Kit

    return Kit()


def cmd_check(args) -> int:
    from .chapters import ChapterError
    from .progress import find_release, run, table

    _use_data_dir(args.data_dir)
    try:
        release = find_release(Path(args.path) if args.path else None)
        progress = run(release, args.chapter)
    except (FileNotFoundError, ChapterError) as exc:
        return _err(str(exc))
    print(table(progress))
    return 0 if all(p.total and p.passed == p.total for p in progress) else 1


def cmd_bench(args) -> int:
    from . import bench
    from .mnist import MnistError

    _use_data_dir(args.data_dir)
    try:
        results = bench.run(args.only, runs=args.runs)
    except MnistError as exc:
        return _err(str(exc).splitlines()[0] + " (see `dlcourse data`)")
    print(bench.table(results))
    if args.json:
        bench.write_json(results, args.json)
        print(f"written to {args.json}")
    return 0


def cmd_lesson(args) -> int:
    """Execute a chapter's solution notebook and write it as HTML (figures and formulas, offline)."""
    from .chapters import ChapterError, list_chapters, repo_root, select

    root = Path(args.root) if args.root else repo_root()
    try:
        (chapter,) = select(list_chapters(root / "source"), args.chapter) or [None]
    except (ChapterError, ValueError) as exc:
        return _err(str(exc))
    if chapter is None:
        return _err(f"no chapter {args.chapter}")
    path = root / "solutions" / chapter.name / f"{chapter.topic}.ipynb"
    if not path.is_file():
        return _err(f"{path} does not exist; run `dlcourse build` first")
    try:
        import nbformat
        from nbclient.exceptions import CellExecutionError

        from .nbbuild import execute, lesson_html
    except ModuleNotFoundError as exc:
        return _err(f"{exc}; rendering lessons needs the instructor tools: pip install -e '.[instructor]'")
    _use_data_dir(args.data_dir)
    nb = nbformat.read(path, as_version=4)
    if not args.no_execute:
        try:
            execute(nb, path.parent, timeout=args.timeout)
        except CellExecutionError as exc:
            return _err(f"{path.name} failed to run: {str(exc).strip().splitlines()[-1]}")
    out = Path(args.html or f"{chapter.name}.html")
    out.write_text(lesson_html(nb, args.mathjax_url), encoding="utf-8")
    print(f"{chapter.number} written to {out}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlcourse", description="Deep learning from scratch with NumPy: "
                                     "build the release, grade submissions, check your progress.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="regenerate exercises/ and solutions/ from source/")
    p.add_argument("--check", action="store_true", help="only verify that the committed trees are up to date")
    p.add_argument("--root", help="the kit folder holding source/ (default: this repository)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("grade", help="grade a submission (a folder shaped like exercises/)")
    p.add_argument("path", help="the submission folder")
    p.add_argument("--chapters", help="comma-separated chapter numbers, e.g. 1.1,1.3 (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden suites' random inputs (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write Gradescope's results.json to FILE")
    p.add_argument("--timeout", type=float, default=60.0, help="time budget per chapter in seconds (default 60)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $DLCOURSE_MNIST_DIR, then the cache)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("gradebook", help="grade a folder of submissions (one per student) into a gradebook CSV")
    p.add_argument("submissions", help="a folder holding one submission folder per student")
    p.add_argument("--out", default="gradebook",
                   help="where to write gradebook.csv and each student's results.json and feedback.md "
                        "(default: ./gradebook)")
    p.add_argument("--chapters", help="comma-separated chapter numbers, e.g. 1.1,1.3 (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden suites' random inputs (default 0)")
    p.add_argument("--timeout", type=float, default=60.0, help="time budget per chapter in seconds (default 60)")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (default 1)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $DLCOURSE_MNIST_DIR, then the cache)")
    p.set_defaults(func=cmd_gradebook)

    p = sub.add_parser("check", help="run the visible tests of your exercises and show your progress")
    p.add_argument("chapter", nargs="?", help="a chapter number such as 1.3 (default: all)")
    p.add_argument("--path", help="your copy of exercises/ (default: the current folder or ./exercises)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $DLCOURSE_MNIST_DIR, then the cache)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("bench", help="time the reference solutions against PyTorch (CPU)")
    p.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    p.add_argument("--runs", type=int, default=45,
                   help="timed runs per benchmark and side, in 5 alternating blocks (median; default 45)")
    p.add_argument("--only", action="append", help="run the benchmarks whose name contains this (repeatable)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("lesson", help="run a chapter's solution notebook and render it to HTML (offline formulas)")
    p.add_argument("chapter", help="a chapter number such as 1.3")
    p.add_argument("--html", metavar="FILE", help="where to write the page (default: <chapter>.html here)")
    p.add_argument("--no-execute", action="store_true", help="render the notebook as it is, without running it")
    p.add_argument("--timeout", type=float, default=600, help="time limit per cell in seconds (default 600)")
    p.add_argument("--mathjax-url", help="load MathJax from here instead of the local copy (e.g. a CDN)")
    p.add_argument("--root", help="the kit folder (default: this repository)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.set_defaults(func=cmd_lesson)

    from .mnist import add_data_command

    add_data_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head`: stop quietly, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
