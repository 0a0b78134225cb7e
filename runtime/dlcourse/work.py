"""Where a chapter's work is: its module (``topic.py``) or its notebook (``topic.ipynb``), by one rule.

``dlcourse check``, plain ``pytest`` (through the chapter plugin), a notebook's test cell and the grader all
ask :func:`find_work` which of the two files holds the student's code:

* the module, when it has been edited (it differs from the stub as released), or when there is no notebook;
* the notebook, when the module is missing or is still the untouched stub, and the notebook's code has been
  edited;
* when both were edited, the module, with a note that says so and how to have the notebook graded instead;
* when neither was, the module (the stub: its tests say what to implement).

"As released" comes from the release manifest, ``.dlcourse-release.json``, which ``dlcourse build`` writes into
the kit's ``exercises/`` and ``dlcourse release`` into a student's repository: the hash of every file handed
out, and of the code the released notebook defines (the module its cells make, by the rule of
:mod:`dlcourse.nbmodule`: opening and saving a notebook changes its bytes, not its code). The live files are
never the reference, since they are the student's. Without a manifest the module is the work.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.abc
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .chapters import CHAPTER_RE, Chapter
from .nbmodule import ModuleCode, NotebookError, code_cells, module_code, read_code_cells, setup_call

MANIFEST = ".dlcourse-release.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cells_module(cells: list[str], stem: str) -> ModuleCode:
    """The module the code ``cells`` of a notebook define, named by its setup cell (else by ``stem``), with notes
    on cells left out."""
    found = setup_call(cells)
    topic = stem if found is None else Chapter.from_name(found[0]).topic
    return module_code(cells, topic, found[1] if found else [])


def notebook_module(path: Path) -> ModuleCode:
    """:func:`cells_module` of a notebook file (:class:`NotebookError` if it cannot be read)."""
    return cells_module(read_code_cells(path), Path(path).stem)


def notebook_source(path: Path) -> str:
    return notebook_module(path).source


def code_hash(cells: list[str], stem: str) -> str:
    """The hash of the code a notebook's cells define: what "edited" is measured by."""
    return sha256(cells_module(cells, stem).source.encode())


def notebook_code_hash(path: Path) -> str | None:
    """:func:`code_hash` of a notebook file, or None if it cannot be read."""
    try:
        return code_hash(read_code_cells(path), Path(path).stem)
    except (NotebookError, ValueError):
        return None


@dataclass(frozen=True)
class Released:
    """A chapter as handed out: ``files`` maps each file name to its sha256; ``notebook_code`` is the hash of the
    code the released notebook defines."""

    files: dict = field(default_factory=dict)
    notebook_code: str | None = None


def release_entry(files: dict[str, bytes]) -> dict:
    """The manifest entry of a chapter handed out as ``files`` (name -> content)."""
    entry: dict = {"files": {name: sha256(data) for name, data in sorted(files.items())}}
    notebooks = sorted(name for name in files if name.endswith(".ipynb"))
    if notebooks:
        try:
            entry["notebook_code"] = code_hash(code_cells(files[notebooks[0]].decode()), Path(notebooks[0]).stem)
        except (NotebookError, ValueError):
            pass
    return entry


def folder_entry(folder: Path) -> dict:
    """The manifest entry of a released chapter folder, from its files as they are now."""
    return release_entry({p.name: p.read_bytes() for p in folder.iterdir()
                          if p.is_file() and p.suffix in (".py", ".ipynb")})


def find_manifest(folder: Path) -> Path | None:
    """The nearest release manifest: in ``folder`` (the one holding the chapter folders) or above it."""
    for place in (folder, *folder.parents):
        if (place / MANIFEST).is_file():
            return place / MANIFEST
    return None


def read_released(manifest: Path | None) -> dict[str, Released]:
    """``{chapter name: Released}`` from a manifest ({} when there is none or it is unreadable)."""
    if manifest is None:
        return {}
    try:
        data = json.loads(manifest.read_text())
        return {name: Released(dict(e.get("files", {})), e.get("notebook_code"))
                for name, e in data.get("chapters", {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def chapter_notebook(folder: Path, chapter: Chapter) -> Path | None:
    """The chapter's notebook in its folder: ``<topic>.ipynb``, else the folder's only notebook."""
    named = folder / f"{chapter.module}.ipynb"
    if named.is_file():
        return named
    found = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    return found[0] if len(found) == 1 else None


@dataclass
class Work:
    chapter: Chapter
    module: Path | None  # <topic>.py, if present
    notebook: Path | None  # the chapter's notebook, if present
    use: str  # "module", "notebook" or "none"
    note: str = ""  # said to the student when the choice needs explaining

    @property
    def path(self) -> Path | None:
        return {"module": self.module, "notebook": self.notebook}.get(self.use)


def find_work(folder: Path, chapter: Chapter, released: Released | None = None) -> Work:
    """Which file of the chapter ``folder`` holds the work (see the module docstring for the rule)."""
    module = folder / f"{chapter.module}.py"
    module = module if module.is_file() else None
    notebook = chapter_notebook(folder, chapter)
    if module is None and notebook is None:
        return Work(chapter, None, None, "none")
    if notebook is None:
        return Work(chapter, module, None, "module")
    if module is None:
        return Work(chapter, None, notebook, "notebook")
    if released is None or module.name not in released.files:
        return Work(chapter, module, notebook, "module")  # nothing to compare with: the module, as always
    module_edited = sha256(module.read_bytes()) != released.files[module.name]
    notebook_edited = released.notebook_code is not None and notebook_code_hash(notebook) != released.notebook_code
    if notebook_edited and not module_edited:
        return Work(chapter, module, notebook, "notebook")
    note = ""
    if notebook_edited and not same_definitions(module, notebook):
        note = (f"{module.name} and {notebook.name} were both edited: {module.name} is the one tested and graded. "
                f"To have {notebook.name} used instead, delete {module.name} (or restore it as it was handed out).")
    return Work(chapter, module, notebook, "module", note)


def _definitions(source: str) -> dict[str, str]:
    return {n.name: ast.dump(n) for n in ast.parse(source).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def same_definitions(module: Path, notebook: Path) -> bool:
    """Whether every function and class the notebook defines is the same code in the module (the two copies of
    the work agree, so which one is graded does not matter)."""
    try:
        ours, theirs = _definitions(module.read_text()), _definitions(notebook_source(notebook))
    except (SyntaxError, ValueError, NotebookError, OSError):
        return False
    return all(ours.get(name) == code for name, code in theirs.items())


def work_in(folder: Path, chapter: Chapter) -> Work:
    """:func:`find_work` with the manifest found from the chapter folder upwards (a student's repository)."""
    return find_work(folder, chapter, read_released(find_manifest(folder.parent)).get(chapter.name))


def load(work: Work, name: str):
    """Import the work as module ``name``: the ``.py``, or the module a notebook's cells define."""
    if work.use == "notebook":
        spec = importlib.util.spec_from_loader(name, NotebookLoader(work.notebook), origin=str(work.notebook))
    else:
        spec = importlib.util.spec_from_file_location(name, work.module)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class NotebookLoader(importlib.abc.Loader):
    """Loads a module from the code a notebook's cells define."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = notebook_source(self.path)
        module.__file__ = str(self.path)
        exec(compile(code, str(self.path), "exec"), module.__dict__)


class ChapterFinder(importlib.abc.MetaPathFinder):
    """Imports of other chapters' modules by name (``from sigmoid import sigmoid``) from the chapter folders of
    ``roots``, each taken from where its work is (its ``.py`` or its notebook); ``current`` (the chapter being
    run) is left to the normal import system."""

    def __init__(self, roots: list[Path], current: Chapter | None = None):
        self.roots, self.current = list(roots), current

    def find_spec(self, name, path=None, target=None):
        if path is not None or "." in name or (self.current is not None and name == self.current.topic):
            return None
        for root in self.roots:
            if not root.is_dir():
                continue
            for folder in sorted(root.iterdir()):
                m = CHAPTER_RE.match(folder.name)
                if not (m and m.group(3) == name and folder.is_dir()):
                    continue
                work = work_in(folder, Chapter.from_name(folder.name))
                if work.use == "notebook":
                    return importlib.util.spec_from_loader(name, NotebookLoader(work.notebook),
                                                           origin=str(work.notebook))
                if work.use == "module":
                    return importlib.util.spec_from_file_location(name, work.module)
        return None
