"""`dlcourse check`: the student's progress table, run from a copy of exercises/."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .grading import stub_out

ROOT = Path(__file__).resolve().parents[1]


def run_check(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", "check", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def student_copy(tmp_path: Path) -> Path:
    release = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", release, ignore=shutil.ignore_patterns("ch[2-9]_*"))
    return release


def test_untouched_release_says_what_to_implement(tmp_path):
    proc = run_check(student_copy(tmp_path))
    assert proc.returncode == 1
    assert "1.1 arrays" in proc.stdout and "0/4" in proc.stdout and "start: implement normalize" in proc.stdout
    assert "0 of 3 chapters complete" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_progress_after_solving_one_chapter_and_breaking_another(tmp_path):
    release = student_copy(tmp_path)
    shutil.copy(ROOT / "solutions" / "ch1_1_arrays" / "arrays.py", release / "ch1_1_arrays" / "arrays.py")
    sig = (ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py").read_text()
    (release / "ch1_3_sigmoid" / "sigmoid.py").write_text(sig.replace("return s * (1 - s)", "return Z * (1 - Z)"))
    proc = run_check(tmp_path, "--path", str(release))
    lines = proc.stdout.splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln[:1].isdigit()}
    assert "4/4" in row["1.1"] and "done" in row["1.1"]
    assert "2/3" in row["1.3"] and row["1.3"].endswith("fix sigmoid_derivative")
    # Under the row, the function's first failure in full: the call, the expected and the actual values, the hint.
    below = lines[lines.index(row["1.3"]) + 1:lines.index(row["1.3"]) + 6]
    assert below[0].strip().startswith("sigmoid_derivative(Z") and "wrong values" in below[0]
    assert below[1].strip().startswith("expected:") and below[2].strip().startswith("actual:")
    assert "-6." in below[2], "the actual values the student's code returned"
    assert below[3].strip() == "Hint: the derivative is s * (1 - s) where s = sigmoid(Z), not Z * (1 - Z)"
    assert "1 of 3 chapters complete" in proc.stdout


def test_one_chapter_by_number(tmp_path):
    release = student_copy(tmp_path)
    proc = run_check(release, "1.2")
    assert "1.2 matrix_ops" in proc.stdout and "1.1 arrays" not in proc.stdout


def test_not_in_a_release_folder(tmp_path):
    proc = run_check(tmp_path)
    assert proc.returncode == 2 and "no chapter folders" in proc.stderr


def test_plain_pytest_still_works_on_the_release(tmp_path):
    release = student_copy(tmp_path)
    shutil.copy(ROOT / "solutions" / "ch1_3_sigmoid" / "sigmoid.py", release / "ch1_3_sigmoid" / "sigmoid.py")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "ch1_3_sigmoid"],
                          capture_output=True, text=True, cwd=release)
    assert proc.returncode == 0, proc.stdout
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "ch1_1_arrays"],
                          capture_output=True, text=True, cwd=release)
    assert proc.returncode == 1 and "normalize is not implemented yet" in proc.stdout


def test_a_stub_in_an_earlier_chapter_is_named_with_its_chapter(tmp_path):
    """4.3's cnn_forward calls 4.2's conv2d: with 4.3 done and 4.2 untouched, say to finish 4.2, not 4.3."""
    release = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", release, ignore=shutil.ignore_patterns("ch[5-9]_*", "ch4_[4-9]_*"))
    for chapter in ("ch3_2_activations", "ch4_3_pooling"):
        for src in (ROOT / "solutions" / chapter).glob("*.py"):
            if not src.name.startswith("test_"):
                shutil.copy(src, release / chapter / src.name)
    proc = run_check(release, "4.2,4.3")
    lines = proc.stdout.splitlines()
    row = {ln.split()[0]: ln for ln in lines if ln[:1].isdigit()}
    assert "start: implement conv2d" in row["4.2"], proc.stdout
    assert "first finish chapter 4.2 (conv2d)" in row["4.3"], proc.stdout
    below = lines[lines.index(row["4.3"]) + 1]
    assert "cnn_forward uses conv2d from chapter 4.2 (ch4_2_convolution/convolution.py)" in below, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_stub_helper_of_the_same_chapter_is_named(tmp_path):
    """4.6's train_capstone calls capstone_forward: name the helper left as a stub, not train_capstone."""
    release = tmp_path / "exercises"
    shutil.copytree(ROOT / "solutions", release, ignore=shutil.ignore_patterns("ch5_*"))
    stub_out(release / "ch4_6_capstone" / "capstone.py", "capstone_forward")
    proc = run_check(release, "4.6")
    row = next(ln for ln in proc.stdout.splitlines() if ln.startswith("4.6"))
    assert row.endswith("implement capstone_forward"), proc.stdout  # not "train_capstone"
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "ch4_6_capstone"],
                           capture_output=True, text=True, cwd=release, timeout=300)
    assert ("4.6 train_capstone calls capstone_forward, which is not implemented yet: replace `raise "
            "NotImplementedError()` in capstone_forward in ch4_6_capstone/capstone.py") in tests.stdout


def solved_copy(tmp_path: Path, chapters: tuple[str, ...]) -> Path:
    """A copy of the release whose ``chapters`` hold the reference modules."""
    release = student_copy(tmp_path)
    for extra in ("ch2_4_numerical_gradients", "ch3_1_perceptron", "ch3_2_activations", "ch3_3_mlp_forward",
                  "ch3_4_backprop"):
        shutil.copytree(ROOT / "exercises" / extra, release / extra)
    for chapter in chapters:
        module = next(p for p in (ROOT / "solutions" / chapter).glob("*.py") if not p.name.startswith("test_"))
        shutil.copy(module, release / chapter)
    return release


def test_a_syntax_error_is_one_message_with_file_and_line(tmp_path):
    release = solved_copy(tmp_path, ("ch1_3_sigmoid",))
    module = release / "ch1_3_sigmoid" / "sigmoid.py"
    module.write_text(module.read_text().replace("return s * (1 - s)", "return s * (1 - s"))
    proc = run_check(release, "1.3")
    lines = proc.stdout.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith("1.3 ")))
    assert lines[start].endswith("your module does not run: fix the error below")
    assert lines[start + 1].strip() == "1.3: ch1_3_sigmoid/sigmoid.py, line 45 does not run: SyntaxError: '(' was never closed"
    assert lines[start + 2].strip() == "return s * (1 - s"
    assert lines[start + 4].strip().startswith("Hint: Python could not read the file")
    assert lines[start + 5].startswith("---"), "nothing else for the chapter"
    # -rN: no short summary, whose lines are cut to the terminal's width (so its count depends on the terminal)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rN", "-p", "no:cacheprovider", "ch1_3_sigmoid"],
                           capture_output=True, text=True, cwd=release)
    assert tests.stdout.count("sigmoid.py, line 45 does not run: SyntaxError") == 3  # once per test, the same
    for internal in ("request =", "SubRequest", "dlcourse/", "importlib", "defines no function"):
        assert internal not in tests.stdout, internal


def test_a_numpy_error_in_the_students_code_shows_their_line_and_a_hint(tmp_path):
    """3.4's backward_mlp with `dZ @ W` (the .T missing): NumPy's error, the student's own line, a hint about the
    transpose; not a traceback through the tests, the plugin or NumPy."""
    release = solved_copy(tmp_path, ("ch1_3_sigmoid", "ch3_2_activations", "ch3_3_mlp_forward", "ch3_4_backprop"))
    module = release / "ch3_4_backprop" / "backprop.py"
    text = module.read_text()
    module.write_text(text.replace('dZ = (dZ @ params[f"W{l}"].T)', 'dZ = (dZ @ params[f"W{l}"])'))
    line = next(n for n, ln in enumerate(module.read_text().splitlines(), 1) if 'dZ = (dZ @ params[f"W{l}"])' in ln)
    proc = run_check(release, "3.4")
    assert "fix backward_mlp" in proc.stdout
    assert "backward_mlp() raised ValueError: matmul: Input operand 1 has a mismatch" in proc.stdout
    assert f"ch3_4_backprop/backprop.py, line {line}, in backward_mlp:  dZ = (dZ @ params" in proc.stdout
    assert "Hint: a matrix product of arrays whose inner sizes differ" in proc.stdout and ".T (transpose)" in proc.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "ch3_4_backprop"],
                           capture_output=True, text=True, cwd=release)
    assert f"backprop.py, line {line}, in backward_mlp" in tests.stdout and "Hint: a matrix product" in tests.stdout
    assert not re.search(r"test_backprop\.py:\d", tests.stdout), "a frame of the tests' code"
    for internal in ("site-packages", "pytest_plugin", "StudentModule", "def test_"):
        assert internal not in tests.stdout, internal
