"""``dlcourse check``: a student's progress over the chapters of their repository (or copy of ``exercises/``).

Runs the visible tests (in this process: it is the student's own code on their own machine) and prints
one row per chapter with what to do next, and the first failure of each chapter in a line or two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import testrun
from .chapters import Chapter, is_chapter_dir, select


@dataclass
class ChapterProgress:
    chapter: Chapter
    results: list[testrun.TestResult] = field(default_factory=list)

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
    def missing(self) -> set[str]:
        """Functions of this chapter reported "not implemented yet"."""
        return {name for r in self.results for name in r.missing}

    @property
    def waiting(self) -> set[str]:
        """Earlier chapters whose stubs this chapter's tests ran into ("4.2 (conv2d)")."""
        return {name for r in self.results for name in r.waiting}

    @property
    def first_failure(self) -> str:
        failed = next((r for r in self.results if r.failed), None)
        return "\n".join(ln.strip() for ln in failed.lines(2))[:300] if failed else ""


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
    progress = {c.name: ChapterProgress(c) for c in chapters}
    for result in collector.ordered():
        if result.chapter.name in progress:
            progress[result.chapter.name].results.append(result)
    return list(progress.values())


def _next_step(p: ChapterProgress) -> str:
    if p.done:
        return "done"
    if p.waiting and not p.missing:
        return "first finish chapter " + ", ".join(sorted(p.waiting))
    if p.missing and p.passed == 0:
        return "start: implement " + ", ".join(sorted(p.missing))
    if p.missing:
        return "implement " + ", ".join(sorted(p.missing))
    if p.total == 0 and p.skipped:
        return p.skipped[0].headline(60)
    if p.total == 0:
        return "no tests found"
    return "fix the failing tests below"


def table(progress: list[ChapterProgress]) -> str:
    lines = [f"{'chapter':<26}{'tests':>9}  next step", "-" * 72]
    for p in progress:
        step = _next_step(p)
        lines.append(f"{p.chapter.number + ' ' + p.chapter.topic:<26}{f'{p.passed}/{p.total}':>9}  {step}")
        if p.first_failure and not p.done and not step.startswith("start"):
            lines += ["      " + ln for ln in p.first_failure.splitlines()]
    done = sum(1 for p in progress if p.done)
    lines += ["-" * 72, f"{done} of {len(progress)} chapters complete"]
    return "\n".join(lines)


def markdown(progress: list[ChapterProgress]) -> str:
    """The same progress as a Markdown table (a GitHub job summary)."""
    done = sum(1 for p in progress if p.done)
    lines = ["## Progress", "", f"{done} of {len(progress)} chapters complete.", "",
             "| chapter | tests passed | next step |", "| --- | --- | --- |"]
    for p in progress:
        step = _next_step(p).replace("|", "\\|")
        mark = "✅ " if p.done else ""
        lines.append(f"| {p.chapter.number} {p.chapter.topic} | {p.passed}/{p.total} | {mark}{step} |")
    failures = [(p, p.first_failure) for p in progress if p.first_failure and not p.done]
    if failures:
        lines += ["", "### First failure of each chapter", ""]
        for p, text in failures:
            lines += [f"**{p.chapter.number} {p.chapter.topic}**", "", "```", text, "```", ""]
    return "\n".join(lines).rstrip() + "\n"
