"""A chapter notebook as the module it defines: which cells make up the student's module.

A chapter notebook (``<chapter>/<topic>.ipynb``) holds the same functions as the stub module ``<topic>.py``.
Whoever grades it (``dlcourse grade``, nbgrader's autograde, the test cells themselves) first turns the notebook
back into that module with one rule, :func:`module_code`:

* the read-only module cells, whose first line is ``# <topic>.py: ...`` (the imports, any module-level code);
* for every function (or class) of the chapter, the *last* cell that defines it at top level, whole (so a
  helper written in the same cell comes along);
* cells holding only imports, functions and classes that define a name those cells use (a helper in a cell
  of its own, an ``import math`` cell), found transitively;

in the order they come in (the notebook's order for a file, the order of execution in a kernel). Demo and
plotting cells are never part of the module. A cell that is not valid Python is left out with a note.

In a running notebook the rule reads the kernel's input history, so what is graded is what the kernel has
defined; from a file it reads the code cells. A notebook executed top to bottom gives the same module both
ways, which is why ``dlcourse grade`` on a notebook and nbgrader's autograde give the same points.

Pure functions of text and files: nothing here runs a test or a kernel (that side is :mod:`dlcourse.notebook`).
"""
from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .chapters import Chapter, ChapterError


class NotebookError(ValueError):
    """A notebook file that cannot be read as a chapter notebook; the message is one line."""


def module_marker(topic: str) -> str:
    """First line prefix of the read-only cells that belong to the module (imports, module-level code)."""
    return f"# {topic}.py:"


@dataclass
class ModuleCode:
    source: str
    notes: list[str] = field(default_factory=list)  # cells left out (syntax errors), for feedback


def _defined(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return set()


def _used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _definition_only(tree: ast.Module) -> bool:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return all(isinstance(s, kinds) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in tree.body)


def module_code(cells: list[str], topic: str, names) -> ModuleCode:
    """The module a chapter's cells define (see the module docstring for the rule).

    ``cells``: code cell sources in order (already plain Python: see :func:`python_source`); ``names``: the
    functions and classes of the chapter's master module.
    """
    marker = module_marker(topic)
    trees: list[ast.Module | None] = []
    notes = []
    for i, src in enumerate(cells):
        try:
            trees.append(ast.parse(src))
        except (SyntaxError, ValueError) as exc:
            trees.append(None)
            if src.lstrip().startswith(marker) or any(re.search(rf"\b(def|class)\s+{re.escape(n)}\b", src)
                                                      for n in names):
                line = getattr(exc, "lineno", None)
                where = f" (line {line} of the cell)" if line else ""
                notes.append(f"a cell defining your code has a syntax error{where}: "
                             f"{getattr(exc, 'msg', exc)}; it was left out")
    defines = [set().union(*map(_defined, t.body)) if t else set() for t in trees]
    chosen: set[int] = set()
    last_marker: dict[str, int] = {}
    for i, src in enumerate(cells):
        if trees[i] is not None and src.lstrip().startswith(marker):
            last_marker[src.strip()] = i  # a re-run cell appears once, at its last run
    chosen |= set(last_marker.values())
    for name in names:
        where = [i for i, d in enumerate(defines) if name in d and trees[i] is not None]
        if where:
            chosen.add(where[-1])
    # Helpers the chosen cells use, from cells that only define things (never a demo or a plot).
    while True:
        have = set().union(*(defines[i] for i in chosen)) if chosen else set()
        wanted = set().union(*(_used(trees[i]) for i in chosen)) if chosen else set()
        missing = wanted - have - set(dir(builtins))
        extra = set()
        for name in missing:
            where = [i for i, d in enumerate(defines) if name in d and trees[i] is not None
                     and _definition_only(trees[i])]
            if where and where[-1] not in chosen:
                extra.add(where[-1])
        if not extra:
            break
        chosen |= extra
    body = "\n\n".join(cells[i].rstrip() for i in sorted(chosen))
    header = f'"""{topic}.py, as defined by the cells of a chapter notebook."""\n'
    return ModuleCode(header + body + "\n", notes)


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def python_source(cell_source: str) -> str:
    """A cell as plain Python: IPython's own transformer turns ``%magic`` and ``!cmd`` lines into calls."""
    try:  # a cell that parses has no IPython syntax: no need to import IPython (a fifth of a second per grading)
        ast.parse(cell_source)
        return _LEADING_BLANK_LINES.sub("", cell_source)  # what IPython's transformer does to such a cell
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: magics are left as they are (such a cell will not parse)
        return cell_source
    try:
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - malformed input: the parser will report it
        return cell_source


def read_code_cells(path: Path) -> list[str]:
    """The code cells of a notebook file as plain Python; :class:`NotebookError` if it is not a notebook."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:100]})") from None
    return code_cells(text, Path(path).name)


def code_cells(text: str, name: str = "the notebook") -> list[str]:
    """The code cells of a notebook's JSON text as plain Python; :class:`NotebookError` if it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name} is not a readable notebook (invalid JSON at line {exc.lineno}: "
                            f"{exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{name} is not a Jupyter notebook (no list of cells)")
    out = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if not isinstance(src, str):
            raise NotebookError(f"{name} has a code cell whose source is not text")
        out.append(python_source(src))
    return out


def chapter_names(master_source: str) -> list[str]:
    """Functions and classes defined at the top level of a master module, in order."""
    return [n.name for n in ast.parse(master_source).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def setup_call(cells: list[str]) -> tuple[str, list[str]] | None:
    """``(chapter, defines)`` from a notebook's ``setup("ch..", defines=[...])`` cell, if it has one."""
    for src in cells:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                try:
                    defines = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "defines"), [])
                except ValueError:
                    defines = []
                return str(node.args[0].value), list(defines)
    return None


def module_from_notebook(path: Path, topic: str, names) -> ModuleCode:
    return module_code(read_code_cells(path), topic, names)


def notebook_chapter(path: Path) -> Chapter | None:
    """The chapter a notebook file's setup cell names (``setup("ch1_3_sigmoid", ...)``), if it has one."""
    try:
        found = setup_call(read_code_cells(path))
        return Chapter.from_name(found[0]) if found else None
    except (NotebookError, ChapterError):
        return None
