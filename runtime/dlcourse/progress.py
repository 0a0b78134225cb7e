"""``dlcourse check``: a student's progress over the chapters of their repository (or copy of ``exercises/``).

Runs the visible tests (in this process: it is the student's own code on their own machine) and prints
one row per chapter with what to do next: the functions still to write and those to fix, and under it, for
each function that fails, its first failure in full (the input, the expected and actual values, the hint);
``-v`` shows every failing test. A module that does not run at all is one message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import testrun
from .chapters import Chapter, is_chapter_dir, select
from .work import work_in


def _cause(message: str) -> tuple[str, str] | None:
    """An exception's type and the innermost frame it was raised at, when ``message`` reports one."""
    m = re.match(r"\S+ raised (\w+):", message)
    frames = [ln.strip() for ln in message.splitlines() if re.match(r"\s+\S+, line \d+, in ", ln)]
    return (m.group(1), frames[-1]) if m and frames else None


def function_of(result: testrun.TestResult) -> str:
    """The function a test is about: its title's first word before the colon (``"sigmoid: ..."``)."""
    head, sep, _ = result.title.partition(":")
    return head.strip() if sep else result.title


@dataclass
class ChapterProgress:
    chapter: Chapter
    results: list[testrun.TestResult] = field(default_factory=list)
    note: str = ""  # where the work is, when that needs saying (both the module and the notebook edited)

    @property
    def total(self) -> int:
        return sum(1 for r in self.results if r.status != "skipped")

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def skipped(self) -> list[testrun.TestResult]:
        return [r for r in self.results if r.status == "skipped"]

    @property
    def done(self) -> bool:
        return self.total > 0 and self.passed == self.total

    @property
    def missing(self) -> list[str]:
        """Functions of this chapter reported "not implemented yet", in the order the tests met them."""
        return list(dict.fromkeys(name for r in self.results for name in r.missing))

    @property
    def waiting(self) -> list[str]:
        """Earlier chapters whose stubs this chapter's tests ran into ("4.2 (conv2d)")."""
        return list(dict.fromkeys(name for r in self.results for name in r.waiting))

    @property
    def broken(self) -> str:
        """Why the module cannot run at all (a syntax or import error): the one message every test failed with."""
        failed = [r for r in self.results if r.failed]
        if failed and len(failed) == self.total and len({r.message for r in failed}) == 1 \
                and " does not run: " in failed[0].message:
            return failed[0].message
        return ""

    def failing(self, every: bool = False) -> list[tuple[str, testrun.TestResult]]:
        """``(function, first failing test)`` for each function whose tests fail for another reason than being
        unwritten (with ``every``: each failing test); a message said once."""
        seen, out = set(), []
        for r in self.results:
            if not r.failed or r.missing or r.waiting or r.message in seen:
                continue
            function = function_of(r)
            if not every and any(f == function for f, _ in out):
                continue
            seen.add(r.message)
            out.append((function, r))
        return out

    @property
    def first_failure(self) -> str:
        failing = self.failing()
        return failing[0][1].message if failing else ""


def find_release(path: Path | None) -> Path:
    """The folder holding the chapter folders: ``path``, or the current folder, or ``./exercises``."""
    for cand in ([path] if path else [Path.cwd(), Path.cwd() / "exercises"]):
        if cand.is_dir() and any(is_chapter_dir(p) for p in cand.iterdir()):
            return cand
    where = path or Path.cwd()
    raise FileNotFoundError(f"no chapter folders (chM_N_topic) in {where}; run this from your repository of "
                            "exercises or pass --path")


def run(release: Path, spec: str | None = None) -> list[ChapterProgress]:
    chapters = select(sorted(Chapter.from_name(p.name) for p in release.iterdir() if is_chapter_dir(p)), spec)
    collector = testrun.Collector()
    testrun.run([release / c.name for c in chapters], collector)
    progress = {c.name: ChapterProgress(c, note=work_in(release / c.name, c).note) for c in chapters}
    for result in collector.ordered():
        if result.chapter.name in progress:
            progress[result.chapter.name].results.append(result)
    return list(progress.values())


def next_step(p: ChapterProgress) -> str:
    """What to do next in a chapter, in a few words."""
    if p.done:
        return "done"
    if p.broken:
        return "your module does not run: fix the error below"
    failing = [f for f, _ in p.failing()]
    if p.waiting and not p.missing and not failing:
        return "first finish chapter " + ", ".join(p.waiting)
    if p.missing and p.passed == 0 and not failing:
        return "start: implement " + ", ".join(p.missing)
    steps = []
    if p.missing:
        steps.append("implement " + ", ".join(p.missing))
    if failing:
        steps.append("fix " + ", ".join(failing))
    if p.waiting:
        steps.append("finish chapter " + ", ".join(p.waiting))
    if steps:
        return "; ".join(steps)
    if p.total == 0 and p.skipped:
        return p.skipped[0].headline(60)
    return "no tests found" if p.total == 0 else "fix the failing tests below"


def _indent(text: str, first: str, rest: str) -> list[str]:
    lines = text.rstrip().splitlines() or [""]
    return [first + lines[0]] + [rest + ln for ln in lines[1:]]


def details(p: ChapterProgress, verbose: bool = False) -> list[str]:
    """The lines under a chapter's row: the module's error, or per failing function its first failure in full."""
    if p.done:
        return []
    lines = [f"      note: {p.note}"] if p.note else []
    if p.broken:
        return lines + _indent(p.broken, "      ", "      ")
    shown: dict[tuple, str] = {}
    for function, r in p.failing(every=verbose):
        label = r.title if verbose else function
        cause = _cause(r.message)
        if cause in shown and not verbose:  # the same error, met through another function: said once
            lines.append(f"      {label}: the same {cause[0]}, at {cause[1].split(':', 1)[0]} (see {shown[cause]})")
            continue
        if cause is not None:
            shown.setdefault(cause, label)
        named = re.match(rf"(\d+\.\d+ )?{re.escape(function)}\b", r.message)  # the message names it already
        lines += _indent(r.message, "      " if named and not verbose else f"      {label}: ", "        ")
    waiting = [r for r in p.results if r.failed and r.waiting and not r.missing]
    if waiting and not verbose:  # an earlier chapter's stub: say which, once
        lines += _indent(waiting[0].message, "      ", "        ")
    if verbose:
        for r in p.results:
            if r.failed and (r.missing or r.waiting):
                lines += _indent(r.headline(200), f"      {r.title}: ", "        ")
    return lines


def table(progress: list[ChapterProgress], verbose: bool = False) -> str:
    lines = [f"{'chapter':<26}{'tests':>9}  next step", "-" * 72]
    for p in progress:
        lines.append(f"{p.chapter.number + ' ' + p.chapter.topic:<26}{f'{p.passed}/{p.total}':>9}  {next_step(p)}")
        lines += details(p, verbose)
    done = sum(1 for p in progress if p.done)
    lines += ["-" * 72, f"{done} of {len(progress)} chapters complete"]
    return "\n".join(lines)


def markdown(progress: list[ChapterProgress]) -> str:
    """The same progress as a Markdown table (a GitHub job summary)."""
    done = sum(1 for p in progress if p.done)
    lines = ["## Progress", "", f"{done} of {len(progress)} chapters complete.", "",
             "| chapter | tests passed | next step |", "| --- | --- | --- |"]
    for p in progress:
        step = next_step(p).replace("|", "\\|")
        mark = "✅ " if p.done else ""
        lines.append(f"| {p.chapter.number} {p.chapter.topic} | {p.passed}/{p.total} | {mark}{step} |")
    failures = [p for p in progress if not p.done and (p.broken or p.failing())]
    if failures:
        lines += ["", "### What fails", ""]
        for p in failures:
            lines += [f"**{p.chapter.number} {p.chapter.topic}**", "", "```", *[ln.strip() for ln in details(p)],
                      "```", ""]
    return "\n".join(lines).rstrip() + "\n"
