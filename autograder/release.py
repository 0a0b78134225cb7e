"""``dlcourse release OUT``: the repository a student receives, ready for ``git init`` and GitHub Classroom.

    OUT/README.md                   for the student: install, work, check, hand in
    OUT/pyproject.toml              installs the student runtime only (the kit's runtime/pyproject.toml)
    OUT/dlcourse/                   the student runtime, with the MNIST subset inside it
    OUT/chM_N_topic/                per chapter: the stub module, the visible tests, the notebook
    OUT/.github/workflows/check.yml the visible tests and `dlcourse check` on every push
    OUT/.gitignore
    OUT/.dlcourse-release.json      which chapters were released when, with the hashes of their files

Everything comes from the kit's ``exercises/`` (stubs made by ``dlcourse build``) and ``runtime/``: no hidden
suite, oracle or reference solution is ever read here. Releasing into an existing release (week 4 into a
student's repository that holds weeks 1-3) adds the new chapters and refreshes the course's own files
(``dlcourse/``, the workflow, the README); a chapter folder already there is the student's work and is
never touched.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from dlcourse.chapters import Chapter, list_chapters
from dlcourse.work import MANIFEST, folder_entry

from .build import stale_modules
from .kit import Kit

WORKFLOW = ".github/workflows/check.yml"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SKIP = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", ".*.tmp")


class ReleaseError(Exception):
    """A release that cannot be written as asked; the message is one line that says what to do."""


@dataclass
class Released:
    out: Path
    added: list[Chapter] = field(default_factory=list)
    kept: list[Chapter] = field(default_factory=list)  # already there: the student's work, left alone
    files: list[str] = field(default_factory=list)  # written or replaced, relative to out


def release_files(folder: Path) -> list[Path]:
    """What a chapter folder of ``exercises/`` hands out: the stub module, the visible tests, the notebook (the
    files ``dlcourse build`` writes; caches and stray folders stay behind)."""
    return [p for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix in (".py", ".ipynb")]


def chapter_imports(stub: Path, topics: dict[str, Chapter]) -> set[Chapter]:
    """The other chapters a stub module imports (``from sigmoid import sigmoid`` -> 1.3)."""
    modules = set()
    for node in ast.walk(ast.parse(stub.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
    return {topics[m] for m in modules if m in topics}


def you_write(stub: Path) -> list[str]:
    """The functions and methods (``Class.method``) of a stub that the student writes: those that still raise
    NotImplementedError."""
    names = []

    def visit(body, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(s, ast.Raise) and "NotImplementedError" in ast.unparse(s) for s in node.body):
                names.append(prefix + node.name)

    visit(ast.parse(stub.read_text()).body, "")
    return names


def _read_manifest(out: Path) -> dict:
    path = out / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{path} is unreadable ({exc}); restore it from git before releasing into {out}") from None


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} is a file; give a folder for the release")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ReleaseError(f"{out} is not empty and is not a release (no {MANIFEST}); choose an empty or new folder")


def release(out: Path, chapters: list[Chapter], kit: Kit) -> Released:
    """Write (or extend) the student repository ``out`` with ``chapters`` of ``kit``."""
    out = out.resolve()
    _check_target(out)
    runtime = kit.root / "runtime"
    if not (runtime / "pyproject.toml").is_file() or not (runtime / "dlcourse").is_dir():
        raise ReleaseError(f"{runtime} does not hold the student runtime (pyproject.toml and dlcourse/)")
    missing = [c for c in chapters if not kit.stub(c).is_file()]
    if missing:
        raise ReleaseError(f"no release of chapter(s) {', '.join(c.number for c in missing)} in {kit.exercises}: "
                           "run `dlcourse build` first")
    stale = stale_modules(kit.root, chapters)
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        raise ReleaseError(f"exercises/ is out of date ({stale[0]}{more} differ from source/): run `dlcourse build` "
                           "first")
    manifest = _read_manifest(out)
    present = {c for c in list_chapters(out)} if out.is_dir() else set()
    topics = {c.topic: c for c in kit.chapters()}
    needs = {dep: c for c in chapters for dep in chapter_imports(kit.stub(c), topics) if dep != c}
    lacking = sorted({dep for dep in needs if dep not in chapters and dep not in present})
    if lacking:
        dep = lacking[0]
        raise ReleaseError(f"chapter {needs[dep].number} imports {dep.topic} from chapter {dep.number}, which neither "
                           f"this release nor {out} holds: add {dep.number} to --chapters, or release into the "
                           "repository that has it")
    done = Released(out)
    out.mkdir(parents=True, exist_ok=True)
    released = manifest.setdefault("chapters", {})
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for chapter in chapters:
        if chapter in present:
            done.kept.append(chapter)
            continue
        (out / chapter.name).mkdir()
        files = []
        for src in sorted(release_files(kit.exercises / chapter.name)):
            files.append(out / chapter.name / src.name)
            shutil.copyfile(src, files[-1])
        released[chapter.name] = {"released": now, **folder_entry(out / chapter.name)}
        done.added.append(chapter)
        done.files += [f"{chapter.name}/{p.name}" for p in files]
    # The course's own files: replaced by every release (the student's work is in the chapter folders).
    shutil.rmtree(out / "dlcourse", ignore_errors=True)
    shutil.copytree(runtime / "dlcourse", out / "dlcourse", ignore=SKIP)
    done.files.append("dlcourse/")
    all_chapters = sorted(list_chapters(out))
    own = {
        "pyproject.toml": (runtime / "pyproject.toml").read_text(),
        "README.md": student_readme(all_chapters, out),
        ".gitignore": (TEMPLATES / "gitignore").read_text(),
        WORKFLOW: (TEMPLATES / "check.yml").read_text(),
    }
    for rel, text in own.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
        done.files.append(rel)
    manifest["runtime"] = _runtime_version(runtime)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    done.files.append(MANIFEST)
    return done


def _runtime_version(runtime: Path) -> str:
    """``dlcourse 0.1.0``: the runtime's name and version, from its pyproject."""
    text = (runtime / "pyproject.toml").read_text()
    fields = dict(re.findall(r'^(name|version) = "([^"]+)"', text, re.MULTILINE))
    return f"{fields.get('name', 'dlcourse')} {fields.get('version', '?')}"


def student_readme(chapters: list[Chapter], out: Path) -> str:
    """The student's README: the template, with the table of the chapters the repository holds."""
    rows = []
    for c in chapters:
        stub = out / c.name / f"{c.module}.py"
        names = ", ".join(f"`{n}`" for n in you_write(stub)) if stub.is_file() else ""
        rows.append(f"| {c.number} | [`{c.name}/`]({c.name}/) | {names} |")
    table = "| chapter | folder | you write |\n| --- | --- | --- |\n" + "\n".join(rows)
    return (TEMPLATES / "student_README.md").read_text().replace("{{chapters}}", table)


def commit(released: Released, message: str | None = None) -> str:
    """Commit what ``released`` wrote in its git repository (nothing else); returns the new commit's hash."""
    out = released.out
    if not (out / ".git").exists():
        raise ReleaseError(f"--commit: {out} is not a git repository")

    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(out), *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ReleaseError(f"git {args[0]} in {out} failed: {proc.stderr.strip()[-300:]}")
        return proc.stdout.strip()

    git("add", "--all", "--", *released.files)
    numbers = ", ".join(c.number for c in released.added) or "none"
    identity = [] if git_identity(out) else ["-c", "user.name=dlcourse release", "-c", "user.email=dlcourse@localhost"]
    proc = subprocess.run(["git", *identity, "-C", str(out), "commit", "-q", "-m",
                           message or f"Course release: chapters {numbers}"], capture_output=True, text=True)
    if proc.returncode != 0 and "nothing to commit" not in proc.stdout + proc.stderr:
        raise ReleaseError(f"git commit in {out} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return git("rev-parse", "HEAD")


def git_identity(repo: Path) -> bool:
    """Whether git has a committer name and e-mail for ``repo``."""
    return all(subprocess.run(["git", "-C", str(repo), "config", key], capture_output=True).returncode == 0
               for key in ("user.name", "user.email"))
