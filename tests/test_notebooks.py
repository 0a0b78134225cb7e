"""Chapter notebooks: the release, the executed solutions, notebook grading (dlcourse grade and nbgrader), lessons.

Slow parts run at once: when the module starts, the nbgrader course (generate_assignment, autograde, feedback and
export, on two copies of the course with their own gradebooks) and `dlcourse grade` on two notebook submissions
start as background processes, while the solution notebooks execute here; the tests then read what those runs
produced. Wall time on 2 cores: about 3 minutes for 21 chapters.
"""
from __future__ import annotations

import ast
import base64
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from dlcourse.chapters import Chapter, list_chapters
from autograder.nbbuild import BEGIN, END
from dlcourse.lesson import lesson_html
from dlcourse.nbmodule import module_code, read_code_cells

from .grading import ROOT, per_chapter, run_grade, without_torch

CHAPTERS = list_chapters(ROOT / "source")
NOTEBOOK_BUDGET = 120.0  # seconds: a solution notebook (lesson demos + grading its chapter) must run within this
LESSONS = [c for c in CHAPTERS if (ROOT / "source" / c.name / "lesson.md").is_file()]


def nb_path(tree: str, chapter: Chapter) -> Path:
    return ROOT / tree / chapter.name / f"{chapter.topic}.ipynb"


def notebook_submission(dest: Path, tree: str) -> Path:
    """A submission as a student working in notebooks hands it in: one folder per chapter with its notebook."""
    for chapter in CHAPTERS:
        (dest / chapter.name).mkdir(parents=True)
        shutil.copy(nb_path(tree, chapter), dest / chapter.name)
    return dest


TAMPERED = '''
import dlcourse.notebook as _nb
_nb.visible_tests = _nb.hidden_tests = lambda: 3.0  # claims full marks without doing the work
'''


class Background:
    """A shell script running while the tests go on; ``result()`` waits for it."""

    def __init__(self, script: str, cwd: Path, log: Path):
        self.log, self.start = log, time.monotonic()
        self.proc = subprocess.Popen(["bash", "-c", script], cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.seconds: float | None = None

    def result(self, timeout: float = 900) -> str:
        code = self.proc.wait(timeout=timeout)
        if self.seconds is None:
            self.seconds = time.monotonic() - self.start
        text = self.log.read_text()
        assert code == 0, f"background run failed (exit {code}):\n{text[-4000:]}"
        return text

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="module", autouse=True)
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("notebook-runs")
    # 1. The nbgrader course, on copies of the kit with their own gradebooks (two, so that the two autograde runs
    #    share the machine's cores): alice hands in the solution notebooks; bob the untouched release, and
    #    mallory a notebook whose code claims its own score.
    courses = {}
    for name, students in (("course-a", ("alice",)), ("course-b", ("bob", "mallory"))):
        course = courses[name] = base / name
        for tree in ("source", "exercises", "solutions", "autograder"):  # a course folder is a whole kit
            shutil.copytree(ROOT / tree, course / tree,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        shutil.copy(ROOT / "nbgrader_config.py", course)
        if "alice" in students:
            notebook_submission(course / "submitted" / "alice", "solutions")
        if "bob" in students:
            notebook_submission(course / "submitted" / "bob", "exercises")
    sig = Chapter.from_name("ch1_3_sigmoid")
    nb = nbformat.read(nb_path("exercises", sig), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid")
    cell.source += "\n" + TAMPERED
    (courses["course-b"] / "submitted" / "mallory" / sig.name).mkdir(parents=True)
    nbformat.write(nb, courses["course-b"] / "submitted" / "mallory" / sig.name / f"{sig.topic}.ipynb")
    script = ('nbgrader generate_assignment "*" --log-level=WARN && '
              'start=$SECONDS && nbgrader autograde "*" --log-level=INFO && '
              'echo "AUTOGRADE_SECONDS $((SECONDS - start))" && '
              'nbgrader generate_feedback ch1_3_sigmoid --log-level=WARN && nbgrader export --log-level=WARN')
    nbgrader = {name: Background(script, course, base / f"{name}.log") for name, course in courses.items()}
    # 2. `dlcourse grade` on the same two notebook submissions.
    subs = {name: notebook_submission(base / "grade" / name, tree)
            for name, tree in (("alice", "solutions"), ("bob", "exercises"))}
    grade = Background(" && ".join(f"{sys.executable} -m dlcourse.cli grade {subs[n]} --json {base / n}.json"
                                   for n in subs), ROOT, base / "grade.log")
    yield {"base": base, "courses": courses, "nbgrader": nbgrader, "grade": grade}
    for job in [*nbgrader.values(), grade]:
        job.stop()


@pytest.fixture(scope="module")
def executed(runs):
    """Every solution notebook, executed top to bottom in its folder: ``{chapter: (notebook, seconds)}``."""
    from dlcourse.lesson import execute

    out = {}
    for chapter in CHAPTERS:
        nb = nbformat.read(nb_path("solutions", chapter), as_version=4)
        start = time.monotonic()
        try:
            execute(nb, nb_path("solutions", chapter).parent, timeout=NOTEBOOK_BUDGET)
        except Exception as exc:  # noqa: BLE001 - reported per chapter below
            nb = exc
        out[chapter] = (nb, time.monotonic() - start)
    return out


# ------------------------------------------------------------------------------------------------ release
@pytest.mark.parametrize("chapter", CHAPTERS, ids=str)
def test_release_notebook_has_stubs_and_visible_tests_only(chapter):
    text = nb_path("exercises", chapter).read_text()
    nb = nbformat.reads(text, as_version=4)
    master = (ROOT / "source" / chapter.name / f"{chapter.topic}.py").read_text()
    for marker in (BEGIN, END, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{chapter.name}: the release holds {marker!r}"
    # No line of a solution region survives (lines that also occur outside the regions do not count).
    inside, outside, region = set(), set(), False
    for line in master.splitlines():
        if BEGIN in line or END in line:
            region = BEGIN in line
            continue
        (inside if region else outside).add(line.strip())
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # The module's cells (lesson demos may show code of their own on purpose).
    code_lines = {ln.strip() for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata
                  for ln in c.source.splitlines()}
    leaked = [ln for ln in inside - outside if len(ln) > 3 and not ln.startswith("#") and ln in code_lines]
    assert not leaked, f"{chapter.name}: solution code in the release: {leaked[:5]}"
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("raise NotImplementedError()" in c.source for c in solutions)
    # The hidden suite: no call, no test of it, nothing but the comment that says when it runs.
    assert "hidden_tests" not in code
    hidden_names = set()
    for path in (ROOT / "autograder" / chapter.name).glob("test_*.py"):
        hidden_names |= {n.name for n in ast.parse(path.read_text()).body
                         if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    assert not {n for n in hidden_names if n in text}
    graded = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert "visible_tests()" in graded["visible_tests"].source
    if "hidden_tests" in graded:
        assert graded["hidden_tests"].source.strip().startswith("# Hidden tests")
        assert len(graded["hidden_tests"].source.strip().splitlines()) == 1


def test_every_chapter_has_a_notebook_and_lessons_keep_their_order():
    for chapter in CHAPTERS:
        for tree in ("exercises", "solutions"):
            assert nb_path(tree, chapter).is_file(), f"{tree}/{chapter.name} has no notebook"
    assert {c.name for c in LESSONS} >= {"ch1_1_arrays", "ch1_2_matrix_ops", "ch1_3_sigmoid", "ch2_1_losses",
                                         "ch2_2_gradient_descent", "ch2_3_minibatch", "ch2_4_numerical_gradients"}
    nb = nbformat.read(nb_path("exercises", Chapter.from_name("ch1_3_sigmoid")), as_version=4)
    ids = [c.id for c in nb.cells]
    assert ids.index("setup") < ids.index("imports") < ids.index("fn-sigmoid") < ids.index("fn-sigmoid_derivative") \
        < ids.index("visible-tests") < ids.index("hidden-tests")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# 1.3")
    assert any("$$" in c.source for c in nb.cells if c.cell_type == "markdown")


LESSON = """# 9.1 A demo chapter

Doubling, $y = 2x$.

```python
# exercise: {name}
```

```python
print(f(3))
```
"""


@pytest.mark.parametrize("name, ok", [("f", True), ("nope", False)])
def test_lesson_placeholders(tmp_path, name, ok):
    from autograder.build import BuildError, build

    kit = tmp_path / "kit" / "source" / "ch9_1_demo"
    kit.mkdir(parents=True)
    (kit / "demo.py").write_text('"""Chapter 9.1: a demo."""\nimport numpy as np\n\n\ndef f(x):\n    """Double x."""\n'
                                 "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n")
    (kit / "test_demo.py").write_text('def test_f(student):\n    """f: doubles"""\n    assert student.f(1) == 2\n')
    (kit / "lesson.md").write_text(LESSON.format(name=name))
    if not ok:
        with pytest.raises(BuildError, match=r"ch9_1_demo/lesson.md: `# exercise: nope`: no function or class 'nope'"):
            build(kit.parent.parent)
        return
    build(kit.parent.parent)
    nb = nbformat.read(kit.parent.parent / "exercises" / "ch9_1_demo" / "demo.ipynb", as_version=4)
    assert [c.id for c in nb.cells] == ["lesson-01", "setup", "imports", "fn-f", "lesson-02", "visible-tests"]
    assert "raise NotImplementedError()" in nb.cells[3].source and "2 * x" not in nb.cells[3].source
    assert nb.cells[-1].metadata["nbgrader"]["points"] == 1
    assert (kit.parent.parent / "build" / "nbgrader_source" / "ch9_1_demo" / "test_demo.py").is_file()


# ------------------------------------------------------------------------------------------------ figures
def figure_cells(nb) -> list[tuple[int, str, bytes]]:
    """The Markdown cells that show a build-time figure: ``(index, caption, PNG bytes)`` each."""
    found = []
    for i, cell in enumerate(nb.cells):
        for name, data in (cell.get("attachments") or {}).items():
            if cell.cell_type == "markdown" and f"](attachment:{name})" in cell.source and "image/png" in data:
                caption = re.sub(r"!\[[^\]]*\]\(attachment:[^)]+\)", "", cell.source).strip().strip("*").strip()
                found.append((i, caption, base64.b64decode(data["image/png"])))
    return found


def png_chunks(png: bytes) -> list[str]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        chunks.append(png[at + 4:at + 8].decode("ascii"))
        at += 12 + length
    return chunks


@pytest.mark.parametrize("chapter", CHAPTERS, ids=str)
def test_release_notebook_shows_a_figure_before_the_first_exercise(chapter):
    """As it ships (never run), the release shows a captioned figure before the student's first code cell; the
    solution notebook shows the same one, and neither holds the code that drew it."""
    import numpy as np
    from PIL import Image

    from autograder.nbbuild import FIGURE_MAX_BYTES

    release = nbformat.read(nb_path("exercises", chapter), as_version=4)
    assert not [c for c in release.cells if c.cell_type == "code" and c.get("outputs")]
    first_exercise = next(i for i, c in enumerate(release.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    figures = figure_cells(release)
    assert figures and figures[0][0] < first_exercise, f"{chapter.name}: no figure before the first exercise cell"
    for _, caption, png in figures:
        assert len(caption.split()) >= 10 and caption[0].isupper() and caption.endswith("."), caption
        assert len(png) < FIGURE_MAX_BYTES and png_chunks(png)[0] == "IHDR"
        assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(png_chunks(png)), "metadata in the PNG"
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and 400 <= image.width <= 900 and 200 <= image.height <= 500
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
        assert (pixels.min(axis=1) < 200).mean() > 0.01 and len(np.unique(pixels, axis=0)) > 50  # a drawing
    solution = nbformat.read(nb_path("solutions", chapter), as_version=4)
    assert [f[1:] for f in figure_cells(solution)] == [f[1:] for f in figures]
    for tree in ("exercises", "solutions"):
        assert "# figure:" not in nb_path(tree, chapter).read_text()


FIGURE_LESSON = """# 9.1 A demo chapter

Doubling, $y = 2x$.

```python
# figure: Doubling the lesson's numbers, drawn when the chapter is built.
{code}
```

```python
# exercise: f
```
"""
SEEDED = """import numpy as np
import matplotlib.pyplot as plt

x = np.random.default_rng(3).normal(size=40)
fig, ax = plt.subplots(figsize=(5, 3))
ax.scatter(x, 2 * x, s=8)
ax.set_title("y = 2x")"""


def figure_kit(tmp_path: Path, code: str) -> Path:
    """A kit of one chapter, ``ch9_1_demo``, whose lesson holds one figure cell with ``code``."""
    folder = tmp_path / "kit" / "source" / "ch9_1_demo"
    folder.mkdir(parents=True)
    master = ('"""Chapter 9.1: a demo."""\nimport numpy as np\n\n\ndef f(x):\n    """Double x."""\n'
              "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n")
    (folder / "demo.py").write_text(master)
    (folder / "test_demo.py").write_text('def test_f(student):\n    """f: doubles"""\n    assert student.f(1) == 2\n')
    (folder / "lesson.md").write_text(FIGURE_LESSON.format(code=code))
    return tmp_path / "kit"


@pytest.mark.parametrize("code, imported", [
    ("import demo", "demo"),
    ("from demo import f as double", "demo"),
    ("import numpy as np\nfrom dlcourse.mnist import load_mnist", "dlcourse.mnist"),
    ("import autograder.reference", "autograder.reference"),
    ("import importlib\ndemo = importlib.import_module('demo')", "demo"),
], ids=["chapter-module", "from-chapter-module", "dlcourse", "autograder", "import_module"])
def test_a_figure_cell_that_imports_solution_code_is_refused(tmp_path, code, imported):
    from autograder.build import BuildError, build

    kit = figure_kit(tmp_path, code)
    marker = "# figure: Doubling the lesson's numbers, drawn when the chapter is built."
    where = re.escape(f"source/ch9_1_demo/lesson.md:{FIGURE_LESSON.splitlines().index(marker) + 1}: figure cell "
                      f"`{marker[:40]}")   # the cell, by its first line (cut short in the message)
    with pytest.raises(BuildError, match=where + r".*`: imports " + re.escape(repr(imported))):
        build(kit)
    assert not (kit / "exercises").exists()  # refused before anything was written


def test_a_figure_cell_runs_apart_from_the_kit(tmp_path, monkeypatch):
    """The code runs in its own process: an empty working folder, no kit folder on sys.path, a computed import of
    solution code refused there too, and a time limit."""
    from autograder import nbbuild
    from autograder.build import BuildError, build

    probe = SEEDED + (f"\nimport os, sys\nassert os.listdir('.') == [], os.listdir('.')\n"
                      f"assert not [p for p in sys.path if p.startswith({str(tmp_path)!r})], sys.path\n"
                      "assert 'dlcourse' not in sys.modules and 'autograder' not in sys.modules\n")
    kit = figure_kit(tmp_path, probe)
    monkeypatch.chdir(kit / "source" / "ch9_1_demo")   # the kit's folders are where the build runs from
    monkeypatch.setenv("PYTHONPATH", str(kit / "source" / "ch9_1_demo"))
    build(kit)
    assert figure_cells(nbformat.read(kit / "exercises" / "ch9_1_demo" / "demo.ipynb", as_version=4))
    kit = figure_kit(tmp_path / "b", "import importlib\nname = 'dl' + 'course'\nimportlib.import_module(name)")
    with pytest.raises(BuildError, match=r"(?s)figure code failed.*line 4 of the cell: importlib.import_module\(name\)"
                                         r".*ImportError: a figure cell may not import dlcourse"):
        build(kit)
    monkeypatch.setattr(nbbuild, "FIGURE_TIMEOUT", 1.0)
    kit = figure_kit(tmp_path / "c", "import time\ntime.sleep(30)")
    with pytest.raises(BuildError, match="figure cell .*: took longer than 1 s"):
        build(kit)


def test_a_build_with_figures_is_deterministic(tmp_path, monkeypatch):
    """Two renders, each drawing its figure afresh, give the same bytes; a figure that differs between runs is
    refused before it could make `dlcourse build --check` fail elsewhere."""
    from autograder.build import BuildError, render

    monkeypatch.setenv("DLCOURSE_FIGURE_CACHE", "off")   # draw every time, never read a cached PNG
    kit = figure_kit(tmp_path, SEEDED)
    first, second = render(kit / "source"), render(kit / "source")
    assert first == second
    for tree in ("exercises", "solutions"):
        text = first[f"{tree}/ch9_1_demo/demo.ipynb"]
        figures = figure_cells(nbformat.reads(text, as_version=4))
        assert len(figures) == 1 and figures[0][1] == "Doubling the lesson's numbers, drawn when the chapter is built."
        assert "default_rng(3)" not in text and "image/png" in text
    (kit / "source" / "ch9_1_demo" / "lesson.md").write_text(FIGURE_LESSON.format(
        code=SEEDED.replace("default_rng(3)", "default_rng()")))
    with pytest.raises(BuildError, match="draws a different picture each time it runs"):
        render(kit / "source")


# ------------------------------------------------------------------------------------------------ module rule
def test_module_rule_last_definition_helpers_and_syntax_errors():
    cells = ["# sigmoid.py: imports\nimport numpy as np",
             "def sigmoid(Z):\n    return 0",
             "import math\n",
             "def _helper(z):\n    return math.exp(z)",
             "x = sigmoid(1)\nplt.plot(x)",  # a demo: never part of the module
             "def sigmoid(Z):\n    return _helper(Z)",
             "def sigmoid_derivative(Z)\n    return 1"]
    code = module_code(cells, "sigmoid", ["sigmoid", "sigmoid_derivative"])
    assert "return 0" not in code.source and "return _helper(Z)" in code.source
    assert "import math" in code.source and "def _helper" in code.source and "plt.plot" not in code.source
    assert len(code.notes) == 1 and "syntax error" in code.notes[0]
    ns = {}
    exec(compile(code.source, "m", "exec"), ns)
    assert ns["sigmoid"](0.0) == 1.0


def test_malformed_notebook_costs_its_chapter_only(tmp_path):
    sub = tmp_path / "sub"
    for name in ("ch1_1_arrays", "ch1_3_sigmoid"):
        (sub / name).mkdir(parents=True)
    ch11, ch13 = Chapter.from_name("ch1_1_arrays"), Chapter.from_name("ch1_3_sigmoid")
    shutil.copy(nb_path("solutions", ch11), sub / ch11.name)
    (sub / ch13.name / "sigmoid.ipynb").write_text('{"cells": [')
    results, proc = run_grade(sub, tmp_path, "--chapters", "1.1,1.3")
    got = per_chapter(results)
    assert got["1.1"][0] == got["1.1"][1] > 0 and got["1.3"][0] == 0
    assert "sigmoid.ipynb is not a readable notebook (invalid JSON" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_untouched_stub_gives_way_to_the_notebook_and_an_edited_module_wins(tmp_path):
    chapter = Chapter.from_name("ch1_3_sigmoid")
    sub = tmp_path / "sub" / chapter.name
    shutil.copytree(ROOT / "exercises" / chapter.name, sub)
    shutil.copy(nb_path("solutions", chapter), sub)  # solved in the notebook, the .py stub untouched
    results, _ = run_grade(sub.parent, tmp_path, "--chapters", "1.3")
    assert per_chapter(results)["1.3"][0] == per_chapter(results)["1.3"][1]
    (sub / "sigmoid.py").write_text((sub / "sigmoid.py").read_text() + "\n# edited\n")  # the module is the work now
    results, _ = run_grade(sub.parent, tmp_path, "--chapters", "1.3")
    assert per_chapter(results)["1.3"][0] == 0


def test_visible_tests_at_home_run_beside_the_notebook(monkeypatch):
    """Without the hidden suites (a student's install) the visible cell runs the visible tests in the kernel."""
    from dlcourse import notebook

    chapter = Chapter.from_name("ch1_3_sigmoid")
    monkeypatch.chdir(ROOT / "exercises" / chapter.name)
    solved = module_code(read_code_cells(nb_path("solutions", chapter)), "sigmoid", ["sigmoid", "sigmoid_derivative"])
    results = notebook._home_visible(chapter, solved)
    assert len(results) == 3 and all(r.score == r.max_score == 1 for r in results)
    stub = module_code(read_code_cells(nb_path("exercises", chapter)), "sigmoid", ["sigmoid", "sigmoid_derivative"])
    results = notebook._home_visible(chapter, stub)
    assert all(r.score == 0 and "not implemented yet" in r.message for r in results)


# ------------------------------------------------------------------------------------------------ execution
@pytest.mark.parametrize("chapter", CHAPTERS, ids=str)
def test_solution_notebook_runs_cleanly_with_its_figures_and_full_marks(executed, chapter):
    nb, seconds = executed[chapter]
    if isinstance(nb, Exception):
        pytest.fail(f"{chapter.name}: the solution notebook failed: {str(nb)[-1500:]}")
    assert seconds < NOTEBOOK_BUDGET, f"{chapter.name} took {seconds:.0f} s (budget {NOTEBOOK_BUDGET:.0f} s)"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", f"{chapter.name}: {out.ename}: {out.evalue}"
            assert not (out.output_type == "stream" and out.name == "stderr"), f"{chapter.name}: stderr {out.text}"
        if "plt.show()" in cell.source:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), f"{chapter.name}: no figure"
        grade = cell.metadata.get("nbgrader", {})
        if grade.get("grade"):
            value = [o for o in cell.outputs if o.output_type == "execute_result"]
            assert value and float(value[0].data["text/plain"]) == grade["points"], \
                f"{chapter.name} {grade['grade_id']}: {[o.get('text') for o in cell.outputs]}"
    if chapter in LESSONS:
        assert sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs) >= 1


def test_lesson_html_shows_figures_and_formulas_in_chromium(executed, tmp_path):
    from .chromium import chromium, ink, look

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed for this test: apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    chapter = Chapter.from_name("ch1_3_sigmoid")
    nb, _ = executed[chapter]
    assert not isinstance(nb, Exception)
    page = tmp_path / "lesson.html"
    page.write_text(lesson_html(nb), encoding="utf-8")
    assert "libs/mathjax" not in page.read_text() and "jupyter_server_mathjax/static/MathJax.js" in page.read_text()
    png, facts = look(page, tmp_path / "profile")
    (tmp_path / "lesson.png").write_bytes(png)
    assert facts["ready"], f"MathJax did not finish: {facts}"
    assert facts["errors"] == 0 and facts["formulas"] >= 10 and facts["rendered"] == facts["formulas"], facts
    assert len(facts["displays"]) >= 3 and len(facts["images"]) >= 1
    for box in facts["images"]:  # the figure is drawn: many colours, and ink on the white
        assert box["natural"] > 0 and box["w"] > 200
        seen = ink(png, box)
        assert seen["colours"] > 50 and seen["ink"] > 0.01, seen
    for box in facts["displays"]:  # display formulas are typeset: glyphs where the formula sits
        assert ink(png, box)["ink"] > 0.002


def test_release_notebook_shows_its_figure_offline_in_chromium(tmp_path):
    """The release of 3.3 as a student first opens it, never run: its figure (the network and its shapes) is drawn
    on the page, its formulas are typeset, and nothing is fetched from beyond file:// (no CDN)."""
    from .chromium import chromium, ink, look, off_machine

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed for this test: apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    chapter = Chapter.from_name("ch3_3_mlp_forward")
    nb = nbformat.read(nb_path("exercises", chapter), as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]
    (_, _, figure), = figure_cells(nb)
    page = tmp_path / "release.html"
    page.write_text(lesson_html(nb), encoding="utf-8")
    png, facts = look(page, tmp_path / "profile")
    (tmp_path / "release.png").write_bytes(png)
    assert facts["ready"] and facts["errors"] == 0 and facts["rendered"] == facts["formulas"] > 0, facts
    from PIL import Image

    assert len(facts["images"]) == 1, facts["images"]   # the build-time figure: nothing else has run
    box = facts["images"][0]
    assert box["natural"] == Image.open(io.BytesIO(figure)).width and box["w"] > 400
    seen = ink(png, box)
    assert seen["colours"] > 50 and seen["ink"] > 0.05, seen
    requests = facts["requests"]
    assert any(url.startswith("data:image/png") for url in requests)
    assert any(url.startswith("file:") and "MathJax.js" in url for url in requests)
    assert off_machine(requests) == [], off_machine(requests)


# ------------------------------------------------------------------------------------------------ grading
def test_notebook_submissions_graded_by_dlcourse_grade(runs):
    runs["grade"].result()
    alice = json.loads((runs["base"] / "alice.json").read_text())
    bob = json.loads((runs["base"] / "bob.json").read_text())
    failed = [f"{t['name']}: {t['output'][:200]}" for t in alice["tests"] if t["score"] < t["max_score"]]
    assert not failed, "\n".join(failed)
    assert set(per_chapter(alice)) == {c.number for c in CHAPTERS}
    assert bob["score"] == 0 and all("not implemented yet" in t["output"] for t in bob["tests"] if t["max_score"])


def test_nbgrader_course_autograde_and_export(runs):
    logs = {name: job.result() for name, job in runs["nbgrader"].items()}
    scores: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for course in runs["courses"].values():
        for chapter in CHAPTERS:  # nbgrader's own release is the committed one, byte for byte
            ours = (course / "exercises" / chapter.name / f"{chapter.topic}.ipynb").read_bytes()
            assert (course / "build" / "release" / chapter.name / f"{chapter.topic}.ipynb").read_bytes() == ours, chapter
        with (course / "grades.csv").open() as fh:
            for row in csv.DictReader(fh):
                scores[row["student_id"]][row["assignment"]] = (float(row["score"]), float(row["max_score"]))
    for chapter in CHAPTERS:
        got, top = scores["alice"][chapter.name]
        assert got == top > 0, f"alice {chapter.name}: {got} of {top}"
        assert scores["bob"][chapter.name] == (0.0, top), f"bob {chapter.name}"
    # Code that rewrites the test helpers in the kernel gains nothing: the score comes from the grader process.
    assert scores["mallory"]["ch1_3_sigmoid"][0] == 0
    feedback = runs["courses"]["course-a"] / "feedback" / "alice" / "ch1_3_sigmoid" / "sigmoid.html"
    assert feedback.is_file() and "Hidden tests of chapter 1.3 sigmoid: 13 of 13 points" in feedback.read_text()
    for name, log in logs.items():
        # Every kernel autograde started listened on Unix sockets of its own (the two courses run at once: over
        # TCP one kernel once took another's port and a whole autograde failed); ipykernel warns on TCP.
        assert "Autograding" in log and "running over TCP" not in log, name
        m = re.search(r"AUTOGRADE_SECONDS (\d+)", log)
        print(f"nbgrader autograde in {name}: {m.group(1) if m else '?'} s")


def test_test_cells_are_worth_what_the_grader_gives(runs):
    """The points nbgrader reads from the cells are the points `dlcourse grade` gives, chapter by chapter."""
    runs["grade"].result()
    got = per_chapter(json.loads((runs["base"] / "alice.json").read_text()))
    for chapter in CHAPTERS:
        nb = nbformat.read(nb_path("exercises", chapter), as_version=4)
        cells = sum(c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        assert cells == got[chapter.number][1], chapter.name


def test_a_demo_that_needs_an_unfinished_chapter_says_so_once_and_the_notebook_runs_on(tmp_path):
    """3.4 written in its notebook, 2.4 still a stub: the gradient-check demo (it calls 2.4's numerical_gradient)
    becomes one line naming chapter 2.4, and the rest of the notebook runs to the end, without a warning."""
    from dlcourse.lesson import execute

    release = tmp_path / "repo"
    for chapter in CHAPTERS:
        if chapter.number <= "3.4":
            shutil.copytree(ROOT / "exercises" / chapter.name, release / chapter.name)
    shutil.copy(ROOT / "exercises" / ".dlcourse-release.json", release)
    for name in ("ch1_3_sigmoid", "ch3_2_activations", "ch3_3_mlp_forward"):
        shutil.copy(next((ROOT / "solutions" / name).glob("[!t]*.py")), release / name)
    backprop = Chapter.from_name("ch3_4_backprop")
    shutil.copy(nb_path("solutions", backprop), release / backprop.name)
    nb = nbformat.read(release / backprop.name / f"{backprop.topic}.ipynb", as_version=4)
    execute(nb, release / backprop.name, timeout=NOTEBOOK_BUDGET)  # raises on the first cell that fails
    streams = [(o.name, o.text) for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "stream"]
    told = [text for name, text in streams if "needs chapter 2.4 (numerical_gradient)" in text]
    assert len(told) == 1 and "finish chapter 2.4" in told[0], streams
    assert not [text for name, text in streams if name == "stderr"], "a warning or an error was printed"
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs), \
        "the MNIST training demo after the skipped cell did not run"


def test_dlcourse_lesson_renders_the_students_notebook_offline(tmp_path):
    """A student's page: their own notebook, run, with its figures; MathJax from the local copy, no CDN."""
    repo = tmp_path / "repo"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "release", str(repo), "--chapters", "1.1-1.3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    sigmoid = Chapter.from_name("ch1_3_sigmoid")
    shutil.copy(nb_path("solutions", sigmoid), repo / sigmoid.name)  # written in the notebook
    page = tmp_path / "page.html"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "lesson", "1.3", "--html", str(page)],
                          capture_output=True, text=True, cwd=repo, timeout=300)
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert html.count("data:image/png;base64") >= 2, "the lesson's figure and the student's own plot are in the page"
    sources = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert [s for s in sources if "MathJax.js" in s][0].startswith("file://")
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    solutions = subprocess.run([sys.executable, "-m", "dlcourse.cli", "lesson", "1.3", "--solutions", "--no-execute",
                                "--html", str(tmp_path / "solution.html")], capture_output=True, text=True, cwd=repo)
    assert solutions.returncode == 0 and "(solutions)" in solutions.stdout, solutions.stderr
    import html as html_lib

    shown = html_lib.unescape(re.sub(r"<[^>]+>", "", (tmp_path / "solution.html").read_text()))
    assert "return s * (1 - s)" in shown  # the reference's code, which only the kit has


def test_bridge_notebook_without_pytorch_says_so_and_counts_its_points(tmp_path):
    """5.2's release notebook run where PyTorch is missing: the visible test cell says what to install, scored 0 of
    the points its nbgrader metadata gives (the maximum `dlcourse grade` gives there too)."""
    bridge = Chapter.from_name("ch5_2_bridge")
    shutil.copytree(ROOT / "exercises" / bridge.name, tmp_path / bridge.name)
    path = tmp_path / bridge.name / f"{bridge.topic}.ipynb"
    run = ("import sys, nbformat\nfrom pathlib import Path\nfrom dlcourse.lesson import execute\n"
           "p = Path(sys.argv[1])\nnb = nbformat.read(p, as_version=4)\n"
           "execute(nb, p.parent, timeout=300, allow_errors=True)\nnbformat.write(nb, p)\n")
    env = without_torch(tmp_path)  # the kernel inherits it: torch cannot be imported
    proc = subprocess.run([sys.executable, "-c", run, str(path)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "visible_tests")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    points = cell.metadata["nbgrader"]["points"]
    assert text.startswith(f"Visible tests of chapter 5.2 bridge: 0 of {points:g} points"), text
    assert "chapter 5.2 needs PyTorch: pip install -e '.[torch]'" in text, text
    # The demos that import torch say so once, then step aside: no ModuleNotFoundError, no NameError after it.
    demos = [c for c in nb.cells if c.cell_type == "code" and "torch" in c.source and "nbgrader" not in c.metadata]
    said = [o.get("text", "") for c in demos for o in c.outputs if o.output_type == "stream"]
    assert said[0].startswith("This cell needs PyTorch, which is not installed: pip install -e '.[torch]'"), said
    assert all(s.startswith("(skipped: this cell needs PyTorch") for s in said[1:]) and len(said) >= 2, said
    errors = [o.get("ename") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
