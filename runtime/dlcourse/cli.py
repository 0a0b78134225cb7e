"""The ``dlcourse`` command: ``check`` and ``data`` for students, and whatever an installed grader adds.

A grader (the instructor's side of the kit) adds its subcommands (build, grade, gradebook, release,
gradescope, ...) through the entry-point group ``dlcourse.commands``: each entry point is a function that
receives the subparsers object and registers its commands. Nothing here imports a grader by name.

Every subcommand returns an exit status; errors a person can fix are printed as one line, never as a
traceback (``dlcourse: error: ...``).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from pathlib import Path

COMMAND_GROUP = "dlcourse.commands"
INSTRUCTOR_COMMANDS = {"build", "grade", "gradebook", "release", "gradescope", "bench", "mutants"}


def error(msg: str) -> int:
    """Print ``dlcourse: error: msg`` on stderr and return the exit status 2."""
    print(f"dlcourse: error: {msg}", file=sys.stderr)
    return 2


def use_data_dir(data_dir: str | None) -> None:
    """``--data-dir`` reaches every MNIST reader (the suites' fixture too) through the loader's variable."""
    if data_dir:
        from .mnist import ENV_VAR

        os.environ[ENV_VAR] = str(Path(data_dir).resolve())


def cmd_check(args) -> int:
    from .chapters import ChapterError
    from .progress import find_release, markdown, run, table

    use_data_dir(args.data_dir)
    try:
        release = find_release(Path(args.path) if args.path else None)
        progress = run(release, args.chapter)
    except (FileNotFoundError, ChapterError) as exc:
        return error(str(exc))
    print(table(progress, verbose=args.verbose))
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as fh:  # GitHub's job summary is appended to
            fh.write(markdown(progress))
    return 0 if all(p.done for p in progress) else 1


def cmd_lesson(args) -> int:
    """A chapter's notebook as one HTML page: the student's own, or (``--solutions``) the kit's solution."""
    from .chapters import ChapterError, list_chapters, select
    from .lesson import LessonError, execute, lesson_html
    from .notebook import _grader_hook
    from .progress import find_release
    from .work import chapter_notebook

    try:
        if args.solutions:
            references = _grader_hook("references")
            roots = [Path(p) for p in references()] if references is not None else []
            if not roots:
                return error("--solutions renders a reference solution notebook: only an instructor's kit has them")
            root = roots[0]
        else:
            root = find_release(Path(args.path) if args.path else None)
        chosen = select(list_chapters(root), args.chapter)
    except (FileNotFoundError, ChapterError) as exc:
        return error(str(exc))
    if len(chosen) != 1:
        return error(f"{args.chapter} names {len(chosen)} chapters; give one, e.g. 1.3")
    chapter = chosen[0]
    path = chapter_notebook(root / chapter.name, chapter)
    if path is None:
        return error(f"no notebook in {root / chapter.name}")
    try:
        from .quick_nbformat import nbformat as import_nbformat

        nbformat = import_nbformat()
    except ImportError:
        return error("rendering a notebook needs the notebook tools: pip install -e '.[notebook]'")
    use_data_dir(args.data_dir)
    nb = nbformat.read(path, as_version=4)
    if not args.no_execute:
        try:  # a cell that fails shows its error in the page, and the cells after it still run
            execute(nb, path.parent, timeout=args.timeout, allow_errors=not args.solutions)
        except Exception as exc:  # noqa: BLE001 - the kernel itself could not run: one line
            return error(f"{path.name} failed to run: {str(exc).strip().splitlines()[-1]}")
    try:
        html = lesson_html(nb, args.mathjax_url)
    except LessonError as exc:
        return error(str(exc))
    out = Path(args.html or f"{chapter.name}.html")
    out.write_text(html, encoding="utf-8")
    print(f"{chapter.number} {'(solutions) ' if args.solutions else ''}written to {out}")
    return 0


def _student_commands(sub) -> None:
    p = sub.add_parser("check", help="run the visible tests of your exercises and show your progress")
    p.add_argument("chapter", nargs="?", help="a chapter number such as 1.3, or a range such as 1.1-2.4 "
                                              "(default: all)")
    p.add_argument("--path", help="your repository of exercises (default: the current folder or ./exercises)")
    p.add_argument("-v", "--verbose", action="store_true", help="show every failing test, not only the first per "
                                                                "function")
    p.add_argument("--summary", metavar="FILE",
                   help="also append the progress as a Markdown table to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $DLCOURSE_MNIST_DIR, the "
                                      "user cache, then the copy inside the package)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("lesson", help="render a chapter's notebook to one HTML page (formulas and figures offline)")
    p.add_argument("chapter", help="a chapter number such as 1.3")
    p.add_argument("--html", metavar="FILE", help="where to write the page (default: <chapter>.html here)")
    p.add_argument("--no-execute", action="store_true", help="render the notebook as it is, without running it")
    p.add_argument("--solutions", action="store_true",
                   help="the solution notebook instead of yours (an instructor's kit only)")
    p.add_argument("--path", help="your repository of exercises (default: the current folder or ./exercises)")
    p.add_argument("--timeout", type=float, default=600, help="time limit per cell in seconds (default 600)")
    p.add_argument("--mathjax-url", help="load MathJax from here instead of the local copy (e.g. a CDN)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files")
    p.set_defaults(func=cmd_lesson)

    from .mnist import add_data_command

    add_data_command(sub)


def _plugin_commands(sub) -> list[str]:
    """Register the subcommands of installed graders; returns one line per plugin that failed to load."""
    problems = []
    for ep in importlib.metadata.entry_points(group=COMMAND_GROUP):
        try:
            ep.load()(sub)
        except Exception as exc:  # noqa: BLE001 - a broken grader install must not break `dlcourse check`
            problems.append(f"{ep.name} ({ep.value}): {type(exc).__name__}: {exc}")
    return problems


def make_parser():
    """``(parser, subparsers, problems)``: the student commands and those of installed graders."""
    parser = argparse.ArgumentParser(prog="dlcourse", description="Deep learning from scratch with NumPy: "
                                     "check your progress; with the grader installed, build, grade and hand out.")
    sub = parser.add_subparsers(dest="command", required=True)
    _student_commands(sub)
    return parser, sub, _plugin_commands(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, sub, problems = make_parser()
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in INSTRUCTOR_COMMANDS and command not in sub.choices:
        why = f" (an installed grader failed to load: {problems[0]})" if problems else ""
        return error(f"`dlcourse {command}` is an instructor command and is not installed here{why}; "
                     "students need only `dlcourse check`")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head`: stop quietly, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
