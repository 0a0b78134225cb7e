"""MNIST from the original IDX files: find, verify, load, download.

The loader reads the gzip-compressed IDX files as published by LeCun et al.
(big-endian header, then uint8 data), checks the SHA-256 of every file before it
decodes it, and validates the header (magic number, counts, 28x28, length).

Where it looks, in this order:

1. the ``data_dir`` argument (``--data-dir`` on the command line): when given,
   it is the only place looked at, so a typo is reported instead of silently
   replaced by another copy;
2. the directory named by the environment variable ``DLCOURSE_MNIST_DIR``;
3. the user cache, ``$XDG_CACHE_HOME/dlcourse/mnist`` (default
   ``~/.cache/dlcourse/mnist``), where :func:`download` saves the files;
4. the copy inside this package (``dlcourse/data/mnist``: the 5k training
   subset and the official test set), so that a fresh install works offline.

A directory counts when it holds the official 10k test set plus a training set:
the full 60k set (``train-*``) is preferred over the 5k subset (``train5k-*``,
500 images per digit, sorted by label) that ships for offline tests and CI.

Public API: :func:`load_mnist`, :func:`training_set`, :func:`find_data_dir`,
:func:`describe`, :func:`download`, :func:`read_idx`, :func:`add_data_command`,
the exceptions :class:`MnistError`, :class:`MnistNotFoundError` and
:class:`MnistChecksumError`, and :data:`ENV_VAR`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

__all__ = [
    "ENV_VAR",
    "MnistError",
    "MnistNotFoundError",
    "MnistChecksumError",
    "load_mnist",
    "training_set",
    "find_data_dir",
    "default_cache_dir",
    "describe",
    "download",
    "read_idx",
    "add_data_command",
    "clear_cache",
]

ENV_VAR = "DLCOURSE_MNIST_DIR"
# The 5k training subset and the official test set ship inside the package (2.4 MB): the last place looked.
BUNDLED_DIR = Path(__file__).resolve().parent / "data" / "mnist"

IMAGE_MAGIC = 2051  # 0x00000803: unsigned byte data, 3 dimensions
LABEL_MAGIC = 2049  # 0x00000801: unsigned byte data, 1 dimension
ROWS = COLS = 28
PIXELS = ROWS * COLS
# Upper bound on a decompressed file (the full training images are 47,040,016
# bytes): read_idx also accepts files outside the checksum table, and a gzip
# bomb must not exhaust memory.
_MAX_DECOMPRESSED = 64 * 1024 * 1024


@dataclass(frozen=True)
class _FileInfo:
    sha256: str
    md5: str | None  # as published, for people comparing with other tools
    size: int  # bytes of the .gz file
    count: int  # images or labels it holds


# Every file the loader will decode. md5s of t10k-* and train-* are the
# published ones; the sha256s and sizes match the TensorFlow Datasets /
# torchvision records and were checked against the offline copy where present.
KNOWN_FILES: dict[str, _FileInfo] = {
    "train-images-idx3-ubyte.gz": _FileInfo(
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422, 60_000),
    "train-labels-idx1-ubyte.gz": _FileInfo(
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "d53e105ee54ea40749a09fcbcd1e9432", 28_881, 60_000),
    "t10k-images-idx3-ubyte.gz": _FileInfo(
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "9fb629c4189551a2d022fa330f9573f3", 1_648_877, 10_000),
    "t10k-labels-idx1-ubyte.gz": _FileInfo(
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ec29112dd5afa0611ce80d1b7f02629c", 4_542, 10_000),
    "train5k-images-idx3-ubyte.gz": _FileInfo(
        "e5267df2839ae561b5e76f26f2de21722c0549665ddcc8ac803dfb10a7b5a25a",
        "6057ca5a67cd8660e9946050476aec42", 806_435, 5_000),
    "train5k-labels-idx1-ubyte.gz": _FileInfo(
        "7c9a5115a47c51596e3401b18d017809679c31290def95dd8a625b44bf804063",
        "f4e4f8640ad2a3b028472f5598c37e79", 86, 5_000),
}

TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN_FULL_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TRAIN_5K_FILES = ("train5k-images-idx3-ubyte.gz", "train5k-labels-idx1-ubyte.gz")

# What `download` fetches by default: the full set, {file name: sha256}.
DOWNLOAD_FILES: dict[str, str] = {
    name: KNOWN_FILES[name].sha256 for name in TRAIN_FULL_FILES + TEST_FILES
}
# yann.lecun.com now often refuses downloads; these two mirror the same bytes.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


class MnistError(Exception):
    """A problem with the MNIST files: malformed, corrupt, or not downloadable."""


class MnistNotFoundError(MnistError):
    """No directory holding the MNIST files was found; the message says how to fix it."""


class MnistChecksumError(MnistError):
    """A file's size or SHA-256 differs from the published one."""


# ---------------------------------------------------------------------------
# In-process caches. Keys carry (size, mtime) so a file replaced on disk is
# re-read rather than served stale.
# ---------------------------------------------------------------------------
_lock = threading.Lock()
_digest_cache: dict[tuple[str, int, int], str] = {}
_array_cache: dict[tuple[str, int, int], np.ndarray] = {}


def clear_cache() -> None:
    """Forget memoized checksums and decoded arrays (tests; files changed in place)."""
    with _lock:
        _digest_cache.clear()
        _array_cache.clear()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cached_sha256(path: Path) -> str:
    key = _stat_key(path)
    with _lock:
        digest = _digest_cache.get(key)
    if digest is None:
        digest = _sha256_file(path)
        with _lock:
            _digest_cache[key] = digest
    return digest


def _fix_hint(path: Path) -> str:
    return (f"delete it and run `dlcourse data download --dest {path.parent}`, "
            f"or copy an intact {path.name} there again")


def _verify(path: Path) -> None:
    """Raise MnistChecksumError unless `path` has the published size and SHA-256."""
    info = KNOWN_FILES.get(path.name)
    if info is None:
        raise MnistError(f"{path}: not one of the known MNIST files, no checksum to check it against")
    size = path.stat().st_size
    if size != info.size:  # cheap, and a clearer message for a truncated copy
        raise MnistChecksumError(
            f"{path.name}: wrong size in {path.parent}: {size:,} bytes, expected {info.size:,} "
            f"(truncated or not the original file); {_fix_hint(path)}")
    digest = _cached_sha256(path)
    if digest != info.sha256:
        raise MnistChecksumError(
            f"{path.name}: checksum mismatch in {path.parent}: sha256 {digest}, expected "
            f"{info.sha256} (the file is corrupt); {_fix_hint(path)}")


# ---------------------------------------------------------------------------
# IDX decoding
# ---------------------------------------------------------------------------
def read_idx(path: str | os.PathLike, kind: str | None = None) -> np.ndarray:
    """Decode one gzip-compressed MNIST IDX file, validating its header.

    Does not check the checksum (``load_mnist`` does, before calling this).

    Args:
        path: a ``*-idx3-ubyte.gz`` (images) or ``*-idx1-ubyte.gz`` (labels) file.
        kind: ``"images"`` or ``"labels"`` to insist on one; None accepts either.

    Returns:
        uint8 array, read-only view of the file's data: images ``(N, 28, 28)``,
        labels ``(N,)`` with values 0..9.

    Raises:
        MnistError: naming the file and the problem (not gzip, truncated stream,
        wrong magic, wrong image size, length not matching the header, bad label).
    """
    path = Path(path)
    if kind not in (None, "images", "labels"):
        raise ValueError(f"kind must be 'images', 'labels' or None, not {kind!r}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(_MAX_DECOMPRESSED + 1)
    except gzip.BadGzipFile as e:
        raise MnistError(f"{path}: not a gzip file ({e}); expected the original .gz IDX file") from None
    except EOFError:
        raise MnistError(f"{path}: the gzip stream ends early (truncated file)") from None
    except zlib.error as e:
        raise MnistError(f"{path}: corrupt gzip data ({e})") from None
    except OSError as e:
        raise MnistError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(raw) > _MAX_DECOMPRESSED:
        raise MnistError(f"{path}: decompresses to more than {_MAX_DECOMPRESSED:,} bytes, not an MNIST file")
    return _parse_idx(raw, path, kind)


def _parse_idx(raw: bytes, path: Path, kind: str | None) -> np.ndarray:
    if len(raw) < 8:
        raise MnistError(f"{path}: IDX header truncated: {len(raw)} bytes, need at least 8")
    magic, count = struct.unpack(">II", raw[:8])
    if magic == IMAGE_MAGIC and kind != "labels":
        if len(raw) < 16:
            raise MnistError(f"{path}: IDX image header truncated: {len(raw)} bytes, need 16")
        rows, cols = struct.unpack(">II", raw[8:16])
        if (rows, cols) != (ROWS, COLS):
            raise MnistError(f"{path}: images are {rows}x{cols}, expected {ROWS}x{COLS}")
        expected = 16 + count * PIXELS
        if count == 0 or len(raw) != expected:
            raise MnistError(
                f"{path}: header announces {count:,} images of {ROWS}x{COLS} "
                f"({expected:,} bytes with the header) but the data is {len(raw):,} bytes")
        arr = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, ROWS, COLS)
    elif magic == LABEL_MAGIC and kind != "images":
        expected = 8 + count
        if count == 0 or len(raw) != expected:
            raise MnistError(
                f"{path}: header announces {count:,} labels ({expected:,} bytes with the header) "
                f"but the data is {len(raw):,} bytes")
        arr = np.frombuffer(raw, dtype=np.uint8, offset=8)
        if arr.max() > 9:
            bad = int(np.argmax(arr > 9))
            raise MnistError(f"{path}: label {arr[bad]} at index {bad} is not a digit 0..9")
    else:
        want = {"images": f"{IMAGE_MAGIC} (images)", "labels": f"{LABEL_MAGIC} (labels)",
                None: f"{IMAGE_MAGIC} (images) or {LABEL_MAGIC} (labels)"}[kind]
        raise MnistError(f"{path}: bad IDX magic number {magic} (0x{magic:08x}), expected {want}")
    return arr  # frombuffer over bytes: already read-only, safe to memoize


def _load_uint8(path: Path, kind: str) -> np.ndarray:
    """Verified, decoded, memoized uint8 data of one known file."""
    if not path.is_file():
        raise MnistNotFoundError(f"{path.name}: not found in {path.parent}")
    _verify(path)
    key = _stat_key(path)
    with _lock:
        arr = _array_cache.get(key)
    if arr is None:
        arr = read_idx(path, kind)
        expected = KNOWN_FILES[path.name].count
        if arr.shape[0] != expected:  # only reachable if the table itself were wrong
            raise MnistError(f"{path}: holds {arr.shape[0]:,} items, expected {expected:,}")
        with _lock:
            _array_cache[key] = arr
    return arr


# ---------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dlcourse/mnist``, default ``~/.cache/dlcourse/mnist``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "dlcourse" / "mnist"


@dataclass
class _Candidate:
    source: str  # how the directory was named, for messages
    path: Path | None  # None when that source is not set
    status: str = ""  # why it counts or not
    train: str | None = None  # "full" / "subset5k" when it counts

    @property
    def ok(self) -> bool:
        return self.train is not None


def _norm(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _examine(c: _Candidate) -> _Candidate:
    """Fill in whether candidate `c` holds the test set plus a training set."""
    if c.path is None:
        c.status = "not set"
        return c
    if not c.path.exists():
        c.status = "does not exist"
        return c
    if not c.path.is_dir():
        c.status = "not a directory"
        return c
    have = {name for name in KNOWN_FILES if (c.path / name).is_file()}
    missing = [name for name in TEST_FILES if name not in have]
    if all(n in have for n in TRAIN_FULL_FILES):
        c.train = "full"
    elif all(n in have for n in TRAIN_5K_FILES):
        c.train = "subset5k"
    else:
        # Name the half of a pair that is missing, else say a whole training set is.
        partial = [n for pair in (TRAIN_FULL_FILES, TRAIN_5K_FILES) if any(p in have for p in pair)
                   for n in pair if n not in have]
        missing += partial or ["a training set (train-* or train5k-*)"]
    if missing:
        c.train = None
        c.status = "missing " + ", ".join(missing)
    else:
        c.status = "found the test set and the " + (
            "full 60k training set" if c.train == "full" else "5k training subset")
    return c


def _candidates(data_dir: str | os.PathLike | None) -> list[_Candidate]:
    if data_dir is not None:
        return [_Candidate("data_dir argument / --data-dir", _norm(data_dir))]
    env = os.environ.get(ENV_VAR, "")
    return [
        _Candidate(f"${ENV_VAR}", _norm(env) if env else None),
        _Candidate("user cache", default_cache_dir()),
        _Candidate("the copy inside the dlcourse package", BUNDLED_DIR),
    ]


def _search(data_dir: str | os.PathLike | None) -> tuple[_Candidate | None, list[_Candidate]]:
    cands = [_examine(c) for c in _candidates(data_dir)]
    return next((c for c in cands if c.ok), None), cands


def _expected_files_text() -> str:
    return (f"the test set ({', '.join(TEST_FILES)}) and a training set: the full one "
            f"({', '.join(TRAIN_FULL_FILES)}) or the 5k subset ({', '.join(TRAIN_5K_FILES)})")


def _looked_text(cands: Iterable[_Candidate]) -> str:
    return "\n".join(f"  - {c.source}: {c.path if c.path else '(not set)'}"
                     + (f" -> {c.status}" if c.path else "") for c in cands)


def _not_found_message(cands: list[_Candidate]) -> str:
    return (
        "MNIST data not found. Looked in:\n" + _looked_text(cands) + "\n"
        f"A folder counts when it holds {_expected_files_text()}.\n"
        "To fix it, either:\n"
        f"  - run `dlcourse data download` (needs internet; saves the full set into {default_cache_dir()}), or\n"
        f"  - put those .gz IDX files in a folder and set {ENV_VAR}=/that/folder "
        "or pass --data-dir /that/folder.")


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The directory the MNIST files are read from.

    Args:
        data_dir: a directory to use; when given it is the only one looked at.
            None searches ``$DLCOURSE_MNIST_DIR``, the user cache, then the
            copy inside the package.

    Returns:
        Absolute path of the first directory holding the test set and a training set.

    Raises:
        MnistNotFoundError: listing every place looked at, what was missing, and the fix.
    """
    found, cands = _search(data_dir)
    if found is None:
        raise MnistNotFoundError(_not_found_message(cands))
    assert found.path is not None
    return found.path


def training_set(data_dir: str | os.PathLike | None = None) -> str:
    """``"full"`` (60k) or ``"subset5k"`` (5k, 500 per digit): the training set in use.

    Thresholds that depend on how much training data there is should key on this.
    Raises MnistNotFoundError like :func:`find_data_dir`.
    """
    found, cands = _search(data_dir)
    if found is None:
        raise MnistNotFoundError(_not_found_message(cands))
    assert found.train is not None
    return found.train


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
def load_mnist(split: str = "train", data_dir: str | os.PathLike | None = None, *,
               flatten: bool = True, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels, checksums verified.

    Args:
        split: ``"train"`` (the full 60k set when present, else the 5k subset,
            which is SORTED BY LABEL: shuffle before training) or ``"test"``
            (always the official 10k test set).
        data_dir: where the files are; None searches ``$DLCOURSE_MNIST_DIR``,
            the user cache, then the package's copy (see :func:`find_data_dir`).
        flatten: True gives X of shape ``(N, 784)``; False gives ``(N, 1, 28, 28)`` (NCHW).
        dtype: floating dtype of X.

    Returns:
        ``(X, y)``: X in ``[0, 1]`` (pixel / 255) of the chosen dtype and shape,
        y int64 of shape ``(N,)`` with values 0..9. Both are fresh arrays the
        caller may modify; the decoded files are memoized in-process.

    Raises:
        MnistNotFoundError: no data directory (the message says how to get one).
        MnistError: a file is corrupt (checksum) or malformed (header).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating type (X is scaled to [0, 1]), not {dt}")
    found, cands = _search(data_dir)
    if found is None:
        raise MnistNotFoundError(_not_found_message(cands))
    assert found.path is not None
    if split == "test":
        img_name, lbl_name = TEST_FILES
    else:
        img_name, lbl_name = TRAIN_FULL_FILES if found.train == "full" else TRAIN_5K_FILES
    images = _load_uint8(found.path / img_name, "images")
    labels = _load_uint8(found.path / lbl_name, "labels")
    if images.shape[0] != labels.shape[0]:
        raise MnistError(f"{found.path}: {img_name} holds {images.shape[0]:,} images "
                         f"but {lbl_name} holds {labels.shape[0]:,} labels")
    shape = (images.shape[0], PIXELS) if flatten else (images.shape[0], 1, ROWS, COLS)
    X = images.reshape(shape).astype(dt)  # astype copies: the memo stays untouched
    X /= 255.0
    y = labels.astype(np.int64)
    return X, y


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def _inspect(data_dir: str | os.PathLike | None) -> tuple[str, bool, bool]:
    """(report text, data found, all checksums OK)."""
    found, cands = _search(data_dir)
    lines = ["MNIST data (dlcourse)", "Looked in, in this order:", _looked_text(cands)]
    if found is None:
        return "MNIST data (dlcourse)\n" + _not_found_message(cands), False, False
    assert found.path is not None
    lines += ["", f"Using: {found.path}"]
    all_ok = True
    for name in KNOWN_FILES:
        path = found.path / name
        if not path.is_file():
            continue
        try:
            _verify(path)
            state = "sha256 OK"
        except MnistChecksumError as e:
            all_ok = False
            state = "BAD: " + ("size mismatch" if "wrong size" in str(e) else "checksum MISMATCH")
        except OSError as e:
            all_ok = False
            state = f"unreadable: {e.strerror or e}"
        lines.append(f"  {name:<30} {path.stat().st_size:>11,} bytes  {state}")
    if found.train == "full":
        lines.append("Training set in use: full (60,000 images)")
    else:
        lines.append("Training set in use: subset5k (5,000 images, 500 per digit, sorted by label: "
                     "shuffle before training); `dlcourse data download` fetches the full 60k set")
    lines.append("Test set: the official 10,000 images (t10k)")
    if not all_ok:
        lines.append("Some files failed the check: delete them and run `dlcourse data download`, "
                     "or copy intact files again.")
    return "\n".join(lines), True, all_ok


def describe(data_dir: str | os.PathLike | None = None) -> str:
    """Human report: where it looked, what it found, checksums, training set in use.

    Never raises for missing or corrupt data; the report says what is wrong.
    """
    return _inspect(data_dir)[0]


# ---------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------
_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError)
_MAX_DOWNLOAD = 128 * 1024 * 1024  # refuse endless or wildly wrong responses


def _file_ok(path: Path, sha256: str) -> bool:
    try:
        return path.is_file() and _cached_sha256(path) == sha256
    except OSError:
        return False


def _fetch_one(opener: urllib.request.OpenerDirector, url: str, dest: Path, name: str,
               sha256: str, timeout: float) -> None:
    """Download `url` to ``dest/name`` via a temp file; raise on any problem, leaving no file."""
    known = KNOWN_FILES.get(name)
    limit = known.size if known and known.sha256 == sha256 else _MAX_DOWNLOAD
    # Same directory as the target so the final os.replace is an atomic rename.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        got = 0
        req = urllib.request.Request(url, headers={"User-Agent": "dlcourse-mnist"})
        with os.fdopen(fd, "wb") as out, opener.open(req, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                got += len(chunk)
                if got > limit:
                    raise MnistChecksumError(f"{name}: {url} sent more than {limit:,} bytes, not the expected file")
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if declared is not None and declared.isdigit() and got != int(declared):
            raise MnistChecksumError(f"{name}: download from {url} truncated: received {got:,} "
                                     f"of {int(declared):,} bytes")
        digest = h.hexdigest()
        if digest != sha256:
            raise MnistChecksumError(f"{name}: downloaded from {url} ({got:,} bytes) but its sha256 "
                                     f"is {digest}, expected {sha256}")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, dest / name)
    finally:
        tmp.unlink(missing_ok=True)  # after a successful replace there is nothing left to remove


def download(dest: str | os.PathLike | None = None, *, base_urls: Iterable[str] | None = None,
             files: Mapping[str, str] | None = None, timeout: float = 30,
             log: Callable[[str], None] | None = None) -> Path:
    """Download the full MNIST set into `dest`, verifying every file.

    Each file goes to a temp file in `dest`, is checked against its SHA-256,
    then renamed atomically: a truncated or wrong download is deleted and never
    appears under the final name. Files already present and intact are skipped.
    Mirrors are tried in order; an unreachable or failing one falls back to the next.

    Args:
        dest: target directory (created if needed); default the user cache
            (``$XDG_CACHE_HOME/dlcourse/mnist``), where the loader looks.
        base_urls: mirror URLs, each joined with the file name; default
            :data:`DEFAULT_MIRRORS`.
        files: ``{file name: sha256}`` to fetch; default the 4 files of the full set.
        timeout: seconds for connecting and for each read.
        log: called with one progress line per file (e.g. ``print``); None is silent.

    Returns:
        The destination directory.

    Raises:
        MnistError: a file could not be fetched intact from any mirror; the
        message names the file, each mirror's error, and how to copy the files by hand.
    """
    dest = _norm(dest) if dest is not None else default_cache_dir()
    mirrors = [u if u.endswith("/") else u + "/" for u in (base_urls or DEFAULT_MIRRORS)]
    table = dict(DOWNLOAD_FILES if files is None else files)
    say = log or (lambda _msg: None)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MnistError(f"cannot create {dest}: {e.strerror or e}") from None
    # Build an opener per call (urlopen caches one globally) so proxy settings are read now.
    opener = urllib.request.build_opener()
    for name, sha256 in table.items():
        final = dest / name
        if _file_ok(final, sha256):
            say(f"{name}: already present, sha256 OK")
            continue
        errors: list[str] = []
        unreachable = 0
        for base in mirrors:
            url = base + name
            try:
                _fetch_one(opener, url, dest, name, sha256, timeout)
            except urllib.error.HTTPError as e:
                errors.append(f"{url}: HTTP {e.code} {e.reason}")
            except _NETWORK_ERRORS as e:
                unreachable += 1
                reason = getattr(e, "reason", e)
                errors.append(f"{url}: cannot connect ({reason})")
            except MnistChecksumError as e:
                errors.append(str(e))
            except http.client.HTTPException as e:  # e.g. IncompleteRead, bad status line
                errors.append(f"{url}: broken HTTP response ({type(e).__name__})")
            except OSError as e:  # disk full, permissions, connection reset mid-body
                errors.append(f"{url}: {e.strerror or e}")
            else:
                say(f"{name}: downloaded from {base}, sha256 OK")
                break
        else:
            if unreachable == len(mirrors):
                head = f"{name}: could not reach any mirror (no internet?)"
            else:
                head = f"{name}: could not download an intact copy from any mirror"
            left = (f"The file already at {final} is not intact: delete or replace it. "
                    if final.exists() else f"Nothing was left at {final}. ")
            raise MnistError(
                head + ":\n" + "\n".join(f"  - {e}" for e in errors) + "\n"
                + left + "Without internet, copy the files "
                f"({', '.join(table)}) by hand from a machine that has them into {dest} "
                f"(or any folder, then set {ENV_VAR} or pass --data-dir); "
                "`dlcourse data` checks them.")
    return dest


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def _cmd_data(args: argparse.Namespace) -> int:
    try:
        text, found, ok = _inspect(getattr(args, "data_dir", None))
    except (MnistError, OSError) as e:
        print(f"dlcourse data: {e}", file=sys.stderr)
        return 1
    if not found:
        # The report ends with the not-found how-to; it belongs on stderr with exit 1.
        print(text, file=sys.stderr)
        return 1
    print(text)
    return 0 if ok else 1


def _cmd_download(args: argparse.Namespace) -> int:
    dest = args.dest if args.dest is not None else getattr(args, "data_dir", None)
    try:
        where = download(dest, base_urls=args.mirrors or None, timeout=args.timeout, log=print)
    except (MnistError, OSError) as e:
        print(f"dlcourse data download: {e}", file=sys.stderr)
        return 1
    print(f"MNIST ready in {where}")
    searched = [default_cache_dir()]
    if os.environ.get(ENV_VAR):
        searched.append(_norm(os.environ[ENV_VAR]))
    if where not in searched:
        print(f"That folder is not searched by default: pass --data-dir {where} or set {ENV_VAR}={where}")
    return 0


def add_data_command(subparsers: "argparse._SubParsersAction") -> argparse.ArgumentParser:
    """Register ``data`` (report, exit 0/1) and ``data download`` on a subparsers object.

    Each handler is attached with ``set_defaults(func=handler)``; ``handler(args)``
    returns the exit code and prints errors as short messages, never tracebacks.
    Returns the ``data`` parser.
    """
    p = subparsers.add_parser(
        "data", help="find and check the MNIST files, or download them",
        description="Report where the MNIST files are, whether their checksums are OK and which "
                    f"training set is in use. Search order: --data-dir, ${ENV_VAR}, {default_cache_dir()}, "
                    "then the 5k subset inside the package.")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help=f"folder with the MNIST .gz IDX files (default: ${ENV_VAR}, the user cache, "
                        "the package's copy)")
    p.set_defaults(func=_cmd_data)
    actions = p.add_subparsers(dest="data_action", metavar="ACTION",
                               help="optional; without one, report and exit 0 (data OK) or 1")
    d = actions.add_parser(
        "download", help="download the full MNIST set (checksums verified)",
        description="Download the four files of the full MNIST set, verify their SHA-256 and "
                    "store them atomically. Files already present and intact are skipped.")
    d.add_argument("--dest", type=Path, default=None, metavar="DIR",
                   help=f"target folder (default: {default_cache_dir()})")
    d.add_argument("--mirror", action="append", dest="mirrors", metavar="URL", default=None,
                   help="base URL to fetch from, tried in the order given (repeatable; default: "
                        + ", ".join(DEFAULT_MIRRORS) + ")")
    d.add_argument("--timeout", type=float, default=30, metavar="SECONDS", help="network timeout (default 30)")
    d.set_defaults(func=_cmd_download)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dlcourse.mnist data [download]`` without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.mnist")
    sub = parser.add_subparsers(dest="command", required=True)
    add_data_command(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
