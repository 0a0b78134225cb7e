"""What a student reads when their code breaks: an exception it raised, or a module that does not import.

Both at home (the module imported beside the tests) and graded (the module in a sandboxed worker) the message is
built here, from the same facts: the exception's type and text, the student's own frames (file, line, function,
code; never the tests' or the kit's), and a hint where the exception has a usual cause.
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path

from .chapters import Chapter, chapter_of_path

Frame = tuple[str, int, str, str]  # (file, line, function, code)

# (exception type, pattern of its message, hint): the first that matches is shown.
HINTS: list[tuple[str, str, str]] = [
    ("ValueError", r"matmul: Input operand \d has a mismatch in its core dimension|shapes \(.*\) and \(.*\) not aligned",
     "a matrix product of arrays whose inner sizes differ: print the shapes of both operands; a missing or extra "
     ".T (transpose) is the usual cause"),
    ("ValueError", r"operands could not be broadcast together",
     "arrays whose shapes do not line up element by element: print their shapes; a reduction without "
     "keepdims=True, or over the wrong axis, is the usual cause"),
    ("ValueError", r"could not broadcast input array|setting an array element with a sequence",
     "an assignment of an array of the wrong shape: print the shapes on both sides of the ="),
    ("IndexError", r"too many indices|index \d+ is out of bounds",
     "an index that does not fit the array: print the array's shape and check the axis you index"),
    ("TypeError", r"'NoneType'|NoneType",
     "a value is None: a function without a return statement returns None (did one forget to return?)"),
    ("TypeError", r"unsupported operand type|can't multiply sequence|can only concatenate list",
     "arithmetic on a Python list: convert with np.asarray(...) first"),
    ("NameError", r"name '.*' is not defined",
     "a name used before it is defined: a typo, a variable of another function, or a missing import at the "
     "top of the module"),
    ("AttributeError", r"'numpy.ndarray' object has no attribute",
     "a NumPy array has no such method: check the name (e.g. .T, .shape, .reshape, np.sum(...))"),
    ("RecursionError", r"", "a function that calls itself without end"),
    ("ZeroDivisionError", r"", "a division by zero in plain Python numbers: add a small eps, or use NumPy arrays"),
]


def exception_hint(type_name: str, message: str) -> str | None:
    for name, pattern, hint in HINTS:
        if type_name == name and re.search(pattern, message or ""):
            return hint
    return None


def student_frames(tb) -> list[Frame]:
    """The frames of a traceback that run a student's module (a chapter file that is not a test), oldest first."""
    frames = []
    for summary in traceback.extract_tb(tb):
        path = Path(summary.filename)
        if chapter_of_path(path) is not None and not path.name.startswith("test_") and path.suffix in (".py", ".ipynb"):
            frames.append((f"{path.parent.name}/{path.name}", summary.lineno or 0, summary.name, summary.line or ""))
    return frames


def frames_text(frames: list[Frame], keep: int = 3) -> str:
    """The last ``keep`` frames, one line each: ``file, line N, in function:  code``."""
    return "\n".join(f"  {file}, line {line}, in {func}:  {code.strip()}" for file, line, func, code in frames[-keep:])


def raised(function: str, type_name: str, message: str, frames: list[Frame]) -> str:
    """``function`` (the student's, as the test called it) raised an exception: the student's frames and a hint."""
    text = f"{function} raised {type_name}: {message}".rstrip()
    if frames:
        text += "\n" + frames_text(frames)
    hint = exception_hint(type_name, message)
    return text + (f"\nHint: {hint}" if hint else "")


def import_failure(chapter: Chapter, filename: str, type_name: str, message: str, line: int | None = None,
                   code: str | None = None, caret: int | None = None) -> str:
    """The student's module does not import: the file, the line and the error, in one message."""
    where = f"{chapter.name}/{filename}" + (f", line {line}" if line else "")
    text = f"{chapter.number}: {where} does not run: {type_name}: {message}"
    if code and code.strip():
        lead = len(code) - len(code.lstrip())
        text += f"\n    {code.strip()}"
        if caret and caret - 1 >= lead:
            text += "\n    " + " " * (caret - 1 - lead) + "^"
    hint = exception_hint(type_name, message)
    if type_name in ("SyntaxError", "IndentationError", "TabError"):
        hint = "Python could not read the file: fix the line shown (a missing bracket or colon, a mixed indent...)"
    return text + (f"\nHint: {hint}" if hint else "")


def import_failure_of(chapter: Chapter, path: Path, exc: BaseException) -> str:
    """:func:`import_failure` for an exception raised while importing ``path``."""
    if isinstance(exc, SyntaxError):
        return import_failure(chapter, path.name, type(exc).__name__, exc.msg, exc.lineno, exc.text, exc.offset)
    frames = [f for f in student_frames(exc.__traceback__) if f[0].endswith("/" + path.name)]
    line, code = (frames[-1][1], frames[-1][3]) if frames else (None, None)
    return import_failure(chapter, path.name, type(exc).__name__, str(exc), line, code)
