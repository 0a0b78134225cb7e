"""``dlcourse gradescope OUT.zip``: the ``autograder.zip`` Gradescope runs for an assignment.

    setup.sh            makes $ROOT/venv from the wheels below (offline) or the same pins from the index
    run_autograder      grades $ROOT/submission into $ROOT/results/results.json (autograder.gradescope_run)
    config.json         chapters, seed, time budget per chapter, visibility of the hidden tests
    requirements.txt    every third-party package the grader runs on, pinned
    wheels/             those packages' wheels, and the wheels of the two distributions of this kit
    kit/                the chapters' visible and hidden suites, release stubs and reference modules

The wheels are downloaded by pip for a target Python (default: the one running this command; Gradescope's
default image has Ubuntu 22.04's Python 3.10: ``--python-version 3.10``). Their versions are this machine's
where the target is this machine, so grading on Gradescope runs what the instructor tested.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from dlcourse.chapters import Chapter
from dlcourse.work import MANIFEST

from .kit import Kit
from .results import VISIBILITIES

TEMPLATES = Path(__file__).resolve().parent / "templates"
OWN = {"dlcourse", "dlcourse-grader"}  # built here, never downloaded
TOP = "dlcourse-grader"  # its dependencies (and theirs) are what the grader runs on


class BundleError(Exception):
    """A bundle that cannot be built; the message is one line that says why and what to do."""


@dataclass
class Bundle:
    path: Path
    chapters: list[Chapter]
    seed: int
    wheels: list[str]
    size: int


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BundleError(f"{what} failed: {' / '.join(tail)}")
    return proc.stdout


def requirements(here: bool) -> list[str]:
    """The third-party requirements of the grader and the runtime, without their extras. ``here`` (the target is
    this Python): every package they pull in, recursively, pinned to the version installed here. Otherwise: their
    direct requirements as declared, for pip to resolve for the target."""
    declared: dict[str, str] = {}
    todo, done = [(TOP, ())], set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise BundleError(f"{name} is not installed here; install the kit first: pip install -e ./runtime -e .")
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                continue
            key = canonicalize_name(req.name)
            if key not in OWN:
                declared.setdefault(key, str(req))
            if key in OWN or here:
                todo.append((key, tuple(sorted(req.extras))))
    if not here:
        return sorted(declared.values())
    return [f"{key}=={importlib.metadata.version(key)}" for key in sorted(declared)]


def build_wheels(kit: Kit, dest: Path) -> list[Path]:
    """The wheels of the student runtime (``runtime/``) and of the grader (the kit's root project), built from
    copies of their sources (the checkout is left clean)."""
    projects = {"runtime": [kit.root / "runtime" / "pyproject.toml", kit.root / "runtime" / "dlcourse"],
                "grader": [kit.root / "pyproject.toml", kit.root / "README.md"]}
    with tempfile.TemporaryDirectory(prefix="dlcourse-wheels-") as tmp:
        for name, paths in projects.items():
            project = Path(tmp) / name
            project.mkdir()
            for path in paths:
                if not path.exists():
                    raise BundleError(f"{path} is missing: the bundle is built from the kit's checkout")
                if path.is_dir():
                    shutil.copytree(path, project / path.name, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(path, project)
            if name == "grader":  # the grader's code only: the hidden suites stay in kit/, root-only
                shutil.copytree(kit.root / "autograder", project / "autograder",
                                ignore=shutil.ignore_patterns("__pycache__", "ch[0-9]*"))
            _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dest), str(project)],
                 f"building the {name} wheel")
    return sorted(dest.glob("*.whl"))


def download(reqs: list[str], dest: Path, *, python_version: str | None, platform_tag: str | None,
             find_links: Path | None) -> None:
    """``pip download`` the requirements (and theirs) as wheels for the target into ``dest``."""
    req_file = dest / "requirements-in.txt"
    req_file.write_text("\n".join(reqs) + "\n")
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--only-binary=:all:",
           "--dest", str(dest), "-r", str(req_file)]
    if python_version:
        cmd += ["--python-version", python_version, "--implementation", "cp"]
    if platform_tag:
        cmd += ["--platform", platform_tag]
    if find_links:
        cmd += ["--no-index", "--find-links", str(find_links)]
    try:
        _run(cmd, "downloading the wheels (pip download)")
    finally:
        req_file.unlink()


def pinned(wheels: Path) -> list[str]:
    """``name==version`` for every third-party wheel in ``wheels``."""
    pins = set()
    for whl in wheels.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(whl.name)
        if canonicalize_name(name) not in OWN:
            pins.add(f"{canonicalize_name(name)}=={version}")
    return sorted(pins)


def copy_kit(kit: Kit, chapters: list[Chapter], dest: Path) -> None:
    """The kit's part the bundle needs: the chosen chapters' suites, masters and stubs, and the reference module of
    every chapter up to the last one chosen (later chapters are graded with earlier references)."""
    last = max(chapters)
    for chapter in chapters:
        for src_dir, tree, pattern in ((kit.source, "source", "*.py"), (kit.hidden, "autograder", "test_*.py")):
            for path in sorted((src_dir / chapter.name).glob(pattern)):
                target = dest / tree / chapter.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        stub = kit.stub(chapter)
        if stub.is_file():
            (dest / "exercises" / chapter.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stub, dest / "exercises" / chapter.name / stub.name)
    manifest = kit.exercises / MANIFEST
    if manifest.is_file():  # the stubs and notebooks as handed out: what "untouched" is measured against
        shutil.copyfile(manifest, dest / "exercises" / MANIFEST)
    for chapter in kit.references():
        if chapter <= last:
            (dest / "solutions" / chapter.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kit.reference(chapter), dest / "solutions" / chapter.name / f"{chapter.module}.py")


def _zip(stage: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(stage).as_posix())
                info.compress_type = zipfile.ZIP_STORED if path.suffix == ".whl" else zipfile.ZIP_DEFLATED
                with open(path, "rb") as fh:
                    zf.writestr(info, fh.read())
    os.replace(tmp, out)


def image_needs(kit: Kit, chapter: Chapter) -> list[str]:
    """The packages a chapter's suites skip without (``skip_unless_installed`` or ``pytest.importorskip``), e.g.
    ``["torch"]`` for 5.2."""
    return sorted({m for suite in kit.suites(chapter) for m in
                   re.findall(r"(?:importorskip|skip_unless_installed)\(\s*[\"']([\w.]+)", suite.read_text())})


def build_bundle(out: Path, chapters: list[Chapter], kit: Kit, *, seed: int, timeout: float,
                 hidden_visibility: str = "after_published", hidden_total: bool = False,
                 python_version: str | None = None, platform_tag: str | None = None,
                 find_links: Path | None = None) -> Bundle:
    """Write the Gradescope ``autograder.zip`` for ``chapters`` of ``kit`` to ``out``."""
    if hidden_visibility not in VISIBILITIES:
        raise BundleError(f"--hidden-visibility must be one of {', '.join(VISIBILITIES)}")
    if not chapters:
        raise BundleError("no chapters to grade")
    for chapter in chapters:
        # Its suites would be skipped in the image, and the image's self-test would fail on their points.
        if needs := image_needs(kit, chapter):
            raise BundleError(
                f"chapter {chapter.number} needs {', '.join(needs)} in the grading image, which this bundle does not "
                "install (PyPI's Linux wheel of torch brings CUDA, several GB): leave the chapter out with --chapters "
                "and grade it with `dlcourse grade` on a machine that has it")
    here = python_version in (None, platform.python_version().rsplit(".", 1)[0]) and platform_tag is None
    with tempfile.TemporaryDirectory(prefix="dlcourse-gradescope-") as tmp:
        stage = Path(tmp) / "bundle"
        (stage / "wheels").mkdir(parents=True)
        for name in ("setup.sh", "run_autograder"):
            shutil.copy(TEMPLATES / name, stage / name)
            (stage / name).chmod(0o755)
        copy_kit(kit, chapters, stage / "kit")
        build_wheels(kit, stage / "wheels")
        download(requirements(here), stage / "wheels", python_version=python_version, platform_tag=platform_tag,
                 find_links=find_links)
        (stage / "requirements.txt").write_text(
            "# Everything the grader runs on, pinned (made by `dlcourse gradescope`); setup.sh installs it.\n"
            + "\n".join(pinned(stage / "wheels")) + "\n")
        config = {"chapters": [c.name for c in chapters], "seed": seed, "timeout": timeout,
                  "hidden_visibility": hidden_visibility, "hidden_total": hidden_total,
                  "python": python_version or platform.python_version(), "platform": platform_tag or "this machine's"}
        (stage / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        wheels = sorted(p.name for p in (stage / "wheels").glob("*.whl"))
        _zip(stage, out)
    return Bundle(out, chapters, seed, wheels, out.stat().st_size)
