"""`dlcourse mutants` (mutation testing of the suites) and `dlcourse grade --strict`, through the command line.

Every run is seeded (the --max sample and the hidden suites' inputs): the mutants and their fate are the same
on every run. The weakened kit is a copy of chapter 1.3 in tmp_path whose derivative tests were neutered.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.build import GENERATED_NOTE, make_solution
from autograder.mutants.equivalent import read_entries
from autograder.mutants.scope import _markers, _skipped_lines

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "ch1_3_sigmoid"


def dlcourse(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, check=False)


def mutants(tmp_path: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    out = tmp_path / "mutants.json"
    proc = dlcourse("mutants", "--chapters", "1.3", "--jobs", "2", "--json", str(out), *args)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text()), proc


# -- grade --strict

@pytest.mark.parametrize("tree, strict, code", [("solutions", True, 0), ("exercises", True, 1),
                                                ("exercises", False, 0)],
                         ids=["full-marks-strict", "stub-strict", "stub-not-strict"])
def test_grade_strict_exit_status(tree, strict, code):
    proc = dlcourse("grade", tree, "--chapters", "1.3", *(["--strict"] if strict else []))
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# -- the kit's own suites

def test_kit_suites_kill_a_seeded_sample(tmp_path):
    """Seed 1 draws 8 of 1.3's mutants from both functions (unary, comparison, binary operators, a number)."""
    data, proc = mutants(tmp_path, "--max", "8", "--seed", "1")
    ch = data["chapters"]["1.3"]
    assert ch["error"] is None and ch["reference"]["score"] == ch["reference"]["max_score"] > 0
    assert (ch["total"], ch["killed"], ch["survived"], ch["equivalent"]) == (8, 8, [], [])
    assert ch["score"] == 1.0 and ch["incompetent"] == 0 and ch["not_graded"] == []
    assert ch["available"] > 8 and ch["excluded"]["skip_marker"] == 0
    assert {m["function"] for m in ch["mutants"]} == {"sigmoid", "sigmoid_derivative"}
    assert all(m["status"] == "killed" and m["killed_by"] for m in ch["mutants"])
    # The reviewed list of 1.3 matches mutants of the module as it is (no stale entry).
    assert ch["warnings"] == []
    assert data["summary"] == {"total": 8, "killed": 8, "equivalent": 0, "survived": 0, "incompetent": 0,
                               "timeouts": 0, "not_graded": 0, "score": 1.0}
    assert data["engine"].startswith("cosmic-ray ") and data["seed"] == 1 and data["max"] == 8
    assert {"date", "machine", "versions", "seconds"} <= set(data)
    assert "8/8" in proc.stdout and f"8 of the {ch['available']} mutants graded" in proc.stdout
    assert "not a full run" in proc.stdout
    # The same command draws the same mutants: a run is reproducible.
    again, _ = mutants(tmp_path, "--max", "8", "--seed", "1", "--jobs", "1")
    assert [m["id"] for m in again["chapters"]["1.3"]["mutants"]] == [m["id"] for m in ch["mutants"]]


# -- a weakened copy of the kit

def _neuter(path: Path, *tests: str) -> None:
    text = path.read_text()
    for name in tests:
        assert f"def {name}(" in text
        text = text.replace(f"def {name}(", f"def neutered_{name}(")
    path.write_text(text)


@pytest.fixture(scope="module")
def weak_kit(tmp_path_factory) -> Path:
    """Chapter 1.3 alone, every test of sigmoid_derivative neutered (visible and hidden), and two lines of sigmoid
    excluded by `# mutants: skip` markers (one alone on its line, one at the end of the line)."""
    kit = tmp_path_factory.mktemp("kit")
    for tree in ("source", "solutions", "exercises", "autograder"):
        shutil.copytree(ROOT / tree / CHAPTER, kit / tree / CHAPTER)
    shutil.copy(ROOT / "exercises" / ".dlcourse-release.json", kit / "exercises")
    (kit / "autograder" / CHAPTER / "equivalent_mutants.txt").unlink(missing_ok=True)
    _neuter(kit / "source" / CHAPTER / "test_sigmoid.py", "test_sigmoid_derivative_values")
    _neuter(kit / "autograder" / CHAPTER / "test_sigmoid_hidden.py", "test_derivative_matches_numerical",
            "test_derivative_bounds_and_peak", "test_derivative_stable")
    master = kit / "source" / CHAPTER / "sigmoid.py"
    text = master.read_text()
    for old, new in [("    Z = Z.astype(", "    # mutants: skip (the dtype choice)\n    Z = Z.astype("),
                     ("cannot overflow\n", "cannot overflow  # mutants: skip\n")]:
        assert old in text
        text = text.replace(old, new, 1)
    master.write_text(text)
    # What `dlcourse build` writes for the reference module (the tool refuses a stale one).
    (kit / "solutions" / CHAPTER / "sigmoid.py").write_text(
        GENERATED_NOTE.format(path=f"{CHAPTER}/sigmoid.py") + make_solution(text))
    return kit


@pytest.fixture(scope="module")
def weak_run(weak_kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("weak")
    (weak_kit / "autograder" / CHAPTER / "equivalent_mutants.txt").write_text(
        "# reviewed for the test\n"
        f"{EQUIVALENT} listed for the test: counts as equivalent\n"
        'core/ReplaceBinaryOperator_Mul_Add sigmoid_derivative "return s * (1 + s)" 0 a line that no longer exists\n')
    # Seed 106 draws 8 of the 81 mutants: 4 of sigmoid (one of them EQUIVALENT) and 4 of sigmoid_derivative,
    # SURVIVOR among them.
    return mutants(out, "--kit", str(weak_kit), "--max", "8", "--seed", "106")


EQUIVALENT = 'core/ReplaceComparisonOperator_GtE_Gt sigmoid "return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))" 0'
SURVIVOR = 'core/ReplaceBinaryOperator_Mul_Div sigmoid_derivative "return s * (1 - s)" 0'


def test_weakened_suite_lets_a_known_mutant_survive(weak_run):
    data, proc = weak_run
    ch = data["chapters"]["1.3"]
    survivors = {m["id"]: m for m in ch["survived"]}
    assert SURVIVOR in survivors, sorted(survivors)
    diff = survivors[SURVIVOR]["diff"]
    assert "-    return s * (1 - s)\n" in diff and "+    return s / (1 - s)\n" in diff
    assert diff.startswith(f"--- a/solutions/{CHAPTER}/sigmoid.py\n+++ b/solutions/{CHAPTER}/sigmoid.py\n@@ ")
    assert SURVIVOR in proc.stdout and "+    return s / (1 - s)" in proc.stdout
    # No test calls sigmoid_derivative any more: its 4 mutants survive; sigmoid's are killed but EQUIVALENT.
    assert {m["function"] for m in ch["survived"]} == {"sigmoid_derivative"} and len(survivors) == 4
    assert (ch["total"], ch["killed"], ch["available"]) == (8, 3, 81)
    assert all(m["status"] == "killed" for m in ch["mutants"] if m["function"] == "sigmoid" and m["id"] != EQUIVALENT)
    # The markers excluded the dtype line (9 mutants) and the line computing e (4 unary operator mutants).
    assert ch["excluded"]["skip_marker"] == 13
    assert not any(m["line"].startswith(("Z = Z.astype", "e = np.exp")) for m in ch["mutants"])


def test_equivalent_entry_is_subtracted_and_stale_one_reported(weak_run):
    data, proc = weak_run
    ch = data["chapters"]["1.3"]
    assert [m["id"] for m in ch["equivalent"]] == [EQUIVALENT]
    assert ch["equivalent"][0]["equivalent_reason"] == "listed for the test: counts as equivalent"
    assert EQUIVALENT not in {m["id"] for m in ch["survived"]}
    assert ch["score"] == 3 / (8 - 1)
    (stale,) = ch["warnings"]
    assert "stale" in stale and "return s * (1 + s)" in stale and "equivalent_mutants.txt:3" in stale
    assert "warning: " in proc.stdout


def test_survivors_of_a_report_are_graded_again_and_nothing_else(weak_run, weak_kit, tmp_path):
    """--survivors: after a suite is strengthened, only the earlier report's survivors are graded again (the
    listed equivalent one is not a survivor, the killed ones are left out)."""
    data, _ = weak_run
    before = tmp_path / "before.json"
    before.write_text(json.dumps(data))
    again, proc = mutants(tmp_path, "--kit", str(weak_kit), "--survivors", str(before), "--seed", "106")
    ch = again["chapters"]["1.3"]
    assert sorted(m["id"] for m in ch["mutants"]) == sorted(m["id"] for m in data["chapters"]["1.3"]["survived"])
    assert ch["total"] == 4 and len(ch["survived"]) == 4 and SURVIVOR in proc.stdout
    assert "not a full run" in proc.stdout


# -- errors a person can fix: one line each

@pytest.mark.parametrize("args, expect", [(["--chapters", "9.9"], "unknown chapter"),
                                          (["--kit", "/nonexistent/kit"], "is not a kit"),
                                          (["--max", "0"], "--max must be at least 1"),
                                          (["--survivors", "/nonexistent.json"], "--survivors /nonexistent.json")])
def test_bad_input_is_one_line(args, expect):
    proc = dlcourse("mutants", *args)
    assert proc.returncode == 2 and expect in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


# -- the marker and the equivalent list, without grading

def test_skip_marker_covers_a_statement_or_a_header_and_its_block():
    text = ("def f(X, Y):\n"
            "    if X.ndim != 2:  # mutants: skip\n"
            "        raise ValueError('X')\n"
            "    else:\n"
            "        X = X + 1\n"
            "    # mutants: skip\n"
            "    Y = (Y +\n"
            "         1)\n"
            "    Z = (X *\n"
            "         Y)  # mutants: skip\n"
            "    return Z\n")
    markers = _markers(text)
    assert markers == {2: False, 6: True, 10: False}
    assert _skipped_lines(text, markers) == {2, 3, 7, 8, 10}


def test_equivalent_file_entries_and_malformed_lines(tmp_path):
    path = tmp_path / "equivalent_mutants.txt"
    path.write_text('# comment\n\ncore/NumberReplacer f "x = a | b  # c" 1 why\nnot an entry\n'
                    'core/NumberReplacer f "x" 0\n')
    entries, problems = read_entries(path)
    assert [(e.ident, e.reason) for e in entries] == [('core/NumberReplacer f "x = a | b  # c" 1', "why")]
    assert len(problems) == 2 and ":4:" in problems[0] and ":5:" in problems[1]
