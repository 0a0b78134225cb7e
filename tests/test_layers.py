"""Three floors, imports pointing one way: the student runtime (runtime/dlcourse) never reaches the grader.

The runtime finds an installed grader only through entry points (the ``dlcourse`` command's plugins, the
notebook's grading hook); with the grader made unimportable, every module still imports and the student's
commands still work.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

from .grading import ROOT

RUNTIME = ROOT / "runtime" / "dlcourse"

BLOCK = textwrap.dedent("""
    import importlib.abc, sys

    class NoGrader(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "autograder" or name.startswith("autograder."):
                raise ImportError(f"the grader is not importable here ({name})")
            return None

    sys.meta_path.insert(0, NoGrader())
""")


def test_no_module_of_the_student_runtime_names_the_grader():
    modules = sorted(RUNTIME.rglob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        text = path.read_text()
        imported = {alias.name for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(ast.parse(text)) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] == "autograder"}, path
        assert "autograder" not in text, f"{path.name} names the grader"


def test_the_student_runtime_works_with_the_grader_unimportable(tmp_path):
    release = tmp_path / "release"
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "release", str(release), "--chapters", "1.1-1.3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    script = BLOCK + textwrap.dedent(f"""
        import importlib, pkgutil, dlcourse
        names = [m.name for m in pkgutil.walk_packages(dlcourse.__path__, "dlcourse.")]
        for name in names:
            importlib.import_module(name)
        assert "autograder" not in sys.modules
        print(len(names), "modules imported")
        from dlcourse.cli import main
        status = main(["check", "--path", {str(release)!r}])
        grade = main(["grade", {str(release)!r}])
        assert "autograder" not in sys.modules
        print("exit", status, grade)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "modules imported" in proc.stdout and "0 of 3 chapters complete" in proc.stdout
    assert "exit 1 2" in proc.stdout  # check: work to do; grade: not here
    assert "`dlcourse grade` is an instructor command" in proc.stderr
    assert "failed to load" in proc.stderr  # the installed grader's plugin is reported, not a traceback
    assert "Traceback" not in proc.stderr
