"""One rule for where a student's code lives (dlcourse.work): the module or the notebook, the same for
`dlcourse check`, plain pytest, and the grader; "untouched" is measured against the files as released."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dlcourse.chapters import Chapter
from dlcourse.work import MANIFEST, find_work, read_released

from .grading import ROOT, outputs, per_chapter, run_grade

SIGMOID = Chapter.from_name("ch1_3_sigmoid")


def copy_release(dest: Path, chapters=("ch1_1_arrays", "ch1_3_sigmoid")) -> Path:
    """A student's copy of the kit's exercises/ (with its release manifest) holding ``chapters``."""
    dest.mkdir(parents=True)
    for name in chapters:
        shutil.copytree(ROOT / "exercises" / name, dest / name)
    shutil.copy(ROOT / "exercises" / MANIFEST, dest / MANIFEST)
    return dest


def solve(folder: Path, chapter: Chapter, how: str) -> None:
    """Write the reference into the chapter's module (``how="module"``) or its notebook (``"notebook"``)."""
    suffix = ".py" if how == "module" else ".ipynb"
    shutil.copy(ROOT / "solutions" / chapter.name / f"{chapter.module}{suffix}", folder / chapter.name)


def check(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", "check", *args], capture_output=True, text=True,
                          cwd=folder, timeout=300)


def row(stdout: str, number: str) -> str:
    return next(ln for ln in stdout.splitlines() if ln.startswith(number + " "))


def test_the_rule(tmp_path):
    release = copy_release(tmp_path / "repo")
    released = read_released(release / MANIFEST)[SIGMOID.name]
    folder = release / SIGMOID.name
    assert find_work(folder, SIGMOID, released).use == "module"  # neither edited: the stub says what to write
    solve(release, SIGMOID, "notebook")
    assert find_work(folder, SIGMOID, released).use == "notebook"  # only the notebook's code changed
    # opening and saving a notebook changes its bytes, not its code: still untouched
    untouched = json.loads((ROOT / "exercises" / SIGMOID.name / "sigmoid.ipynb").read_text())
    untouched["metadata"]["saved_by"] = "jupyterlab"
    for cell in untouched["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"], cell["outputs"] = 3, [{"output_type": "stream", "name": "stdout", "text": "x"}]
    (folder / "sigmoid.ipynb").write_text(json.dumps(untouched))
    assert find_work(folder, SIGMOID, released).use == "module"
    solve(release, SIGMOID, "notebook")
    (folder / "sigmoid.py").write_text((folder / "sigmoid.py").read_text() + "\n# edited\n")
    both = find_work(folder, SIGMOID, released)
    assert both.use == "module" and "were both edited" in both.note and "delete sigmoid.py" in both.note
    (folder / "sigmoid.py").unlink()
    assert find_work(folder, SIGMOID, released).use == "notebook"
    assert find_work(folder, SIGMOID, None).use == "notebook"  # no manifest: the module if any, else the notebook


def test_grading_your_own_copy_of_the_release(tmp_path):
    """The grade-your-own-work path: a copy of the release with a chapter written in its module, and another
    written in its notebook only, both get full marks; the untouched chapter gets 0."""
    release = copy_release(tmp_path / "repo", ("ch1_1_arrays", "ch1_2_matrix_ops", "ch1_3_sigmoid"))
    solve(release, Chapter.from_name("ch1_1_arrays"), "module")
    solve(release, SIGMOID, "notebook")
    results, proc = run_grade(release, tmp_path, "--chapters", "1.1-1.3")
    scores = per_chapter(results)
    assert scores["1.1"][0] == scores["1.1"][1] > 0 and scores["1.3"][0] == scores["1.3"][1] > 0, proc.stdout
    assert scores["1.2"][0] == 0
    # The same table from `dlcourse check` for the notebook-only chapter as for a module.
    table = check(release).stdout
    assert "done" in row(table, "1.1") and "3/3" in row(table, "1.3") and "done" in row(table, "1.3"), table


def test_grading_the_kits_own_exercises_after_editing_them(tmp_path):
    """`dlcourse grade exercises` in a kit whose exercises/ a student edited: the live files are never taken for
    the release (they are the student's), so the edited module is graded."""
    kit = tmp_path / "kit"
    for tree in ("source", "solutions", "exercises", "autograder"):
        shutil.copytree(ROOT / tree, kit / tree, ignore=shutil.ignore_patterns("__pycache__", "ch[2-5]_*"))
    solve(kit / "exercises", SIGMOID, "module")
    results, proc = run_grade(kit / "exercises", tmp_path, "--kit", str(kit), "--chapters", "1.1-1.3")
    scores = per_chapter(results)
    assert scores["1.3"][0] == scores["1.3"][1] > 0 and scores["1.1"][0] == 0, proc.stdout


def test_both_edited_the_module_counts_and_everyone_says_so(tmp_path):
    release = copy_release(tmp_path / "repo")
    solve(release, SIGMOID, "notebook")
    module = release / SIGMOID.name / "sigmoid.py"
    module.write_text((ROOT / "solutions" / SIGMOID.name / "sigmoid.py").read_text()
                      .replace("return s * (1 - s)", "return Z * (1 - Z)"))
    results, proc = run_grade(release, tmp_path, "--chapters", "1.3")
    assert 0 < per_chapter(results)["1.3"][0] < per_chapter(results)["1.3"][1]
    assert "sigmoid.py and sigmoid.ipynb were both edited: sigmoid.py is the one tested and graded" in proc.stdout
    assert "were both edited" in outputs(results, "1.3")
    table = check(release, "1.3").stdout
    assert "note: sigmoid.py and sigmoid.ipynb were both edited" in table and "fix sigmoid_derivative" in table
