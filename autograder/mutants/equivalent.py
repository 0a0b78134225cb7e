"""Reviewed equivalent mutants: ``autograder/<chapter>/equivalent_mutants.txt``.

Some mutants behave exactly like the reference (``Z >= 0`` to ``Z > 0`` where both branches agree at 0): no
test can kill them. Once reviewed, each is listed in the chapter's file, one per line: the mutant's
identifier as the report prints it, then a one-line reason::

    # ch1_3_sigmoid: reviewed equivalent mutants (`dlcourse mutants`)
    core/ReplaceFalseWithTrue sigmoid "Z = Z.astype(Z.dtype, copy=False)" 0 nothing writes to Z: a copy changes nothing

Blank lines and lines starting with ``#`` are ignored. An entry that matches no mutant of the module any more
(the line was rewritten) is stale: the tool warns about it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

FILENAME = "equivalent_mutants.txt"
FORMAT = 'OPERATOR FUNCTION "LINE" N REASON'
_HEAD = re.compile(r"\s*(\S+)\s+(\S+)\s+")
_TAIL = re.compile(r"\s+(\d+)\s+(\S.*)$")


@dataclass(frozen=True)
class Entry:
    ident: str
    reason: str
    where: str  # "file:line", for messages


def read_entries(path: Path) -> tuple[list[Entry], list[str]]:
    """The entries of an equivalent-mutants file, and one warning per line that is not an entry."""
    if not path.is_file():
        return [], []
    entries, problems = [], []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        where = f"{path}:{no}"
        entry = _parse(raw, where)
        if entry is None:
            problems.append(f"{where}: not an entry (expected {FORMAT}, as the report prints a survivor)")
        else:
            entries.append(entry)
    return entries, problems


def _parse(raw: str, where: str) -> Entry | None:
    head = _HEAD.match(raw)
    if head is None or not raw[head.end():].startswith('"'):
        return None
    try:
        line, end = json.JSONDecoder().raw_decode(raw, head.end())
    except json.JSONDecodeError:
        return None
    tail = _TAIL.match(raw, end)
    if not isinstance(line, str) or tail is None:
        return None
    ident = f"{head.group(1)} {head.group(2)} {json.dumps(line)} {int(tail.group(1))}"
    return Entry(ident, tail.group(2).strip(), where)
