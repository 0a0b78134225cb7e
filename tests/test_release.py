"""What students receive, on its own: the runtime's wheel and sdist, and `dlcourse release` installed alone.

Nothing a student receives may hold a hidden suite, the name of a hidden test, or the body of a function as the
reference solution (or the grader's checkers) write it; tests/secrets_scan.py says what that means and looks.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dlcourse.chapters import list_chapters

from .secrets_scan import ROOT, Secrets, archive_files, archive_names, folder_files

SECRETS = Secrets.of_kit()
CHAPTERS = list_chapters(ROOT / "source")
WITHOUT_TORCH = "1.1-5.1"  # every chapter but the bridge to PyTorch, which needs torch in the venv


def dlcourse(*args: str, cwd: Path = ROOT, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_the_scan_finds_what_it_looks_for():
    """The scan is worth something: it finds every written function in solutions/ and the hidden suites."""
    leaks = SECRETS.leaks(folder_files(ROOT / "solutions"))
    for chapter in CHAPTERS:
        assert any(f"reference body of {chapter.name} " in line for line in leaks), chapter.name
    assert len(SECRETS.bodies) > 60 and len(SECRETS.hidden_tests) > 200
    hidden = SECRETS.leaks(folder_files(ROOT / "autograder"))
    assert sum("a hidden suite's file" in line for line in hidden) == len(SECRETS.hidden_files) == len(CHAPTERS)
    assert any("autograder/oracle.py mlp_forward" in line for line in hidden)


@pytest.fixture(scope="module")
def runtime_dists(tmp_path_factory) -> list[Path]:
    """The student runtime's sdist, and its wheel built from that sdist (as PyPA's `build` does)."""
    tmp = tmp_path_factory.mktemp("runtime-dists")
    shutil.copytree(ROOT / "runtime", tmp / "runtime", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir",
                           str(tmp / "dist"), str(tmp / "runtime")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return sorted((tmp / "dist").iterdir())


def test_student_wheel_and_sdist_hold_no_secret(runtime_dists):
    wheel = next(p for p in runtime_dists if p.suffix == ".whl")
    sdist = next(p for p in runtime_dists if p.name.endswith(".tar.gz"))
    names = archive_names(wheel)
    assert {n.split("/")[0] for n in names} == {"dlcourse", "dlcourse-0.1.0.dist-info"}, names
    assert "dlcourse/data/mnist/t10k-images-idx3-ubyte.gz" in names and "dlcourse/data/mnist/README.md" in names
    for dist in (wheel, sdist):
        everything = archive_names(dist)
        assert not [n for n in everything if "autograder" in n or "solutions" in n or n.endswith("_hidden.py")]
        files = archive_files(dist)
        assert len(files) > 10 and SECRETS.leaks(files) == [], dist.name
        assert not [n for n, text in files.items() if "autograder" in text and n.endswith(".py")], \
            "the student runtime names the grader"


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student-repo"
    proc = dlcourse("release", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_release_is_a_whole_repository_with_no_secret(release):
    for rel in ("README.md", "pyproject.toml", ".gitignore", ".github/workflows/check.yml", ".dlcourse-release.json",
                "dlcourse/data/mnist/train5k-images-idx3-ubyte.gz"):
        assert (release / rel).is_file(), rel
    assert [c.name for c in list_chapters(release)] == [c.name for c in CHAPTERS]
    for chapter in CHAPTERS:
        assert sorted(p.name for p in (release / chapter.name).iterdir()) == sorted(
            p.name for p in (ROOT / "exercises" / chapter.name).iterdir() if p.suffix in (".py", ".ipynb"))
    assert not (release / "autograder").exists() and not (release / "solutions").exists()
    assert SECRETS.leaks(folder_files(release)) == []
    readme = (release / "README.md").read_text()
    assert "pip install -e ." in readme and "dlcourse check" in readme and "| 3.4 | [`ch3_4_backprop/`]" in readme
    assert "`backward_mlp`" in readme  # what the student writes, per chapter
    manifest = json.loads((release / ".dlcourse-release.json").read_text())
    stub = ROOT / "exercises" / "ch1_3_sigmoid" / "sigmoid.py"
    import hashlib

    assert manifest["chapters"]["ch1_3_sigmoid"]["files"]["sigmoid.py"] == hashlib.sha256(stub.read_bytes()).hexdigest()


def test_release_workflows_pass_actionlint(release, actionlint, tmp_path):
    workflows = sorted((release / ".github" / "workflows").glob("*.yml"))
    assert workflows
    proc = subprocess.run([*actionlint, *map(str, workflows)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = workflows[0].read_text()
    assert "dlcourse check --summary \"$GITHUB_STEP_SUMMARY\"" in text and "python -m pytest" in text
    assert "hidden" not in text.replace("never runs the hidden tests", "")  # nothing hidden is run or fetched
    broken = tmp_path / "broken.yml"  # the linter is awake: a workflow with a mistake fails
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    needs: nothing"))
    assert subprocess.run([*actionlint, str(broken)], capture_output=True).returncode != 0


def _junit(path: Path) -> dict[str, tuple[str, str]]:
    """{test id: (outcome, message)} from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome, message = tag, (node.get("message") or "") + (node.text or "")
        out[f"{case.get('classname')}::{case.get('name')}"] = (outcome, message)
    return out


@pytest.fixture(scope="module")
def student_venv(tmp_path_factory, wheelhouse) -> tuple[Path, Path]:
    """A release of every chapter but 5.2, installed alone as its README says (pip install -e .) into a fresh
    virtual environment, offline: ``(repository, venv)``."""
    base = tmp_path_factory.mktemp("student")
    repo, venv = base / "repo", base / "venv"
    proc = dlcourse("release", str(repo), "--chapters", WITHOUT_TORCH)
    assert proc.returncode == 0, proc.stderr
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
                           "--find-links", str(wheelhouse), "-e", "."], cwd=repo, capture_output=True, text=True,
                          env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return repo, venv


def _clean_env() -> dict:
    """No variable of the kit's environment that could point the venv at the kit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "DLCOURSE_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def _in_venv(venv: Path, repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=repo, capture_output=True, text=True,
                          env=_clean_env(), timeout=900)


def test_release_installed_alone_stubs_fail_and_solutions_pass(student_venv):
    repo, venv = student_venv
    where = _in_venv(venv, repo, "python", "-c", "import dlcourse, importlib.util; print(dlcourse.__file__); "
                                                 "print(importlib.util.find_spec('autograder'))")
    assert where.returncode == 0, where.stderr
    assert where.stdout.split() == [str(repo / "dlcourse" / "__init__.py"), "None"], "the kit is on the path"
    # The untouched stubs: every visible test fails, each saying what is not implemented yet.
    _in_venv(venv, repo, "python", "-m", "pytest", "-q", "--junitxml", str(repo.parent / "stubs.xml"))
    stubs = _junit(repo.parent / "stubs.xml")
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                *[str(ROOT / "exercises" / c.name) for c in list_chapters(repo)]],
                               capture_output=True, text=True, cwd=ROOT).stdout
    assert len(stubs) == sum("::" in ln for ln in collected.splitlines()) > 50
    wrong = {k: v for k, v in stubs.items() if v[0] != "failure" or "not implemented yet" not in v[1]}
    assert not wrong, list(wrong.items())[:3]
    check = _in_venv(venv, repo, "dlcourse", "check")
    assert check.returncode == 1 and "0 of 20 chapters complete" in check.stdout, check.stdout + check.stderr
    # The reference modules in place of the stubs: every visible test passes, every chapter is done.
    for chapter in list_chapters(repo):
        shutil.copy(ROOT / "solutions" / chapter.name / f"{chapter.module}.py", repo / chapter.name)
    _in_venv(venv, repo, "python", "-m", "pytest", "-q", "--junitxml", str(repo.parent / "solved.xml"))
    solved = _junit(repo.parent / "solved.xml")
    assert solved.keys() == stubs.keys() and all(v[0] == "passed" for v in solved.values()), \
        [k for k, v in solved.items() if v[0] != "passed"][:5]
    summary = repo.parent / "summary.md"
    check = _in_venv(venv, repo, "dlcourse", "check", "--summary", str(summary))
    assert check.returncode == 0 and "20 of 20 chapters complete" in check.stdout, check.stdout + check.stderr
    assert "20 of 20 chapters complete" in summary.read_text() and "| 4.6 capstone | " in summary.read_text()
    # Instructor commands are not there, and say so in one line.
    grade = _in_venv(venv, repo, "dlcourse", "grade", ".")
    assert grade.returncode == 2 and "instructor command" in grade.stderr and "Traceback" not in grade.stderr


def test_bridge_chapter_says_it_needs_pytorch(student_venv, tmp_path):
    """5.2 in a venv without PyTorch: the check names what to install, not "no tests found"."""
    repo, venv = student_venv
    proc = dlcourse("release", str(repo), "--chapters", "5.2")  # added to the student's repository
    assert proc.returncode == 0, proc.stderr
    check = _in_venv(venv, repo, "dlcourse", "check", "5.2")
    row = next(ln for ln in check.stdout.splitlines() if ln.startswith("5.2"))
    assert "needs PyTorch" in row and "pip install" in row, check.stdout
    # Plain pytest gives the same reason in its summary, not a bare "1 skipped".
    tests = _in_venv(venv, repo, "python", "-m", "pytest", "ch5_2_bridge")
    assert "SKIPPED [1] ch5_2_bridge/test_bridge.py:6: chapter 5.2 needs PyTorch: pip install -e '.[torch]'" \
        in tests.stdout, tests.stdout


def test_adding_a_week_keeps_the_students_work(tmp_path):
    repo = tmp_path / "repo"
    assert dlcourse("release", str(repo), "--chapters", "1.1-1.3").returncode == 0
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    work = repo / "ch1_3_sigmoid" / "sigmoid.py"
    work.write_text(work.read_text() + "\n# the student's own line\n")
    (repo / "ch1_3_sigmoid" / "notes.md").write_text("my notes\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-c", "user.name=s", "-c", "user.email=s@x", "-C", str(repo), "commit", "-qm", "w1"],
                   check=True)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and "ch1_" in str(p) and ".git" not in p.parts}
    proc = dlcourse("release", str(repo), "--chapters", "1.1-2.2", "--commit")
    assert proc.returncode == 0, proc.stderr
    assert "chapters added 2.1, 2.2" in proc.stdout and "left as they are" in proc.stdout and "committed" in proc.stdout
    assert {p: p.read_bytes() for p in before} == before, "the student's files changed"
    assert [c.number for c in list_chapters(repo)] == ["1.1", "1.2", "1.3", "2.1", "2.2"]
    assert "| 2.2 |" in (repo / "README.md").read_text()
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == "", "the release left files uncommitted"
    changed = subprocess.run(["git", "-C", str(repo), "show", "--name-only", "--format=", "HEAD"],
                             capture_output=True, text=True).stdout.split()
    assert "ch2_1_losses/losses.py" in changed and not [f for f in changed if f.startswith("ch1_")]


@pytest.mark.parametrize("prepare, args, expect", [
    (lambda p: (p / "stuff.txt").write_text("x"), (), "is not empty and is not a release"),
    (lambda p: None, ("--chapters", "3.4"), "chapter 3.4 imports activations from chapter 3.2"),
    (lambda p: None, ("--chapters", "9.9"), "unknown chapter"),
], ids=["not-a-release", "missing-earlier-chapter", "unknown-chapter"])
def test_release_refuses_with_one_line(tmp_path, prepare, args, expect):
    out = tmp_path / "out"
    out.mkdir()
    prepare(out)
    proc = dlcourse("release", str(out), *args)
    assert proc.returncode == 2 and expect in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_release_refuses_a_stale_exercises_folder(tmp_path):
    """An edit to source/ not yet built would hand out old stubs: the release says to build first."""
    kit = tmp_path / "kit"
    for tree in ("source", "exercises", "solutions", "autograder", "runtime"):
        shutil.copytree(ROOT / tree, kit / tree, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb"))
    master = kit / "source" / "ch1_3_sigmoid" / "sigmoid.py"
    master.write_text(master.read_text().replace('"""Chapter 1.3', '"""Chapter 1.3 (edited)', 1))
    proc = dlcourse("release", str(tmp_path / "out"), "--kit", str(kit), "--chapters", "1.1-1.3")
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "dlcourse: error: exercises/ is out of date (exercises/ch1_3_sigmoid/sigmoid.py differ from source/): run "
        "`dlcourse build` first")
    assert not (tmp_path / "out").exists()
