"""The Gradescope bundle, run the way Gradescope runs it, in a temporary root laid out like /autograder.

`dlcourse gradescope` builds the zip; it is unpacked into ROOT/source; its setup.sh makes a fresh virtual
environment with no network (in a network namespace of its own where the machine allows it); then
run_autograder grades uploads placed in ROOT/submission, each time into ROOT/results/results.json.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.sandbox.budget import WALL_FACTOR
from dlcourse.points import suite_points

from .grading import ROOT

CHAPTERS = ("ch1_1_arrays", "ch1_3_sigmoid")
TIMEOUT = 6  # seconds per chapter (the reference needs about 1)
STATUSES = {"passed", "failed"}


def _offline_prefix() -> list[str]:
    """``unshare --net`` where it works (no network at all), else nothing (pip runs with --no-index anyway)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        return [unshare, "--net"]
    return []


def _env(root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "DLCOURSE_"))}
    return {**env, "AUTOGRADER_ROOT": str(root), "PIP_CONFIG_FILE": os.devnull}


def _unzip(archive: Path, dest: Path) -> None:
    """Unpack keeping the files' modes (run_autograder and setup.sh are executable), as Gradescope does."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            mode = info.external_attr >> 16
            if mode:
                path.chmod(stat.S_IMODE(mode))


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory, wheelhouse) -> dict:
    base = tmp_path_factory.mktemp("gradescope")
    bundle, root = base / "autograder.zip", base / "autograder"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "gradescope", str(bundle), "--chapters",
                           ",".join(CHAPTERS), "--timeout", str(TIMEOUT), "--seed", "7", "--hidden-visibility",
                           "after_due_date", "--find-links", str(wheelhouse)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    _unzip(bundle, root / "source")
    start = time.monotonic()
    setup = subprocess.run([*_offline_prefix(), "bash", str(root / "source" / "setup.sh")], capture_output=True,
                           text=True, env=_env(root), cwd=root, timeout=900)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # where Gradescope puts it
    return {"root": root, "bundle": bundle, "setup": setup.stdout + setup.stderr,
            "setup_seconds": time.monotonic() - start, "build": proc.stdout}


def upload(gradescope: dict, files: dict[str, Path | bytes]) -> tuple[dict, float]:
    """Put ``files`` in ROOT/submission, run run_autograder; (results.json, seconds)."""
    root = gradescope["root"]
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else Path(content).read_bytes())
    start = time.monotonic()
    proc = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, env=_env(root), cwd=root,
                          timeout=600)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    check_format(results)
    return results, seconds


def check_format(results: dict) -> None:
    """The fields Gradescope reads, with the types and values its specification gives."""
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], float)
    assert isinstance(results["output"], str) and results["stdout_visibility"] == "hidden"
    assert isinstance(results["tests"], list)
    for t in results["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}, t
        assert isinstance(t["name"], str) and t["name"].split(" ")[0] in ("1.1", "1.3")
        assert 0 <= t["score"] <= t["max_score"] and t["status"] in STATUSES and isinstance(t["output"], str)
        assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed")
        assert t["visibility"] in ("visible", "after_due_date"), t
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def chapter_scores(results: dict) -> dict[str, tuple[float, float]]:
    out: dict[str, list[float]] = {}
    for t in results["tests"]:
        got = out.setdefault(t["name"].split(" ")[0], [0.0, 0.0])
        got[0] += t["score"]
        got[1] += t["max_score"]
    return {k: (v[0], v[1]) for k, v in out.items()}


def reference(chapter: str, suffix: str = ".py") -> Path:
    topic = chapter.split("_", 2)[2]
    return ROOT / "solutions" / chapter / f"{topic}{suffix}"


def test_setup_installs_offline_hides_the_kit_and_passes_its_self_test(gradescope):
    root, out = gradescope["root"], gradescope["setup"]
    assert "installed the bundled wheels" in out and "from the package index" not in out, out
    full = sum(suite_points(path) for chapter in CHAPTERS
               for tree in ("source", "autograder") for path in (ROOT / tree / chapter).glob("test_*.py"))
    assert f"self-test passed: {full:g} of {full:g} points" in out, out
    names = zipfile.ZipFile(gradescope["bundle"]).namelist()
    assert {"setup.sh", "run_autograder", "config.json", "requirements.txt"} <= set(names)
    assert any(n.startswith("wheels/numpy-") for n in names) and any(n.startswith("wheels/dlcourse-") for n in names)
    assert "kit/autograder/ch1_3_sigmoid/test_sigmoid_hidden.py" in names
    # the grader's wheel holds its code, never the suites
    grader = next(n for n in names if n.startswith("wheels/dlcourse_grader-"))
    with zipfile.ZipFile(zipfile.ZipFile(gradescope["bundle"]).open(grader)) as whl:
        assert not [n for n in whl.namelist() if "hidden" in n or "/ch1_" in n]
    for secret in (root / "source", root / "source" / "kit" / "autograder"):
        assert stat.S_IMODE(secret.stat().st_mode) & 0o077 == 0, f"{secret} is readable by the students' code"
    print(f"setup.sh took {gradescope['setup_seconds']:.0f} s")


def test_flat_modules_of_the_reference_score_full_marks(gradescope):
    results, _ = upload(gradescope, {f"{c.split('_', 2)[2]}.py": reference(c) for c in CHAPTERS})
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
    assert results["output"].startswith("Found in your upload: 1.1: arrays.py; 1.3: sigmoid.py")
    hidden = [t for t in results["tests"] if t["visibility"] == "after_due_date"]
    assert hidden and len(hidden) < len(results["tests"])
    assert "hidden tests:" not in results["output"]  # the instructor did not allow the hidden total


def test_one_notebook_is_graded_as_its_chapter(gradescope):
    results, _ = upload(gradescope, {"My sigmoid (final).ipynb": reference("ch1_3_sigmoid", ".ipynb")})
    scores = chapter_scores(results)
    assert scores["1.3"][0] == scores["1.3"][1] > 0 and scores["1.1"][0] == 0
    assert "1.3: My sigmoid (final).ipynb" in results["output"]
    assert all("chapter 1.1 is not in the submission" in t["output"]
               for t in results["tests"] if t["name"][:3] == "1.1")


def test_the_untouched_release_scores_zero(gradescope):
    results, _ = upload(gradescope, {f"{c}/{p.name}": p for c in CHAPTERS for p in (ROOT / "exercises" / c).iterdir()
                                     if p.is_file()})
    assert results["score"] == 0 and results["tests"]
    assert all("not implemented yet" in t["output"] for t in results["tests"])


def test_an_endless_loop_costs_its_chapter_within_the_time_budget(gradescope):
    looping = b"while True:\n    pass\n" + reference("ch1_3_sigmoid").read_bytes()
    results, seconds = upload(gradescope, {"arrays.py": reference("ch1_1_arrays"), "sigmoid.py": looping})
    scores = chapter_scores(results)
    assert scores["1.3"][0] == 0 and scores["1.1"][0] == scores["1.1"][1] > 0
    assert any("did not finish within the time limit" in t["output"]
               for t in results["tests"] if t["name"][:3] == "1.3")
    # The looping chapter waits TIMEOUT s on an idle machine, at most WALL_FACTOR times that on a busy one.
    assert seconds < WALL_FACTOR * TIMEOUT + 30, f"run_autograder took {seconds:.0f} s with {TIMEOUT} s per chapter"


def test_a_zipped_repository_and_a_useless_upload(gradescope, tmp_path):
    repo = tmp_path / "repo"
    assert subprocess.run([sys.executable, "-m", "dlcourse.cli", "release", str(repo), "--chapters", "1.1-1.3"],
                          cwd=ROOT, capture_output=True).returncode == 0
    for c in CHAPTERS:
        shutil.copy(reference(c), repo / c)
    archive = tmp_path / "my-work.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", tmp_path, "repo")
    results, _ = upload(gradescope, {"my-work.zip": archive})
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
    assert "Chapters this assignment does not grade: ch1_2_matrix_ops" in results["output"]
    results, _ = upload(gradescope, {"notes.txt": b"I did my best", "helper.py": b"x = 1\n"})
    assert results["score"] == 0 and "No file of this assignment's chapters was found" in results["output"]
    assert "helper.py" in results["output"] and results["tests"]


def test_visibility_of_the_hidden_tests_is_the_instructors_choice():
    from autograder.engine import Report
    from autograder.results import gradescope_json
    from dlcourse.chapters import Chapter
    from dlcourse.testrun import TestResult

    ch = Chapter.from_name("ch1_3_sigmoid")
    report = Report([TestResult(ch, "seen", 1, 1, "passed"), TestResult(ch, "kept", 2, 0, "failed", "no", hidden=True),
                     TestResult(ch, "kept too", 3, 3, "passed", hidden=True)], [ch], isolation="test")
    default = gradescope_json(report)
    assert [t["visibility"] for t in default["tests"]] == ["visible", "after_published", "after_published"]
    assert "hidden tests" not in default["output"] and "leaderboard" not in default
    shown = gradescope_json(report, hidden_visibility="hidden", hidden_total=True, notes=["Found: sigmoid.py"])
    assert [t["visibility"] for t in shown["tests"]] == ["visible", "hidden", "hidden"]
    assert shown["output"].splitlines()[0] == "Found: sigmoid.py" and "hidden tests: 3 of 5 points" in shown["output"]
    with pytest.raises(ValueError, match="hidden_visibility"):
        gradescope_json(report, hidden_visibility="later")


def test_a_chapter_the_image_cannot_grade_is_refused_by_name(tmp_path):
    """5.2's suites need PyTorch, which the bundle does not install: asked for, it is refused with the reason (the
    image's self-test would otherwise fail on its points)."""
    from autograder.engine import find_kit
    from autograder.gradescope import BundleError, build_bundle
    from dlcourse.chapters import Chapter

    kit = find_kit(str(ROOT))
    with pytest.raises(BundleError, match=r"chapter 5\.2 needs torch in the grading image.*--chapters"):
        build_bundle(tmp_path / "a.zip", [Chapter.from_name("ch5_2_bridge")], kit, seed=0, timeout=6)
    assert not (tmp_path / "a.zip").exists()
