"""What a student uploaded, as a submission folder the engine grades.

Students hand in what is at hand: the chapter modules or notebooks, flat (``sigmoid.py``, ``losses.ipynb``);
their repository or release folder (``ch1_3_sigmoid/sigmoid.py``), possibly inside a folder of its own; or a
zip of either. :func:`map_upload` finds each chapter's files and lays them out as ``dest/<chapter>/``, noting
what it used and what it left out, in words for the student.

For each chapter, in this order: a folder named like the chapter (its modules and notebook, the shallowest
such folder); else a file named like the chapter's module (``sigmoid.py``) and a notebook named like it or
whose setup cell names the chapter. Tests and caches are ignored. Zips are unpacked one level deep, refusing
paths that leave the folder, links, and archives too large to be a submission.
"""
from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dlcourse.chapters import CHAPTER_RE, Chapter
from dlcourse.nbmodule import notebook_chapter

MAX_BYTES = 200 << 20  # unpacked size of all zips in an upload
MAX_FILES = 5000
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git", ".github", ".venv", "venv",
                 "node_modules", "dlcourse"}


@dataclass
class Mapped:
    folder: Path  # the submission: one folder per chapter found
    used: dict[str, list[str]] = field(default_factory=dict)  # chapter name -> files taken (upload-relative)
    notes: list[str] = field(default_factory=list)  # for the student: what was found, used, left out


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") or part in IGNORED_PARTS for part in rel.parts)


def _unzip(archive: Path, dest: Path, budget: list[int], notes: list[str], shown: str) -> None:
    """Unpack ``archive`` into ``dest``: regular files with safe relative names only, within ``budget`` bytes."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename.replace("\\", "/"))
                mode = info.external_attr >> 16
                if info.is_dir() or stat.S_ISLNK(mode) or name.is_absolute() or ".." in name.parts:
                    continue
                budget[0] -= info.file_size
                budget[1] -= 1
                if budget[0] < 0 or budget[1] < 0:
                    notes.append(f"{shown} is too large to be a submission (more than {MAX_BYTES >> 20} MB or "
                                 f"{MAX_FILES} files unpacked); the rest of it was not read")
                    return
                target = dest.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        notes.append(f"{shown} is not a readable zip file ({type(exc).__name__}); it was left out")


def _files(upload: Path, scratch: Path, notes: list[str]) -> list[tuple[Path, str]]:
    """Every candidate file of the upload, zips unpacked: ``(path on disk, name to show the student)``."""
    found: list[tuple[Path, str]] = []
    budget = [MAX_BYTES, MAX_FILES]
    for path in sorted(upload.rglob("*")):
        rel = path.relative_to(upload)
        if path.is_symlink() or not path.is_file() or _skipped(rel):
            continue
        if path.suffix.lower() == ".zip":
            target = scratch / f"unzipped-{len(found)}-{path.stem}"
            _unzip(path, target, budget, notes, rel.as_posix())
            for inner in sorted(target.rglob("*")):
                inner_rel = inner.relative_to(target)
                if inner.is_file() and not _skipped(inner_rel) and inner.suffix in (".py", ".ipynb"):
                    found.append((inner, f"{rel.as_posix()}:{inner_rel.as_posix()}"))
        elif path.suffix in (".py", ".ipynb"):
            found.append((path, rel.as_posix()))
    return found


def _depth(shown: str) -> int:
    return shown.replace(":", "/").count("/")


def _folder_chapter(shown: str) -> str | None:
    """The chapter folder a file sits in, read from its place in the upload (never from where it is on disk)."""
    parts = shown.replace(":", "/").split("/")[:-1]
    return next((part for part in reversed(parts) if CHAPTER_RE.match(part)), None)


def map_upload(upload: Path, chapters: list[Chapter], dest: Path) -> Mapped:
    """Lay out the chapters' files of ``upload`` as ``dest/<chapter>/``; ``dest`` must not exist yet."""
    dest.mkdir(parents=True)
    mapped = Mapped(dest)
    scratch = dest.parent / f".{dest.name}-unpacked"
    scratch.mkdir()
    files = _files(upload, scratch, mapped.notes) if upload.is_dir() else []
    taken: set[str] = set()
    for chapter in chapters:
        in_folder = [(p, s) for p, s in files if _folder_chapter(s) == chapter.name
                     and s.replace(":", "/").split("/")[-2] == chapter.name]
        if in_folder:  # the release layout: the shallowest folder named like the chapter
            top = min(_depth(s) for _, s in in_folder)
            chosen = [(p, s) for p, s in in_folder if _depth(s) == top
                      and not p.name.startswith("test_") and p.name != "conftest.py"]
            folders = {s.rsplit("/", 1)[0] for _, s in in_folder}
            if len(folders) > 1:
                mapped.notes.append(f"{chapter.number}: {len(folders)} folders named {chapter.name}; used "
                                    f"{min(folders, key=_depth)}")
        else:
            chosen = []
            for suffix in (".py", ".ipynb"):
                named = sorted((s for p, s in files if p.name == chapter.module + suffix
                                and _folder_chapter(s) in (None, chapter.name)), key=_depth)
                if suffix == ".ipynb" and not named:  # a notebook of another name whose setup cell says so
                    named = sorted((s for p, s in files if p.suffix == ".ipynb" and _folder_chapter(s) is None
                                    and notebook_chapter(p) == chapter), key=_depth)
                if named:
                    chosen += [(p, s) for p, s in files if s == named[0]]
                    if len(named) > 1:
                        mapped.notes.append(f"{chapter.number}: {len(named)} files could be the chapter's "
                                            f"{suffix} ({', '.join(named)}); used {named[0]}")
        if not chosen:
            continue
        folder = dest / chapter.name
        folder.mkdir()
        for path, shown in chosen:
            name = f"{chapter.module}.ipynb" if path.suffix == ".ipynb" and not in_folder else path.name
            shutil.copyfile(path, folder / name)
            taken.add(shown)
        mapped.used[chapter.name] = [s for _, s in chosen]
    shutil.rmtree(scratch, ignore_errors=True)
    ignored = [s for p, s in files if s not in taken and not p.name.startswith("test_") and p.name != "conftest.py"]
    others = sorted({_folder_chapter(s) for s in ignored if _folder_chapter(s) not in (None, *mapped.used)})
    ignored = [s for s in ignored if not _folder_chapter(s)]
    if mapped.used:
        listing = "; ".join(f"{Chapter.from_name(n).number}: {', '.join(u)}" for n, u in mapped.used.items())
        mapped.notes.insert(0, f"Found in your upload: {listing}")
    else:
        modules = ", ".join(f"{c.module}.py" for c in chapters[:6]) + (", ..." if len(chapters) > 6 else "")
        mapped.notes.insert(0, "No file of this assignment's chapters was found in your upload. Upload the modules "
                               f"you wrote ({modules}) or their notebooks, your repository folder, or a zip of it.")
    if others:
        mapped.notes.append(f"Chapters this assignment does not grade: {', '.join(others)}")
    if ignored:
        mapped.notes.append(f"Not a chapter's module or notebook, so not graded: {', '.join(ignored[:10])}"
                            + (" ..." if len(ignored) > 10 else ""))
    return mapped
