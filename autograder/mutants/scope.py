"""Which lines of a reference module are mutated.

Only the code students write is mutated: the lines that sit between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in the master (``source/<chapter>/<topic>.py``). Everything else (imports, signatures,
docstrings, helpers handed out with the stub) reaches the student as it is, so a mutant there says nothing
about the suites. The build writes ``solutions/`` as the master without its marker lines (and a note on top),
so the regions map onto the reference module line by line; a reference module that is not what the build
makes of its master is refused (its lines would not map).

Inside the regions, a ``# mutants: skip`` comment excludes code (input validation the reference does for
its own sake, which no test need check):

* at the end of a statement's first line, it excludes that statement; on a block's header (``if``, ``for``,
  ``with``, ``def``, ...) the header and the block indented under it (an ``else:`` or ``elif`` is a block
  of its own: mark it too if it is to be left alone);
* alone on a line, it does the same for the statement that follows;
* at the end of any other line (the second line of a long call), that line only.

Markers are read from the reference module itself (the build keeps the master's comments). One outside the
solution regions has no effect and, unlike one inside (which the stub's ``raise NotImplementedError()``
replaces with the rest of the region), is copied into the student's stub: the tool warns about it.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

from dlcourse.chapters import Chapter

from ..build import BEGIN, END, GENERATED_NOTE, BuildError, make_solution, solution_regions
from ..kit import Kit

MARKER = "# mutants: skip"
MARKER_RE = re.compile(r"#\s*mutants:\s*skip\b")


class ScopeError(Exception):
    """A chapter cannot be mutated (no reference module, a stale one); the message is one line."""


@dataclass
class Scope:
    """The lines of ``text`` (the reference module) that may be mutated, and what was left out."""

    text: str
    regions: set[int]  # 1-based lines of the reference module inside solution regions
    skipped: set[int] = field(default_factory=set)  # lines excluded by markers
    warnings: list[str] = field(default_factory=list)

    def allows(self, line: int) -> bool:
        return line in self.regions and line not in self.skipped


def chapter_scope(kit: Kit, chapter: Chapter) -> Scope:
    """The :class:`Scope` of the chapter's reference module; :class:`ScopeError` when it cannot be mutated."""
    master, reference = kit.master(chapter), kit.reference(chapter)
    rel_master = f"source/{chapter.name}/{master.name}"
    rel_reference = f"solutions/{chapter.name}/{reference.name}"
    if not reference.is_file():
        raise ScopeError(f"{rel_reference} does not exist: run `dlcourse build`")
    if not master.is_file():
        raise ScopeError(f"{rel_master} does not exist: the solution regions are read from it")
    master_text, text = master.read_text(), reference.read_text()
    try:
        regions = solution_regions(master_text, rel_master)
    except BuildError as exc:
        raise ScopeError(str(exc)) from None
    note = GENERATED_NOTE.format(path=f"{chapter.name}/{master.name}")
    if text != note + make_solution(master_text):
        raise ScopeError(f"{rel_reference} is not what `dlcourse build` makes of {rel_master}: run `dlcourse build`")
    inside, to_master = _map_regions(master_text, regions, first=note.count("\n") + 1)
    scope = Scope(text, inside)
    markers = _markers(text)
    for line in sorted(markers):
        if line not in inside:
            scope.warnings.append(f"{rel_master}:{to_master.get(line, '?')}: '{MARKER}' outside the solution regions "
                                  "has no effect (only the regions are mutated) and is copied into the student's stub")
    scope.skipped = _skipped_lines(text, markers)
    return scope


def _map_regions(master_text: str, regions, first: int) -> tuple[set[int], dict[int, int]]:
    """(the reference module's lines inside regions, reference line -> master line); the reference module's
    line ``first`` is the master's first line that is not a marker line."""
    inside: set[int] = set()
    to_master: dict[int, int] = {}
    out = first - 1
    for no, line in enumerate(master_text.splitlines(), 1):
        if BEGIN in line or END in line:
            continue
        out += 1
        to_master[out] = no
        if any(r.begin < no < r.end for r in regions):
            inside.add(out)
    return inside, to_master


def _markers(text: str) -> dict[int, bool]:
    """Lines holding a marker comment: ``{line: alone on its line}``."""
    found: dict[int, bool] = {}
    lines = text.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT and MARKER_RE.search(tok.string):
            row, col = tok.start
            found[row] = not lines[row - 1][:col].strip()
    return found


def _block(node: ast.AST) -> tuple[int, int]:
    """The lines a marker on ``node``'s first line excludes: the statement, or a header and its own block."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.lineno, node.end_lineno
    body = getattr(node, "body", None)
    if isinstance(body, list) and body:
        return node.lineno, body[-1].end_lineno
    return node.lineno, node.end_lineno


def _skipped_lines(text: str, markers: dict[int, bool]) -> set[int]:
    if not markers:
        return set()
    starts: dict[int, ast.AST] = {}
    for node in ast.walk(ast.parse(text)):  # breadth first: the outermost statement of a line comes first
        if isinstance(node, (ast.stmt, ast.ExceptHandler)):
            starts.setdefault(node.lineno, node)
    skipped: set[int] = set()
    for line, alone in markers.items():
        target = min((s for s in starts if s > line), default=None) if alone else line
        if target in starts:
            lo, hi = _block(starts[target])
            skipped.update(range(lo, hi + 1))
        elif not alone:
            skipped.add(line)
    return skipped
