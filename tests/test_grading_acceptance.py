"""The grader end to end, through `dlcourse grade`, as CI and an instructor use it."""
import re
import shutil
import time
from pathlib import Path

import pytest

from autograder.sandbox.budget import WALL_FACTOR
from dlcourse.chapters import list_chapters
from dlcourse.points import suite_points

from .grading import ROOT, outputs, per_chapter, run_grade, stub_out, without_torch

CHAPTERS = [c.number for c in list_chapters(ROOT / "source")]


@pytest.mark.parametrize("seed", [0, 1, 20261129])
def test_reference_solutions_score_full_marks(tmp_path, seed):
    results, proc = run_grade(ROOT / "solutions", tmp_path, "--seed", str(seed))
    failed = [f"{t['name']}: {t['output'][:300]}" for t in results["tests"] if t["score"] < t["max_score"]]
    assert not failed, "\n".join(failed)
    assert results["score"] > 0 and set(per_chapter(results)) == set(CHAPTERS)
    assert "100.0%" in proc.stdout
    # The capstone's accuracy, measured by the grader from the predictions, for Gradescope's leaderboard.
    (board,) = results["leaderboard"]
    assert board["name"] == "Capstone test accuracy" and 0.9 < board["value"] <= 1.0


def test_untouched_exercises_score_zero_with_not_implemented(tmp_path):
    results, proc = run_grade(ROOT / "exercises", tmp_path)
    assert results["score"] == 0
    assert len(results["tests"]) == len({t["name"] for t in results["tests"]}), "one entry per test"
    for t in results["tests"]:
        assert t["name"].split(" ")[0] in CHAPTERS
        assert "is not implemented yet" in t["output"], f"{t['name']}: {t['output']}"
        assert "Traceback" not in t["output"] and "raise NotImplementedError()" in t["output"]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_results_json_is_gradescope_format(tmp_path):
    results, _ = run_grade(ROOT / "solutions", tmp_path, "--chapters", "1.1,1.3")
    assert set(results) >= {"score", "tests"}
    assert {t["name"].split()[0] for t in results["tests"]} == {"1.1", "1.3"}
    for t in results["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "visibility"}
        assert t["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert results["score"] == sum(t["score"] for t in results["tests"])


def test_endless_loop_costs_only_its_chapter(tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "solutions", sub)
    module = sub / "ch1_3_sigmoid" / "sigmoid.py"
    module.write_text("while True:\n    pass\n" + module.read_text())
    start = time.monotonic()
    results, _ = run_grade(sub, tmp_path, "--chapters", "1.1,1.2,1.3", "--timeout", "5")
    elapsed = time.monotonic() - start
    scores = per_chapter(results)
    assert scores["1.3"][0] == 0 and scores["1.3"][1] > 0
    assert scores["1.1"][0] == scores["1.1"][1] > 0 and scores["1.2"][0] == scores["1.2"][1] > 0
    assert "time" in outputs(results, "1.3")
    # Wall-clock time: 5 s on an idle machine, at most WALL_FACTOR budgets on a busy one.
    assert elapsed < WALL_FACTOR * 5 + 15, f"grading took {elapsed:.1f} s with a 5 s budget"


@pytest.mark.parametrize("prelude, expect", [
    ("import sys\nsys.exit(0)\n", "SystemExit"),
    ("import os\nos._exit(3)\n", "exited"),
    ("def broken(:\n", "SyntaxError"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError"),
    ("x = bytearray(64 * 2**30)\n", "MemoryError"),
], ids=["sys-exit", "os-exit", "syntax-error", "import-error", "memory-bomb"])
def test_broken_module_costs_only_its_chapter(tmp_path, prelude, expect):
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "solutions", sub)
    module = sub / "ch1_2_matrix_ops" / "matrix_ops.py"
    module.write_text(prelude + module.read_text())
    results, proc = run_grade(sub, tmp_path, "--chapters", "1.1,1.2,1.3")
    scores = per_chapter(results)
    assert scores["1.2"][0] == 0
    assert scores["1.1"][0] == scores["1.1"][1] and scores["1.3"][0] == scores["1.3"][1]
    assert expect in outputs(results, "1.2")
    assert "Traceback (most recent call last)" not in proc.stdout


def test_a_file_named_like_a_library_never_runs_before_the_sandbox(tmp_path):
    """A chapter folder holding numpy.py (or wire.py, cloudpickle.py) beside the module: the worker imports its
    own libraries before the submission's folder joins its path, so that file never runs, as root or at all."""
    import os
    import tempfile

    open_dir = Path(tempfile.mkdtemp(prefix="dlcourse-marker-"))
    open_dir.chmod(0o777)  # writable by anyone: only "it never ran" keeps the markers away
    sub = tmp_path / "sub" / "ch1_1_arrays"
    sub.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "ch1_1_arrays" / "arrays.py", sub)
    for name in ("numpy", "wire", "cloudpickle", "sitecustomize"):
        (sub / f"{name}.py").write_text(f"import os\nopen({str(open_dir / name)!r}, 'w').write(str(os.getuid()))\n")
    results, _ = run_grade(sub.parent, tmp_path, "--chapters", "1.1")
    try:
        assert per_chapter(results)["1.1"][0] == per_chapter(results)["1.1"][1] > 0
        assert os.listdir(open_dir) == []
    finally:
        shutil.rmtree(open_dir, ignore_errors=True)


def test_chapters_are_graded_in_isolation(tmp_path):
    """Only 1.3 is filled in: it gets full marks although 1.1 and 1.2 are untouched stubs."""
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "exercises", sub)
    shutil.copy(ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py", sub / "ch1_3_sigmoid" / "sigmoid.py")
    scores = per_chapter(run_grade(sub, tmp_path)[0])
    assert scores["1.3"][0] == scores["1.3"][1] > 0
    assert all(scores[c][0] == 0 for c in CHAPTERS if c != "1.3")


def test_partial_submission(tmp_path):
    """A submission with some chapter folders missing is graded; the missing ones score 0 with a reason."""
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copytree(ROOT / "solutions" / "ch1_1_arrays", sub / "ch1_1_arrays")
    results, proc = run_grade(sub, tmp_path, "--chapters", "1.1,1.2")
    scores = per_chapter(results)
    assert scores["1.1"][0] == scores["1.1"][1] and scores["1.2"][0] == 0
    assert "not in the submission" in outputs(results, "1.2")


@pytest.mark.parametrize("make, expect", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "not a folder"),
    (lambda p: p, "not a submission"),
])
def test_grader_refuses_what_is_not_a_submission(tmp_path, make, expect):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "grade", str(make(tmp_path))],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert expect in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_chapter_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "grade", str(ROOT / "solutions"), "--chapters", "9.9"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown chapter" in proc.stderr


def test_bridge_chapter_is_skipped_cleanly_without_torch(tmp_path):
    """With PyTorch hidden, 5.2's suites are 'skipped' entries saying how to enable them, scored 0 of their points:
    the same maximum as the notebook's test cells in nbgrader, which cannot know what a machine lacks."""
    import json
    import subprocess
    import sys

    out = tmp_path / "r.json"
    env = without_torch(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "grade", str(ROOT / "solutions"), "--chapters",
                           "1.1,5.2", "--json", str(out)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    bridge = [t for t in results["tests"] if t["name"].startswith("5.2 ")]
    assert bridge and all(t["score"] == 0 and "pip install -e '.[torch]'" in t["output"] for t in bridge)
    static = suite_points(ROOT / "source" / "ch5_2_bridge" / "test_bridge.py") + suite_points(
        ROOT / "autograder" / "ch5_2_bridge" / "test_bridge_hidden.py")
    assert sum(t["max_score"] for t in bridge) == static == 12
    assert per_chapter(results)["1.1"][0] == per_chapter(results)["1.1"][1] > 0
    assert "skipped: chapter 5.2 needs PyTorch" in proc.stdout
    assert re.search(r"5\.2 bridge\s+0\s+12\n", proc.stdout), proc.stdout


def test_5_2_suites_check_for_pytorch_without_importing_it():
    """Importing torch costs a grading process over a second: the suites' check only looks for it (the student's
    code imports it), and skips the module, with the reason, when it is missing."""
    import subprocess
    import sys

    script = ("import sys, pytest\nfrom dlcourse.testing import skip_unless_installed\n"
              "skip_unless_installed('torch', 'needs PyTorch')\nassert 'torch' not in sys.modules, 'torch imported'\n"
              "try:\n    skip_unless_installed('no_such_package_here', 'needs it')\nexcept pytest.skip.Exception as e:\n"
              "    print('skipped:', e.msg)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == "skipped: needs it\n", proc.stdout + proc.stderr


def test_a_stub_helper_is_named_in_the_feedback(tmp_path):
    """Graded, train_capstone that calls a stub capstone_forward says so, rather than "train_capstone is not
    implemented yet"."""
    sub = tmp_path / "sub"
    shutil.copytree(ROOT / "solutions" / "ch4_6_capstone", sub / "ch4_6_capstone")
    stub_out(sub / "ch4_6_capstone" / "capstone.py", "capstone_forward")
    results, _ = run_grade(sub, tmp_path, "--chapters", "4.6")
    feedback = outputs(results, "4.6")
    assert "4.6 train_capstone calls capstone_forward, which is not implemented yet" in feedback
    assert "train_capstone is not implemented yet" not in feedback


@pytest.mark.parametrize("old, new", [
    # Clipping z to [-500, 500] keeps exp from overflowing; its sigmoid(-1000) = 7e-218 instead of 0 is right.
    ("    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow\n    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))",
     "    Z = np.clip(Z, -500, 500)\n    return 1 / (1 + np.exp(-Z))"),
], ids=["sigmoid-clipped"])
def test_sound_variants_score_full_marks(tmp_path, old, new):
    """Correct code written another way loses nothing: tolerances have absolute floors, so values far below the
    scale of the others (7e-218 next to 1) never fail on relative error alone."""
    sub = tmp_path / "sub" / "ch1_3_sigmoid"
    sub.mkdir(parents=True)
    text = (ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py").read_text()
    assert text.count(old) == 1
    (sub / "sigmoid.py").write_text(text.replace(old, new))
    results, _ = run_grade(sub.parent, tmp_path, "--chapters", "1.3", "--seed", "3")
    failed = [f"{t['name']}: {t['output']}" for t in results["tests"] if t["score"] < t["max_score"]]
    assert not failed, failed
