"""Chapter notebooks: the release, the executed solutions, notebook grading (dlcourse grade and nbgrader), lessons.

Slow parts run at once: when the module starts, the nbgrader course (generate_assignment, autograde, feedback and
export, on two copies of the course with their own gradebooks) and `dlcourse grade` on two notebook submissions
start as background processes, while the solution notebooks execute here; the tests then read what those runs
produced. Wall time on 2 cores: about 3 minutes for 20 chapters.
"""
from __future__ import annotations

import ast
import csv
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
from autograder.nbbuild import BEGIN, END, lesson_html
from dlcourse.nbmodule import module_code, read_code_cells

from .grading import ROOT, per_chapter, run_grade

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
    from autograder.nbbuild import execute

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
