"""``dlcourse check``: a student's progress over the chapters of their copy of ``exercises/``.

Runs the visible tests (in this process: it is the student's own code on their own machine) and prints
one row per chapter with what to do next, and the first failure of each chapter in a line or two.
"""
from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .chapters import Chapter, chapter_of_path, is_chapter_dir, select


@dataclass
class ChapterProgress:
    chapter: Chapter
    passed: int = 0
    total: int = 0
    first_failure: str = ""
    missing: set[str] = field(default_factory=set)  # functions reported "not implemented yet"
    waiting: set[str] = field(default_factory=set)  # earlier chapters whose stubs this one's tests ran into


class _Collector:
    def __init__(self):
        self.by_chapter: dict[str, ChapterProgress] = {}

    def pytest_runtest_logreport(self, report):
        chapter = chapter_of_path(Path(report.fspath))
        if chapter is None:
            return
        prog = self.by_chapter.setdefault(chapter.name, ChapterProgress(chapter))
        if report.when == "call" or report.failed:
            if report.when == "call" or report.when == "setup":
                prog.total += 1
            if report.passed and report.when == "call":
                prog.passed += 1
            elif report.failed:
                text = report.longreprtext.strip()
                earlier = re.search(r"uses (\S+) from chapter (\S+) \(.*which is not implemented yet", text)
                own = re.search(r"calls (\S+), which is not implemented yet", text) or \
                    re.search(r"(\S+) is not implemented yet", text)
                if earlier:
                    prog.waiting.add(f"{earlier.group(2)} ({earlier.group(1)})")
                elif own:
                    prog.missing.add(own.group(1))
                if not prog.first_failure:
                    prog.first_failure = _explain(text)


def _explain(text: str) -> str:
    """The one or two lines of a failure that say what went wrong."""
    lines = [ln.removeprefix("E").strip() for ln in text.splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("def ", ">", "@"))] or lines
    return "\n".join(keep[:2])[:300]


def find_release(path: Path | None) -> Path:
    """The folder holding the chapter folders: ``path``, or the current folder, or ``./exercises``."""
    for cand in ([path] if path else [Path.cwd(), Path.cwd() / "exercises"]):
        if cand.is_dir() and any(is_chapter_dir(p) for p in cand.iterdir()):
            return cand
    where = path or Path.cwd()
    raise FileNotFoundError(f"no chapter folders (chM_N_topic) in {where}; run this from your copy of exercises/ "
                            "or pass --path")


def run(release: Path, spec: str | None = None) -> list[ChapterProgress]:
    chapters = select(sorted(Chapter.from_name(p.name) for p in release.iterdir() if is_chapter_dir(p)), spec)
    collector = _Collector()
    targets = [str(release / c.name) for c in chapters]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        pytest.main(["-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=", *targets],
                    plugins=[collector])
    return [collector.by_chapter.get(c.name, ChapterProgress(c)) for c in chapters]


def table(progress: list[ChapterProgress]) -> str:
    lines = [f"{'chapter':<26}{'tests':>9}  next step", "-" * 72]
    for p in progress:
        if p.total and p.passed == p.total:
            step = "done"
        elif p.waiting and not p.missing:
            step = "first finish chapter " + ", ".join(sorted(p.waiting))
        elif p.missing and p.passed == 0:
            step = "start: implement " + ", ".join(sorted(p.missing))
        elif p.missing:
            step = "implement " + ", ".join(sorted(p.missing))
        elif p.total == 0:
            step = "no tests found"
        else:
            step = "fix the failing tests below"
        lines.append(f"{p.chapter.number + ' ' + p.chapter.topic:<26}{f'{p.passed}/{p.total}':>9}  {step}")
        if p.first_failure and step != "done" and not step.startswith("start"):
            lines += ["      " + ln for ln in p.first_failure.splitlines()]
    done = sum(1 for p in progress if p.total and p.passed == p.total)
    lines += ["-" * 72, f"{done} of {len(progress)} chapters complete"]
    return "\n".join(lines)
