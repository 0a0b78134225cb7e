"""What must never reach a student, and a scan of files (folders, wheels, sdists) that finds it.

Secrets of the kit: the hidden suites' files and the names of tests defined only there; the body of every
function a student writes, as the reference solution has it (and of the grader's own checkers, oracle.py and
gradcheck.py). A body is compared line by line after stripping indentation, blank lines and comments, so a
copy survives reformatting of its surroundings but not a change to its code.
"""
from __future__ import annotations

import ast
import json
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import list_chapters

ROOT = Path(__file__).resolve().parents[1]


def _code_lines(text: str) -> list[str]:
    lines = (ln.strip() for ln in text.splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _bodies(source: str) -> dict[str, str]:
    """``{qualified name: body}`` of every function in ``source`` (docstring left out)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    body = child.body
                    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                                               ast.Constant):
                        body = body[1:]
                    if body:
                        found[name] = "\n".join(_code_lines("\n".join(lines[body[0].lineno - 1:body[-1].end_lineno])))
                walk(child, name + ".")

    walk(tree, "")
    return found


@dataclass
class Secrets:
    hidden_files: set[str] = field(default_factory=set)  # file names of the hidden suites
    hidden_tests: set[str] = field(default_factory=set)  # test functions defined only in hidden suites
    bodies: dict[str, str] = field(default_factory=dict)  # "ch1_3_sigmoid sigmoid" -> the reference body

    @classmethod
    def of_kit(cls, root: Path = ROOT) -> "Secrets":
        found = cls()
        visible_tests = set()
        for chapter in list_chapters(root / "source"):
            for path in (root / "source" / chapter.name).glob("test_*.py"):
                visible_tests |= set(_bodies(path.read_text()))
            for path in (root / "autograder" / chapter.name).glob("test_*.py"):
                found.hidden_files.add(path.name)
                found.hidden_tests |= {n for n in _bodies(path.read_text()) if n.startswith("test_")}
            stub = _bodies((root / "exercises" / chapter.name / f"{chapter.module}.py").read_text())
            solution = _bodies((root / "solutions" / chapter.name / f"{chapter.module}.py").read_text())
            for name, body in solution.items():
                if stub.get(name) != body:  # written by the student (given helpers are in the stub as they are)
                    found.bodies[f"{chapter.name} {name}"] = body
        found.hidden_tests -= visible_tests
        for helper in ("oracle.py", "gradcheck.py"):
            for name, body in _bodies((root / "autograder" / helper).read_text()).items():
                found.bodies[f"autograder/{helper} {name}"] = body
        return found

    def leaks(self, files: dict[str, str]) -> list[str]:
        """What of the secrets shows in ``files`` (``{name: text}``), one line per finding."""
        found = []
        for name, text in files.items():
            base = name.rsplit("/", 1)[-1]
            if base in self.hidden_files:
                found.append(f"{name}: a hidden suite's file")
            code = "\n".join(_code_lines(text))
            found += [f"{name}: holds the test name {t}" for t in sorted(self.hidden_tests)
                      if t in text and re.search(rf"\b{t}\b", text)]
            found += [f"{name}: holds the reference body of {k}" for k, body in self.bodies.items() if body in code]
        return found


def _notebook_code(text: str) -> str:
    """A notebook's cells (code and Markdown) as plain text; a file that is not a notebook as it is."""
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        return text
    return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells)


def _text(name: str, data: bytes) -> str | None:
    if not name.endswith((".py", ".ipynb", ".md", ".txt", ".toml", ".cfg", ".json", ".yml", ".yaml", "PKG-INFO",
                          "METADATA", "RECORD")):
        return None
    text = data.decode("utf-8", errors="replace")
    return _notebook_code(text) if name.endswith(".ipynb") else text


def folder_files(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and (text := _text(path.name, path.read_bytes())) is not None:
            out[path.relative_to(folder).as_posix()] = text
    return out


def archive_files(path: Path) -> dict[str, str]:
    """The text files of a wheel (zip) or an sdist (tar.gz), by their names in the archive."""
    out = {}
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if (text := _text(info.filename, zf.read(info))) is not None:
                    out[info.filename] = text
    else:
        with tarfile.open(path) as tf:
            for member in tf.getmembers():
                if member.isfile() and (text := _text(member.name, tf.extractfile(member).read())) is not None:
                    out[member.name] = text
    return out


def archive_names(path: Path) -> list[str]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    with tarfile.open(path) as tf:
        return tf.getnames()
