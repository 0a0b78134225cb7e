"""`dlcourse build`: one source, two generated trees, and a check that catches a stale release."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.build import BuildError, build, check, make_solution, make_stub, render

ROOT = Path(__file__).resolve().parents[1]

MASTER = '''"""A chapter."""
import numpy as np


def f(x):
    """Double x."""
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION
'''


def make_kit(tmp_path: Path, module: str = MASTER, tests: bool = True) -> Path:
    kit = tmp_path / "kit"
    (kit / "source" / "ch9_1_demo").mkdir(parents=True)
    (kit / "source" / "ch9_1_demo" / "demo.py").write_text(module)
    if tests:
        (kit / "source" / "ch9_1_demo" / "test_demo.py").write_text("def test_f(student):\n    assert student.f(1) == 2\n")
    return kit


def test_committed_release_is_up_to_date():
    assert check(ROOT) == []


def test_stub_uses_nbgraders_stub_and_keeps_docstring():
    stub = make_stub(MASTER)
    assert "y = 2 * x" not in stub and "return y" not in stub
    assert '    """Double x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()' in stub
    compile(stub, "stub", "exec")


def test_solution_drops_only_the_markers():
    sol = make_solution(MASTER)
    assert "BEGIN SOLUTION" not in sol and "END SOLUTION" not in sol
    assert "    y = 2 * x\n    return y\n" in sol


def test_build_writes_both_trees_and_check_passes(tmp_path):
    kit = make_kit(tmp_path)
    written = build(kit)
    assert {"exercises/ch9_1_demo/demo.py", "solutions/ch9_1_demo/demo.py", "exercises/ch9_1_demo/test_demo.py",
            "solutions/ch9_1_demo/test_demo.py"} <= set(written)
    assert check(kit) == []
    assert build(kit) == []  # nothing changes on a second build


def test_one_character_edit_makes_check_fail_naming_the_file(tmp_path):
    kit = tmp_path / "copy"
    for tree in ("source", "exercises", "solutions", "autograder"):
        shutil.copytree(ROOT / tree, kit / tree)
    master = kit / "source" / "ch1_3_sigmoid" / "sigmoid.py"
    master.write_text(master.read_text().replace("    return s * (1 - s)", "    return s * (2 - s)", 1))
    # The solution module and the solution notebook both hold that line; the release has neither.
    assert check(kit) == ["differs: solutions/ch1_3_sigmoid/sigmoid.ipynb", "differs: solutions/ch1_3_sigmoid/sigmoid.py"]
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "build", "--check", "--root", str(kit)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "solutions/ch1_3_sigmoid/sigmoid.py" in proc.stderr


def test_check_reports_files_not_built_from_source(tmp_path):
    kit = make_kit(tmp_path)
    build(kit)
    (kit / "exercises" / "ch9_1_demo" / "extra.py").write_text("x = 1\n")
    assert check(kit) == ["not built from source (delete it): exercises/ch9_1_demo/extra.py"]


@pytest.mark.parametrize("module, expect", [
    (MASTER.replace("    ### END SOLUTION\n", ""), "demo.py:7: '### BEGIN SOLUTION' is never closed"),
    (MASTER.replace("    ### BEGIN SOLUTION\n", ""), "demo.py:9: '### END SOLUTION' without"),
    (MASTER + "### BEGIN SOLUTION\nZ = 1\n### END SOLUTION\n", "demo.py:11: solution region (lines 11-13) is not inside a function"),
    (MASTER.replace("y = 2 * x", "y = 2 * x)"), "demo.py:8: syntax error"),
    (MASTER.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", ""), "no '### BEGIN SOLUTION' region"),
], ids=["unclosed", "end-without-begin", "outside-function", "syntax-error", "no-region"])
def test_malformed_source_is_a_clear_error(tmp_path, module, expect):
    kit = make_kit(tmp_path, module)
    with pytest.raises(BuildError, match=expect.replace("(", r"\(").replace(")", r"\)")) as info:
        render(kit / "source")
    assert "source/ch9_1_demo/demo.py" in str(info.value)


def test_chapter_without_tests_is_an_error(tmp_path):
    kit = make_kit(tmp_path, tests=False)
    with pytest.raises(BuildError, match="source/ch9_1_demo: a chapter needs visible tests"):
        render(kit / "source")


def test_cli_check_passes_on_the_committed_tree():
    """... and builds every notebook without importing the grammar jsonschema's optional IRI checker compiles
    (rfc3987_syntax, on lark: 1.2 s of each `dlcourse build`, `release` and `lesson` where it is installed)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "dlcourse.cli", "build", "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "nbformat" in imported and "lark" not in imported, sorted(m for m in imported if "lark" in m)


def test_cli_reports_a_malformed_source_in_one_line(tmp_path):
    kit = make_kit(tmp_path, MASTER.replace("    ### END SOLUTION\n", ""))
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "build", "--root", str(kit)], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("dlcourse: error: source/ch9_1_demo/demo.py:7: '### BEGIN SOLUTION' is never "
                                   "closed by '### END SOLUTION'")


def test_nbgrader_sources_render_again_only_when_an_input_or_output_changed(tmp_path, monkeypatch):
    """nbgrader_config.py refreshes build/nbgrader_source on every load (three per nbgrader command): a stamp of
    the inputs and outputs skips the render when nothing changed, and only then."""
    import autograder.build as build_module

    kit = make_kit(tmp_path)
    renders = []
    real = build_module._render
    monkeypatch.setattr(build_module, "_render", lambda *a, **k: renders.append(1) or real(*a, **k))
    notebook = "build/nbgrader_source/ch9_1_demo/demo.ipynb"
    assert notebook in build_module.nbgrader_sources(kit) and len(renders) == 1
    assert build_module.nbgrader_sources(kit) == [] and len(renders) == 1  # up to date: no render
    (kit / "build" / "nbgrader_source.stamp").unlink()
    build(kit)  # `dlcourse build` writes the same folder, and its stamp
    assert len(renders) == 2 and build_module.nbgrader_sources(kit) == [] and len(renders) == 2
    test = kit / "source" / "ch9_1_demo" / "test_demo.py"
    test.write_text(test.read_text() + "\n\ndef test_g(student):\n    assert student.f(2) == 4\n")
    assert build_module.nbgrader_sources(kit) == ["build/nbgrader_source/ch9_1_demo/test_demo.py",
                                                   notebook] and len(renders) == 3  # an input changed
    assert "test_g" in (kit / "build/nbgrader_source/ch9_1_demo/test_demo.py").read_text()
    (kit / notebook).write_text("{}")  # an output edited by hand, then deleted: rebuilt each time
    assert build_module.nbgrader_sources(kit) == [notebook] and len(renders) == 4
    (kit / notebook).unlink()
    assert build_module.nbgrader_sources(kit) == [notebook] and len(renders) == 5
    assert build_module.nbgrader_sources(kit) == [] and len(renders) == 5
