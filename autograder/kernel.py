"""What the grader offers a chapter notebook's kernel (the ``dlcourse.notebook`` entry points).

A kernel that has run a student's cells cannot grade them itself (their code could have replaced anything),
so :func:`grade_source` grades the module text in a separate process: ``python -m autograder.kernel``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from dlcourse.chapters import Chapter

from .kit import Kit, KitError


def _kit() -> Kit | None:
    try:
        return Kit.find()
    except KitError:
        return None


def grade_source(chapter_name: str, source: str, seed="0") -> list[dict] | None:
    """The chapter's visible and hidden results for ``source`` (``TestResult.to_dict()`` each), graded in another
    process; None when this grader's kit has no hidden suite for the chapter."""
    kit = _kit()
    chapter = Chapter.from_name(chapter_name)
    if kit is None or chapter not in kit.chapters() or not (kit.hidden / chapter.name).is_dir():
        return None
    with tempfile.TemporaryDirectory(prefix="dlcourse-nb-") as tmp:
        module, out = Path(tmp) / f"{chapter.module}.py", Path(tmp) / "results.json"
        module.write_text(source)
        cmd = [sys.executable, "-m", "autograder.kernel", chapter.name, str(module), str(seed), str(out),
               str(kit.root)]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not out.exists():
            why = (proc.stderr or proc.stdout).strip().splitlines()
            raise RuntimeError(f"the grader could not run: {why[-1] if why else proc.returncode}")
        return json.loads(out.read_text())


def reference_folders() -> list[Path]:
    """Where the kit's reference modules are, for a notebook's imports of earlier chapters."""
    kit = _kit()
    return [kit.solutions] if kit is not None else []


def main(argv: list[str]) -> int:
    chapter_name, module, seed, out, root = argv
    from .engine import grade_module

    chapter = Chapter.from_name(chapter_name)
    results = grade_module(chapter, Path(module).read_text(), int(seed), Kit.find(root))
    Path(out).write_text(json.dumps([r.to_dict() for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
