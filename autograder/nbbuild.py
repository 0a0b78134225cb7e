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
=====================  ==================================================================================

Anything the lesson does not place is added where it belongs (setup before the first code cell, the
remaining functions and the tests at the end), so a chapter without a lesson still gets a notebook: its
title, the module's docstring, the exercise cells and the test cells.

The release is nbgrader's own ``GenerateAssignment`` pipeline (its preprocessors, minus the one that
writes to a gradebook) applied to the source notebook: ``nbgrader generate_assignment`` produces the
same file. The solution notebook is the source notebook with the marker lines removed. All three are
deterministic (fixed cell ids, no outputs, no timestamps), so CI can compare the committed ones.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = re.compile(r"^#\s*(setup|tests|exercise)\b\s*:?\s*([A-Za-z_][A-Za-z0-9_]*)?\s*$")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookBuildError(Exception):
    """A lesson or suite the notebook build cannot use; the message names the file and line."""


# ------------------------------------------------------------------------------------------------ points
class _Unresolved(Exception):
    pass


def _literal(node, consts):
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, (ast.List, ast.Tuple)):  # e.g. [pytest.param(...), ...]: only the length matters
        return [None] * len(node.elts)
    raise _Unresolved


def _mark(dec, name):
    """The call node of ``@pytest.mark.<name>(...)``, or None."""
    if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == name:
        inner = dec.func.value
        if isinstance(inner, ast.Attribute) and inner.attr == "mark":
            return dec
    return None


def suite_points(path: Path) -> float:
    """Maximum points of a pytest suite (``@pytest.mark.points``, parametrize counted), read statically.

    Static so that the number does not depend on what this machine has installed (a suite skipped for a
    missing package still has its points in the notebook). Falls back to pytest's collection when a
    parametrize list is computed rather than written out.
    """
    text = path.read_text()
    tree = ast.parse(text, filename=str(path))
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = _literal(node.value, consts)
            except _Unresolved:
                pass
    total = 0.0
    try:
        for node in tree.body:
            if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")):
                continue
            points, count = 1.0, 1
            for dec in node.decorator_list:
                if (call := _mark(dec, "points")) is not None:
                    points = float(_literal(call.args[0], consts))
                elif (call := _mark(dec, "parametrize")) is not None:
                    values = call.args[1] if len(call.args) > 1 else next(
                        k.value for k in call.keywords if k.arg == "argvalues")
                    count *= len(_literal(values, consts))
            total += points * count
    except (_Unresolved, StopIteration, TypeError, IndexError):
        return _collected_points(path)
    return total


def _collected_points(path: Path) -> float:
    from dlcourse import testrun

    class Count:
        total = 0.0

        def pytest_collection_modifyitems(self, items):
            self.total += sum(dict(item.user_properties).get(testrun.POINTS, 1.0) for item in items)

    counter = Count()
    testrun.run([path], counter, extra=("--collect-only",))
    return counter.total


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
    figures: int = 0  # lesson code cells that show a figure
    lesson: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _points_text(p: float) -> str:
    return f"{p:g} point" + ("" if p == 1 else "s")


def source_notebook(chapter: Chapter, master_text: str, lesson_text: str | None, visible: list[Path],
                    visible_points: float, hidden_points: float, label: str):
    """The nbgrader source notebook (an ``nbformat`` node) of a chapter."""
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
    figures = 0
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
    return nb, figures


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
    nb, figures = source_notebook(chapter, master.read_text(), lesson, visible,
                                  sum(suite_points(p) for p in visible), sum(suite_points(p) for p in hidden), label)
    if not releases:
        return ChapterNotebooks(_writes(nb), "", "", figures, lesson is not None)
    return ChapterNotebooks(_writes(nb), _writes(release_notebook(nb, chapter)), _writes(solution_notebook(nb)),
                            figures, lesson is not None)


# ------------------------------------------------------------------------------------------------ HTML
MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({MMLorHTML: {prefer: "HTML"},
                   "HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web",
                                imageFont: null}});
</script>
"""


def local_mathjax() -> Path | None:
    """MathJax 2's ``MathJax.js`` from the ``jupyter-server-mathjax`` package, if it is installed."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    path = Path(jupyter_server_mathjax.__file__).resolve().parent / "static" / "MathJax.js"
    return path if path.is_file() else None


def lesson_html(nb, mathjax_url: str | None = None) -> str:
    """A notebook as one HTML page (nbconvert's HTMLExporter) whose formulas render without internet.

    By default MathJax is loaded from the local copy that ``jupyter-server-mathjax`` installs (MathJax 2, its
    full TeX configuration), told to use its HTML-CSS output rather than the browser's MathML, with the
    STIX-Web fonts (the only ones that package ships). ``mathjax_url``
    overrides that, e.g. with a CDN for a page published on the web.
    """
    from nbconvert import HTMLExporter

    local = None if mathjax_url else local_mathjax()
    url = mathjax_url or (local.as_uri() + "?config=TeX-AMS-MML_HTMLorMML-full,Safe" if local else None)
    exporter = HTMLExporter(mathjax_url=url) if url else HTMLExporter()
    html, _ = exporter.from_notebook_node(nb)
    if local is not None:
        html = html.replace("<!-- Load mathjax -->", MATHJAX_CONFIG + "<!-- Load mathjax -->", 1)
    return html


def execute(nb, folder: Path, timeout: float = 600):
    """Run a notebook top to bottom in ``folder`` (nbclient); raises on the first failing cell."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb
