"""Build a chapter's notebooks: the nbgrader source notebook, the release and the solution.

The source notebook is assembled from the chapter's lesson (``source/<chapter>/lesson.md``, jupytext
Markdown; optional) and its master module: markers in the lesson pull in generated cells.

=====================  ==================================================================================
lesson code cell       becomes
=====================  ==================================================================================
``# setup``            the setup cell (``dlcourse.notebook.setup``) and the module's imports cell
``# exercise: NAME``   the function (or class) ``NAME`` of the master module, with its solution region:
                       an nbgrader solution cell, or a read-only cell when it has no region
``# tests``            the autograded test cells: visible tests, then hidden tests (between nbgrader's
                       ``### BEGIN HIDDEN TESTS`` markers), each worth its suite's points
``# figure: CAPTION``  (first line of a cell of code) a build-time figure: the build runs the code in a clean
                       process and puts the PNG it draws into a Markdown cell (a cell attachment) with the
                       caption; the code itself is not in the notebooks
=====================  ==================================================================================

Anything the lesson does not place is added where it belongs (setup before the first code cell, the
remaining functions and the tests at the end), so a chapter without a lesson still gets a notebook: its
title, the module's docstring, the exercise cells and the test cells.

The release is nbgrader's own ``GenerateAssignment`` pipeline (its preprocessors, minus the one that
writes to a gradebook) applied to the source notebook: ``nbgrader generate_assignment`` produces the
same file. The solution notebook is the source notebook with the marker lines removed. All three are
deterministic (fixed cell ids, no outputs, no timestamps), so CI can compare the committed ones.

Build-time figures (:func:`draw_figure`) let a release notebook, which ships unexecuted, show a picture
before the student has written any code. Their code may use numpy and matplotlib only, never the chapters'
modules (the build refuses a cell importing one, ``dlcourse`` or ``autograder``); it runs in a separate
Python process (Agg, an empty temporary working folder, no kit folder importable, a time limit) with
matplotlib's defaults and bundled fonts, twice, and the two PNGs must be identical. The PNGs are cached by
content (code, versions of Python, numpy, matplotlib and Pillow) in ``~/.cache/dlcourse/figures``.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter, is_chapter_dir
from dlcourse.points import suite_points

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = re.compile(r"^#\s*(setup|tests|exercise)\b\s*:?\s*([A-Za-z_][A-Za-z0-9_]*)?\s*$")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
FIGURE = re.compile(r"^#\s*figure\b\s*:?\s*(.*?)\s*$")  # the first line of a build-time figure cell


class NotebookBuildError(Exception):
    """A lesson or suite the notebook build cannot use; the message names the file and line."""


# ------------------------------------------------------------------------------------------------ master
@dataclass
class Part:
    kind: str  # "module" (read-only module code) or "function"
    source: str
    name: str = ""
    solution: bool = False


def master_parts(text: str, label: str) -> tuple[str, list[Part]]:
    """The master module as ``(docstring, parts)``: top-level functions/classes one part each, the code
    between them (imports, constants) grouped into module parts."""
    tree = ast.parse(text, filename=label)
    lines = text.splitlines()
    body = list(tree.body)
    doc = ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        doc = body[0].value.value
        first_line = body[0].end_lineno + 1
        body = body[1:]
    else:
        first_line = 1
    starts = []
    for node in body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        while start - 1 >= first_line and lines[start - 2].startswith("#"):  # comments right above it
            start -= 1
        starts.append(start)
    parts: list[Part] = []
    for i, node in enumerate(body):
        end = (starts[i + 1] - 1) if i + 1 < len(body) else len(lines)
        src = "\n".join(lines[starts[i] - 1:end]).strip("\n")
        is_def = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if is_def:
            parts.append(Part("function", src, node.name, BEGIN in src))
        elif parts and parts[-1].kind == "module":
            parts[-1].source += "\n" + src
        else:
            parts.append(Part("module", src))
    return doc, parts


# ------------------------------------------------------------------------------------------------ figures
FIGURE_DPI = 90          # every build-time figure is saved at this resolution (its size is the code's figsize)
FIGURE_TIMEOUT = 60.0    # seconds a figure cell may take (numpy and matplotlib only: well under a second)
FIGURE_MAX_BYTES = 80_000  # a figure is part of every copy of the notebook: about 6 x 3.5 inches stays far below
ALWAYS_REFUSED = ("dlcourse", "autograder")  # with the chapters' modules: what a figure cell may not import

# Runs in the figure's own process: argv = kit folder, code file, PNG to write, dpi, refused module names.
_FIGURE_RUNNER = r"""
import os, sys, traceback

kit, code_file, out_file, dpi, refused = sys.argv[1:6]
kit, refused = os.path.realpath(kit), set(filter(None, refused.split(",")))


def in_kit(entry):
    path = os.path.realpath(entry or ".")
    inside = path == kit or path.startswith(kit + os.sep)
    return inside and not {"site-packages", "dist-packages"} & set(path.split(os.sep))


def editable(obj):  # setuptools' finders of an editable install (pip install -e) point into the kit
    return str(getattr(obj, "__module__", "") or "").startswith("__editable__")


sys.path[:] = [p for p in sys.path if not p.startswith("__editable__") and not in_kit(p)]
sys.meta_path[:] = [f for f in sys.meta_path if not editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not editable(h)]
sys.path_importer_cache.clear()


class Refuse:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in refused:
            raise ImportError(f"a figure cell may not import {name} (solution code): numpy and matplotlib only")
        return None


sys.meta_path.insert(0, Refuse)

import matplotlib

matplotlib.rcdefaults()  # matplotlib's own defaults, whatever matplotlibrc a machine has
matplotlib.use("Agg")
from matplotlib import font_manager

# The fonts matplotlib ships, never a system font of the same name: the same pixels on every machine.
bundled = os.path.realpath(matplotlib.get_data_path()) + os.sep
manager = font_manager.fontManager
manager.ttflist = [f for f in manager.ttflist if os.path.realpath(f.fname).startswith(bundled)]
manager.afmlist = [f for f in manager.afmlist if os.path.realpath(f.fname).startswith(bundled)]
import matplotlib.pyplot as plt

plt.show = lambda *args, **kwargs: None
with open(code_file, encoding="utf-8") as fh:
    code = fh.read()
try:
    exec(compile(code, "figure cell", "exec"), {"__name__": "__main__"})
except BaseException as exc:  # the cell's own lines, then the error (a library's frames say little here)
    lines = code.splitlines()
    tb = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    where = [f"line {f.lineno} of the cell: {lines[f.lineno - 1].strip()}" for f in tb.stack
             if f.filename == "figure cell" and f.lineno and f.lineno <= len(lines)]
    print("\n".join(where + ["".join(tb.format_exception_only()).strip()]), file=sys.stderr)
    sys.exit(3)
numbers = plt.get_fignums()
if len(numbers) != 1:
    print(f"the cell left {len(numbers)} figures open; a figure cell draws exactly one", file=sys.stderr)
    sys.exit(3)
plt.figure(numbers[0]).savefig(out_file, format="png", dpi=float(dpi), facecolor="white",
                               metadata={"Software": None})
"""


def figure_cell(source: str) -> tuple[str, str] | None:
    """``(caption, code)`` of a lesson code cell marked ``# figure: CAPTION`` (comment lines right below the
    marker continue the caption), or None for any other cell."""
    lines = source.strip("\n").split("\n")
    m = FIGURE.match(lines[0].strip())
    if m is None:
        return None
    caption = [m.group(1)]
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        caption.append(line.lstrip("#").strip())
    return " ".join(c for c in caption if c).strip(), source


def _refused_imports(code: str, refused: set[str], where: str) -> None:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise NotebookBuildError(f"{where}: syntax error in line {exc.lineno} of the cell: {exc.msg}") from None
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise NotebookBuildError(f"{where}: a figure cell may not import relatively (line {node.lineno} "
                                         "of the cell); use numpy and matplotlib only")
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and (
                    (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                    or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")):
            names = [node.args[0].value]
        for name in names:
            top = name.partition(".")[0]
            if top in refused:
                what = "the grader" if top == "autograder" else (
                    "the student runtime" if top == "dlcourse" else "a chapter's module")
                raise NotebookBuildError(
                    f"{where}: imports {name!r} (line {node.lineno} of the cell), {what}: a figure is drawn at build "
                    "time from the lesson's own numbers with numpy and matplotlib, never with solution code")


def _figure_cache() -> Path | None:
    """Where drawn figures are kept (by content), or None: ``$DLCOURSE_FIGURE_CACHE`` (``off`` for none), else
    ``$XDG_CACHE_HOME/dlcourse/figures`` or ``~/.cache/dlcourse/figures``, else (no writable home) a folder in
    the temporary directory. Entries are keyed by the code and the versions that draw it: a stale one is
    never read, and deleting the folder only costs a redraw."""
    setting = os.environ.get("DLCOURSE_FIGURE_CACHE")
    if setting is not None and setting.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    if setting:
        candidates = [Path(setting)]
    else:
        home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        candidates = [Path(home) / "dlcourse" / "figures", Path(tempfile.gettempdir()) / f"dlcourse-figures-{user}"]
    for base in candidates:
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(base, os.W_OK):
            return base
    return None


def _matplotlib_config() -> Path | None:
    """MPLCONFIGDIR of the figure processes: a folder of the kit's own (no user's matplotlibrc is read there) where
    matplotlib keeps its font list between runs. Only matplotlib's bundled fonts are used, whatever the list holds."""
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(home) / "dlcourse" / "matplotlib"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist in ("numpy", "matplotlib", "pillow"):
        try:
            found.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            found.append(f"{dist} missing")
    return f"python {sys.version_info[0]}.{sys.version_info[1]}; " + "; ".join(found)


def _run_figure(code: str, kit: Path, refused: set[str], where: str, mplconfig: Path) -> bytes:
    with tempfile.TemporaryDirectory(prefix="dlcourse-figure-") as tmp:
        work = Path(tmp) / "work"  # the code's working folder: empty
        work.mkdir()
        (Path(tmp) / "runner.py").write_text(_FIGURE_RUNNER, encoding="utf-8")
        (Path(tmp) / "cell.py").write_text(code, encoding="utf-8")
        out = Path(tmp) / "figure.png"
        env = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP") if k in os.environ}
        env.update(MPLBACKEND="Agg", MPLCONFIGDIR=str(mplconfig), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONUTF8="1", SOURCE_DATE_EPOCH="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        cmd = [sys.executable, str(Path(tmp) / "runner.py"), str(kit), str(Path(tmp) / "cell.py"), str(out),
               str(FIGURE_DPI), ",".join(sorted(refused))]
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=FIGURE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise NotebookBuildError(f"{where}: took longer than {FIGURE_TIMEOUT:g} s") from None
        if proc.returncode != 0 or not out.is_file():
            detail = "\n".join(proc.stderr.strip().splitlines()[-12:]) or f"exit status {proc.returncode}"
            raise NotebookBuildError(f"{where}: the figure code failed:\n{detail}")
        return out.read_bytes()


def draw_figure(code: str, where: str, kit: Path | None = None, refused: set[str] | frozenset = frozenset(),
                cache: bool = True) -> bytes:
    """The PNG a figure cell draws: checked for imports of ``refused`` modules (and ``dlcourse``, ``autograder``),
    run twice in clean processes (the two PNGs must be identical), at most ``FIGURE_MAX_BYTES``.

    ``where`` names the lesson and the cell in every error. ``cache=False`` draws even when the cache holds
    the figure."""
    refused = set(refused) | set(ALWAYS_REFUSED)
    _refused_imports(code, refused, where)
    store = _figure_cache()
    recipe = [code, _FIGURE_RUNNER, FIGURE_DPI, _versions(), sorted(refused)]
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()
    cached = store / f"{key}.png" if store else None
    if cache and cached is not None and cached.is_file():
        return cached.read_bytes()
    with tempfile.TemporaryDirectory(prefix="dlcourse-mpl-") as tmp:
        mplconfig = _matplotlib_config() or Path(tmp)  # matplotlib's font list, built once
        kit = (kit or Path(tmp)).resolve()
        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(_run_figure, code, kit, refused, where, mplconfig) for _ in range(2)]
            first, second = (r.result() for r in runs)
    if first != second:
        raise NotebookBuildError(f"{where}: draws a different picture each time it runs (unseeded randomness? "
                                 "use np.random.default_rng(SEED)); the committed notebooks must not change")
    if len(first) > FIGURE_MAX_BYTES:
        raise NotebookBuildError(f"{where}: the PNG has {len(first)} bytes, more than {FIGURE_MAX_BYTES}: make "
                                 "the figure smaller (figsize about 6 x 3.5) or plainer")
    if cached is not None:
        tmp_file = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        try:
            tmp_file.write_bytes(first)
            tmp_file.replace(cached)
        except OSError:
            pass
    return first


def kit_modules(source: Path) -> set[str]:
    """The chapters' module names (``sigmoid``, ``losses``, ...) in a kit's ``source/`` folder."""
    if not source.is_dir():
        return set()
    return {Chapter.from_name(p.name).module for p in source.iterdir() if is_chapter_dir(p)}


def figure_markdown(caption: str, name: str, png: bytes, cell_id: str):
    """The Markdown cell that shows a build-time figure: the PNG as a cell attachment, then its caption."""
    from nbformat.v4 import new_markdown_cell

    alt = caption.replace("[", "(").replace("]", ")")
    return new_markdown_cell(f"![{alt}](attachment:{name})\n\n*{caption}*", id=cell_id,
                             attachments={name: {"image/png": base64.b64encode(png).decode("ascii")}})


# ------------------------------------------------------------------------------------------------ cells
def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    nb = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        nb["points"] = points
    return {"nbgrader": nb}


@dataclass
class ChapterNotebooks:
    source: str   # the nbgrader source notebook (solutions and hidden tests between nbgrader's markers)
    release: str  # what students get (nbgrader's GenerateAssignment pipeline)
    solution: str  # the source with the markers removed
    figures: int = 0  # lesson cells that show a figure (demos ending in plt.show(), build-time figures)
    lesson: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _points_text(p: float) -> str:
    return f"{p:g} point" + ("" if p == 1 else "s")


def source_notebook(chapter: Chapter, master_text: str, lesson_text: str | None, visible: list[Path],
                    visible_points: float, hidden_points: float, label: str, draw=None):
    """The nbgrader source notebook (an ``nbformat`` node) of a chapter.

    ``draw(code, where)`` returns the PNG of a build-time figure cell (default: :func:`draw_figure`)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    topic = chapter.topic
    doc, parts = master_parts(master_text, label)
    names = [p.name for p in parts if p.kind == "function"]
    marker = f"# {topic}.py:"

    def setup_cells():
        cells = [new_code_cell(
            "# Setup (read-only): run this cell first. It tells the test cells which chapter this is.\n"
            "from dlcourse.notebook import setup\n"
            f"setup({chapter.name!r}, defines={names!r})", id="setup", metadata=_meta("setup", locked=True))]
        mods = [p for p in parts if p.kind == "module"]
        if mods:
            cells.append(new_code_cell(f"{marker} the imports and module-level names your functions are graded "
                                       "with (read-only).\n" + mods[0].source, id="imports",
                                       metadata=_meta("imports", locked=True)))
        return cells

    emitted: set[int] = set()
    first_module = next((i for i, p in enumerate(parts) if p.kind == "module"), None)
    if first_module is not None:
        emitted.add(first_module)  # goes with the setup cell

    def part_cell(i: int):
        p = parts[i]
        emitted.add(i)
        if p.kind == "module":
            return new_code_cell(f"{marker} module code (read-only).\n{p.source}", id=f"module-{i}",
                                 metadata=_meta(f"module_{i}", locked=True))
        if p.solution:
            return new_code_cell(p.source, id=f"fn-{p.name}", metadata=_meta(p.name, solution=True))
        return new_code_cell(p.source, id=f"fn-{p.name}", metadata=_meta(p.name, locked=True))

    def exercise_cells(name: str | None, where: str):
        idx = next((i for i, p in enumerate(parts) if p.kind == "function" and p.name == name), None)
        if idx is None:
            raise NotebookBuildError(f"{where}: no function or class {name!r} in {topic}.py "
                                     f"(it has {', '.join(names) or 'none'})")
        cells = [part_cell(i) for i in range(idx) if i not in emitted and not parts[i].solution]
        if idx not in emitted:
            cells.append(part_cell(idx))
        return cells

    def test_cells():
        files = ", ".join(p.name for p in visible)
        cells = [new_code_cell(
            f"# Visible tests ({_points_text(visible_points)}): the tests of {files}, run on your functions above.\n"
            "from dlcourse.notebook import visible_tests\n"
            "visible_tests()", id="visible-tests",
            metadata=_meta("visible_tests", grade=True, locked=True, points=visible_points))]
        if hidden_points:
            cells.append(new_code_cell(
                f"# Hidden tests ({_points_text(hidden_points)}): they run when your notebook is graded.\n"
                f"{BEGIN_HIDDEN}\nfrom dlcourse.notebook import hidden_tests\nhidden_tests()\n{END_HIDDEN}",
                id="hidden-tests", metadata=_meta("hidden_tests", grade=True, locked=True, points=hidden_points)))
        return cells

    cells = []
    placed = {"setup": False, "tests": False}
    figures = static = 0
    if lesson_text is None:
        text = _doc_to_markdown(doc) if doc else ""
        first, _, rest = text.partition("\n")
        if first.startswith("Chapter"):  # the docstring's first line is the title
            intro = f"# {first.rstrip('.')}" + (f"\n\n{rest.strip()}" if rest.strip() else "")
        else:
            intro = f"# Chapter {chapter.number}: {topic.replace('_', ' ')}" + (f"\n\n{text}" if text else "")
        intro += ("\n\nWrite the functions below (replace each `raise NotImplementedError()`), then run the "
                  "test cells at the end.")
        cells.append(new_markdown_cell(intro, id="title"))
    else:
        import jupytext

        lesson = jupytext.reads(lesson_text, fmt="md")
        n = 0
        for cell in lesson.cells:
            src = cell.source.strip()
            m = PLACEHOLDER.match(src) if cell.cell_type == "code" else None
            figure = figure_cell(cell.source) if cell.cell_type == "code" else None
            if figure is not None:  # drawn now; only the picture and its caption go into the notebooks
                caption, code = figure
                n += 1
                static += 1
                marker = src.split("\n", 1)[0]
                line = lesson_text.count("\n", 0, max(0, lesson_text.find(marker))) + 1
                shown = marker if len(marker) <= 70 else marker[:69] + "…"
                where = f"{label.rsplit('/', 1)[0]}/lesson.md:{line}: figure cell `{shown}`"
                if not caption:
                    raise NotebookBuildError(f"{where}: a figure needs a caption: `# figure: what the picture shows`")
                png = (draw or draw_figure)(code, where)
                cells.append(figure_markdown(caption, f"{topic}-figure-{static}.png", png, f"lesson-{n:02d}"))
                continue
            if m is None:
                if cell.cell_type == "code" and not placed["setup"]:
                    cells += setup_cells()
                    placed["setup"] = True
                n += 1
                if cell.cell_type == "code":
                    figures += "plt.show()" in cell.source
                    cells.append(new_code_cell(cell.source, id=f"lesson-{n:02d}"))
                elif cell.cell_type == "markdown":
                    cells.append(new_markdown_cell(cell.source, id=f"lesson-{n:02d}"))
                else:
                    cells.append(nbformat.v4.new_raw_cell(cell.source, id=f"lesson-{n:02d}"))
                continue
            kind, name = m.group(1), m.group(2)
            where = f"{label.rsplit('/', 1)[0]}/lesson.md: `{src}`"
            if kind in placed:
                if placed[kind]:
                    raise NotebookBuildError(f"{where}: placed twice")
                if kind == "setup":
                    cells += setup_cells()
                else:
                    if not placed["setup"]:
                        raise NotebookBuildError(f"{where}: the tests come after the setup cell")
                    cells += [part_cell(i) for i in range(len(parts)) if i not in emitted]
                    cells += test_cells()
                placed[kind] = True
            else:
                if not placed["setup"]:
                    cells += setup_cells()
                    placed["setup"] = True
                cells += exercise_cells(name, where)
    if not placed["setup"]:
        cells += setup_cells()
    if not placed["tests"]:
        cells += [part_cell(i) for i in range(len(parts)) if i not in emitted]
        cells += test_cells()
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    return nb, figures + static


def _doc_to_markdown(doc: str) -> str:
    """A module docstring as Markdown: reST ``code`` becomes `code`."""
    import inspect

    return re.sub(r"``([^`]+)``", r"`\1`", inspect.cleandoc(doc))


def _writes(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def release_notebook(nb, chapter: Chapter):
    """nbgrader's GenerateAssignment preprocessors (all but SaveCells, which writes the gradebook)."""
    import copy

    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    out = copy.deepcopy(nb)
    resources = {"nbgrader": {"assignment": chapter.name, "notebook": chapter.topic, "student": ".",
                              "db_url": ""}, "unique_key": chapter.topic}
    for cls in GenerateAssignment.class_traits()["preprocessors"].default():
        if cls is SaveCells:
            continue
        out, resources = cls().preprocess(out, resources)
    return out


def solution_notebook(nb):
    """The source notebook with the solution marker lines removed (read-only cells locked as in the release)."""
    import copy

    from nbgrader.preprocessors import ClearOutput, LockCells

    out = copy.deepcopy(nb)
    out, _ = LockCells().preprocess(out, {})
    out, _ = ClearOutput().preprocess(out, {})
    markers = (BEGIN, END)  # the hidden-test markers stay: the cell is then nbgrader's own, checksum and all
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(ln for ln in cell.source.split("\n") if ln.strip() not in markers)
    return out


def chapter_notebooks(chapter: Chapter, folder: Path, hidden_folder: Path | None,
                      releases: bool = True) -> ChapterNotebooks:
    """The notebooks of the chapter in ``folder`` (``source/<chapter>``); ``releases=False`` skips the release
    and the solution (nbgrader is then not needed)."""
    master = folder / f"{chapter.module}.py"
    label = f"source/{chapter.name}/{master.name}"
    visible = sorted(folder.glob("test_*.py"))
    hidden = sorted(hidden_folder.glob("test_*.py")) if hidden_folder and hidden_folder.is_dir() else []
    lesson_path = folder / "lesson.md"
    lesson = lesson_path.read_text() if lesson_path.is_file() else None
    kit = folder.resolve().parent.parent
    refused = kit_modules(folder.parent) | {chapter.module}

    def draw(code: str, where: str) -> bytes:
        return draw_figure(code, where, kit, refused)

    nb, figures = source_notebook(chapter, master.read_text(), lesson, visible,
                                  sum(suite_points(p) for p in visible), sum(suite_points(p) for p in hidden), label,
                                  draw)
    if not releases:
        return ChapterNotebooks(_writes(nb), "", "", figures, lesson is not None)
    return ChapterNotebooks(_writes(nb), _writes(release_notebook(nb, chapter)), _writes(solution_notebook(nb)),
                            figures, lesson is not None)
