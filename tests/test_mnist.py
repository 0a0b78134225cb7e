"""Tests for dlcourse.mnist: real data, lookup order, checksums, headers, download, CLI.

Downloads are tested for real against an HTTP server on 127.0.0.1 started here;
no other address is ever contacted.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dlcourse import mnist

# The copy that ships inside the package (the 5k subset and the official test set), resolved before the
# autouse fixture below hides it from the lookup.
REAL_DIR = mnist.BUNDLED_DIR

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # official t10k label counts


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No user env var, an empty private cache, the package's copy out of the lookup (tests that want it name it
    or put it back), and no proxies (so 127.0.0.1 is hit directly)."""
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(mnist, "BUNDLED_DIR", tmp_path / "no-bundled-copy")
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


# ---------------------------------------------------------------- helpers
def idx_images(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + pixels.tobytes(), mtime=0)


def idx_labels(labels) -> bytes:
    labels = np.asarray(labels, dtype=np.uint8)
    return gzip.compress(struct.pack(">II", 2049, len(labels)) + labels.tobytes(), mtime=0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def touch_set(d: Path, train: str = "subset5k") -> Path:
    """A directory with the right file names (existence is all the lookup checks)."""
    d.mkdir(parents=True, exist_ok=True)
    names = list(mnist.TEST_FILES)
    names += {"subset5k": mnist.TRAIN_5K_FILES, "full": mnist.TRAIN_FULL_FILES, "none": ()}[train]
    for name in names:
        (d / name).write_bytes(b"")
    return d


def copy_real(dst: Path) -> Path:
    dst.mkdir()
    for name in mnist.TEST_FILES + mnist.TRAIN_5K_FILES:
        shutil.copyfile(REAL_DIR / name, dst / name)
    return dst


def cli(argv):
    parser = argparse.ArgumentParser(prog="dlcourse")
    sub = parser.add_subparsers(dest="command", required=True)
    mnist.add_data_command(sub)
    args = parser.parse_args(argv)
    return args.func(args)


# ---------------------------------------------------------------- real data
def test_load_test_set_real():
    X, y = mnist.load_mnist("test", REAL_DIR)
    assert X.shape == (10_000, 784) and X.dtype == np.float64
    assert y.shape == (10_000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y, minlength=10).tolist() == TEST_COUNTS


def test_load_train_real_subset_or_full():
    X, y = mnist.load_mnist("train", REAL_DIR, flatten=False, dtype=np.float32)
    kind = mnist.training_set(REAL_DIR)
    n = 60_000 if kind == "full" else 5_000
    assert X.shape == (n, 1, 28, 28) and X.dtype == np.float32
    assert y.dtype == np.int64 and 0.0 <= X.min() and X.max() <= 1.0
    if kind == "subset5k":  # the shipped copy: 500 per digit, sorted by label
        assert (REAL_DIR / mnist.TRAIN_5K_FILES[0]).is_file()
        assert np.bincount(y).tolist() == [500] * 10
        assert np.all(np.diff(y) >= 0)
    flat, _ = mnist.load_mnist("train", REAL_DIR, dtype=np.float32)
    np.testing.assert_array_equal(flat, X.reshape(n, 784))


def test_shipped_copy_is_subset5k():
    assert not (REAL_DIR / mnist.TRAIN_FULL_FILES[0]).exists(), "the package ships the 5k subset only"
    assert mnist.training_set(REAL_DIR) == "subset5k"
    assert mnist.find_data_dir(REAL_DIR).resolve() == REAL_DIR.resolve()
    for name in mnist.TEST_FILES + mnist.TRAIN_5K_FILES:  # the published bytes, and the attribution beside them
        assert sha((REAL_DIR / name).read_bytes()) == mnist.KNOWN_FILES[name].sha256, name
    readme = (REAL_DIR / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme


def test_packaged_copy_is_found_with_no_flag_and_no_variable(monkeypatch):
    """A fresh install: no --data-dir, no $DLCOURSE_MNIST_DIR, an empty cache: the package's own copy."""
    monkeypatch.setattr(mnist, "BUNDLED_DIR", REAL_DIR)
    assert mnist.find_data_dir() == REAL_DIR and mnist.training_set() == "subset5k"
    X, y = mnist.load_mnist("test")
    assert X.shape == (10_000, 784) and np.bincount(y).tolist() == TEST_COUNTS
    assert "the copy inside the dlcourse package" in mnist.describe()


def test_downloaded_full_set_is_preferred_to_the_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "BUNDLED_DIR", REAL_DIR)
    cache = touch_set(tmp_path / "xdg-cache" / "dlcourse" / "mnist", train="full")
    assert mnist.find_data_dir() == cache and mnist.training_set() == "full"


def test_env_var_is_used(monkeypatch):
    monkeypatch.setenv(mnist.ENV_VAR, str(REAL_DIR))
    assert mnist.find_data_dir().resolve() == REAL_DIR.resolve()
    X, y = mnist.load_mnist("test")
    assert X.shape == (10_000, 784)


def test_memoized_no_rehash_and_fresh_copies(monkeypatch):
    mnist.clear_cache()
    calls = []
    real_hash = mnist._sha256_file
    monkeypatch.setattr(mnist, "_sha256_file", lambda p: calls.append(Path(p).name) or real_hash(p))
    X1, y1 = mnist.load_mnist("test", REAL_DIR)
    assert sorted(calls) == sorted(mnist.TEST_FILES)
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = mnist.load_mnist("test", REAL_DIR)
    assert len(calls) == 2, "second load in the same process must not rehash"
    assert X2.min() == 0.0 and y2.min() == 0, "callers get fresh copies, not the memo"


def test_describe_real():
    text = mnist.describe(REAL_DIR)
    assert os.path.abspath(REAL_DIR) in text
    assert text.count("sha256 OK") == 4
    expected = "full" if (REAL_DIR / mnist.TRAIN_FULL_FILES[0]).is_file() else "subset5k"
    assert f"Training set in use: {expected}" in text


# ---------------------------------------------------------------- checksums
def test_flipped_byte_is_a_checksum_error(tmp_path):
    d = copy_real(tmp_path / "data")
    bad = d / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(mnist.MnistChecksumError) as exc:
        mnist.load_mnist("test", d)
    msg = str(exc.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "checksum" in msg and str(d) in msg
    X, _ = mnist.load_mnist("train", d)  # the intact files still load
    assert X.shape == (5_000, 784)
    assert "MISMATCH" in mnist.describe(d)
    assert cli(["data", "--data-dir", str(d)]) == 1


def test_truncated_local_file_names_size(tmp_path):
    d = copy_real(tmp_path / "data")
    f = d / "train5k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(mnist.MnistChecksumError, match=r"train5k-images-idx3-ubyte\.gz.*1,000 bytes"):
        mnist.load_mnist("train", d)


def test_header_checked_even_when_checksum_matches(tmp_path, monkeypatch):
    """Wire a tiny malformed file into the checksum table: load_mnist still rejects its header."""
    d = touch_set(tmp_path / "d")
    imgs = gzip.compress(struct.pack(">IIII", 2051, 3, 28, 28) + bytes(2 * 784))  # says 3, holds 2
    lbls = idx_labels([1, 2, 3])
    for name, data in zip(mnist.TEST_FILES, (imgs, lbls)):
        (d / name).write_bytes(data)
        monkeypatch.setitem(mnist.KNOWN_FILES, name, mnist._FileInfo(sha(data), None, len(data), 3))
    with pytest.raises(mnist.MnistError, match=r"t10k-images-idx3-ubyte\.gz.*announces 3 images"):
        mnist.load_mnist("test", d)


# ---------------------------------------------------------------- IDX headers
def _gz_images_header(magic=2051, n=2, rows=28, cols=28, payload=None):
    body = bytes(n * rows * cols) if payload is None else payload
    return gzip.compress(struct.pack(">IIII", magic, n, rows, cols) + body)


@pytest.mark.parametrize("data, kind, pattern", [
    (_gz_images_header(magic=2052), None, "magic number 2052"),
    (_gz_images_header(rows=27, payload=bytes(2 * 784)), None, "27x28, expected 28x28"),
    (_gz_images_header(payload=bytes(784)), None, "announces 2 images"),
    (_gz_images_header(payload=bytes(3 * 784)), None, "announces 2 images"),
    (struct.pack(">IIII", 2051, 1, 28, 28) + bytes(784), None, "not a gzip file"),
    (_gz_images_header()[:40], None, "ends early"),
    (gzip.compress(b"\x00\x00\x08"), None, "header truncated"),
    (idx_labels([1, 12, 3]), None, "label 12 at index 1"),
    (gzip.compress(struct.pack(">II", 2049, 5) + bytes(4)), None, "announces 5 labels"),
    (idx_labels([1, 2]), "images", "expected 2051"),
    (idx_images(2, seed=0), "labels", "expected 2049"),
], ids=["magic", "28x28", "short-data", "long-data", "not-gzip", "cut-gzip", "short-header",
        "bad-label", "short-labels", "labels-as-images", "images-as-labels"])
def test_malformed_header_names_file(tmp_path, data, kind, pattern):
    f = tmp_path / "weird-idx-ubyte.gz"
    f.write_bytes(data)
    with pytest.raises(mnist.MnistError) as exc:
        mnist.read_idx(f, kind)
    assert str(f) in str(exc.value)
    assert pattern in str(exc.value)


def test_read_idx_good_tiny_files(tmp_path):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, size=4)
    (tmp_path / "i.gz").write_bytes(idx_images(4, seed=3))
    (tmp_path / "l.gz").write_bytes(idx_labels(labels))
    imgs = mnist.read_idx(tmp_path / "i.gz", "images")
    expected = np.random.default_rng(3).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(imgs, expected)
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "l.gz"), labels)


# ---------------------------------------------------------------- lookup order
def test_lookup_order_argument_env_cache(tmp_path, monkeypatch):
    arg = touch_set(tmp_path / "arg")
    env = touch_set(tmp_path / "env")
    cache = touch_set(tmp_path / "xdg" / "dlcourse" / "mnist", train="full")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(mnist.ENV_VAR, str(env))
    assert mnist.find_data_dir(arg) == arg
    assert mnist.find_data_dir(str(arg)) == arg
    assert mnist.find_data_dir() == env
    assert mnist.training_set() == "subset5k"
    monkeypatch.delenv(mnist.ENV_VAR)
    assert mnist.find_data_dir() == cache
    assert mnist.training_set() == "full"


def test_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert mnist.default_cache_dir() == tmp_path / "x" / "dlcourse" / "mnist"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in ("", "relative/path"):  # unset or invalid per the XDG spec -> ~/.cache
        monkeypatch.setenv("XDG_CACHE_HOME", value)
        assert mnist.default_cache_dir() == tmp_path / "home" / ".cache" / "dlcourse" / "mnist"


def test_env_dir_without_data_falls_back_to_cache(tmp_path, monkeypatch):
    env = touch_set(tmp_path / "env", train="none")
    cache = touch_set(tmp_path / "xdg-cache" / "dlcourse" / "mnist")
    monkeypatch.setenv(mnist.ENV_VAR, str(env))
    assert mnist.find_data_dir() == cache
    assert "missing a training set" in mnist.describe()


def test_explicit_dir_is_not_silently_replaced(tmp_path):
    touch_set(tmp_path / "xdg-cache" / "dlcourse" / "mnist")  # valid cache...
    empty = tmp_path / "typo"
    with pytest.raises(mnist.MnistNotFoundError) as exc:  # ...but the named dir wins, and is wrong
        mnist.find_data_dir(empty)
    assert str(empty) in str(exc.value) and "does not exist" in str(exc.value)


def test_full_preferred_and_half_pairs(tmp_path):
    both = touch_set(tmp_path / "both", train="full")
    touch_set(both)  # add the 5k subset too
    assert mnist.training_set(both) == "full"
    half = touch_set(tmp_path / "half")
    (half / mnist.TRAIN_FULL_FILES[0]).write_bytes(b"")  # images without labels: not usable
    assert mnist.training_set(half) == "subset5k"
    only_half = touch_set(tmp_path / "only_half", train="none")
    (only_half / mnist.TRAIN_FULL_FILES[0]).write_bytes(b"")
    with pytest.raises(mnist.MnistNotFoundError, match=mnist.TRAIN_FULL_FILES[1]):
        mnist.find_data_dir(only_half)


def test_not_found_message(tmp_path, monkeypatch):
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(mnist.MnistNotFoundError) as exc:
        mnist.load_mnist("test")
    msg = str(exc.value)
    assert isinstance(exc.value, mnist.MnistError)
    for needle in (str(tmp_path / "nowhere"), str(mnist.default_cache_dir()), "dlcourse data download",
                   mnist.ENV_VAR, "--data-dir", *mnist.TEST_FILES, *mnist.TRAIN_FULL_FILES,
                   *mnist.TRAIN_5K_FILES):
        assert needle in msg, needle


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        mnist.load_mnist("validation", tmp_path)
    with pytest.raises(TypeError, match="floating"):
        mnist.load_mnist("test", tmp_path, dtype=np.uint8)


# ---------------------------------------------------------------- download
@pytest.fixture
def server():
    """HTTP server on 127.0.0.1 (ephemeral port). routes: path -> (mode, body)."""
    routes: dict[str, tuple[str, bytes]] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path not in routes:
                self.send_error(404)
                return
            mode, body = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # "truncate": promise the whole body, send half, close (HTTP/1.0 closes after each reply).
            self.wfile.write(body[: len(body) // 2] if mode == "truncate" else body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}/mnist",
                              routes=routes, hits=hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def closed_port_url():
    """URLs of ports where nothing listens (connection refused). Each port stays bound, not listening, until the
    test ends: a port let go at once could be taken by a server another test starts meanwhile."""
    sockets = []

    def make() -> str:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        return f"http://127.0.0.1:{s.getsockname()[1]}/"

    yield make
    for s in sockets:
        s.close()


GOOD = idx_images(3, seed=11)
GOOD_NAME = "tiny-images-idx3-ubyte.gz"


def test_download_good_file_then_skip(tmp_path, server):
    server.routes["/mnist/" + GOOD_NAME] = ("ok", GOOD)
    dest = tmp_path / "dest" / "sub"  # created on demand
    log = []
    out = mnist.download(dest, base_urls=[server.url], files={GOOD_NAME: sha(GOOD)}, timeout=5,
                         log=log.append)
    assert out == dest
    assert (dest / GOOD_NAME).read_bytes() == GOOD
    assert sorted(os.listdir(dest)) == [GOOD_NAME], "no temp files left behind"
    assert mnist.read_idx(dest / GOOD_NAME).shape == (3, 28, 28)
    assert len(server.hits) == 1 and "downloaded" in log[0]
    mnist.download(dest, base_urls=[server.url], files={GOOD_NAME: sha(GOOD)}, timeout=5, log=log.append)
    assert len(server.hits) == 1, "a present, verified file is not fetched again"
    assert "already present" in log[1]


@pytest.mark.parametrize("mode, body, pattern", [
    ("truncate", GOOD, "truncated"),
    ("ok", idx_images(3, seed=12), "sha256"),  # same size, different bytes
    ("ok", GOOD[:-10], "sha256"),  # short body with an honest Content-Length
], ids=["truncated", "wrong-bytes", "short-body"])
def test_download_bad_file_leaves_nothing(tmp_path, server, mode, body, pattern):
    server.routes["/mnist/" + GOOD_NAME] = (mode, body)
    dest = tmp_path / "dest"
    with pytest.raises(mnist.MnistError) as exc:
        mnist.download(dest, base_urls=[server.url], files={GOOD_NAME: sha(GOOD)}, timeout=5)
    msg = str(exc.value)
    assert GOOD_NAME in msg and pattern in msg
    assert os.listdir(dest) == [], "no file at the final name and no temp file"


def test_download_falls_back_to_next_mirror(tmp_path, server, closed_port_url):
    server.routes["/mnist/" + GOOD_NAME] = ("ok", GOOD)
    dest = tmp_path / "dest"
    missing_route = server.url.replace("/mnist", "/elsewhere")  # same server, 404
    mnist.download(dest, base_urls=[closed_port_url(), missing_route, server.url],
                   files={GOOD_NAME: sha(GOOD)}, timeout=5)
    assert (dest / GOOD_NAME).read_bytes() == GOOD
    assert sorted(os.listdir(dest)) == [GOOD_NAME]
    assert server.hits == ["/elsewhere/" + GOOD_NAME, "/mnist/" + GOOD_NAME]


def test_download_replaces_corrupt_existing_file(tmp_path, server):
    server.routes["/mnist/" + GOOD_NAME] = ("ok", GOOD)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / GOOD_NAME).write_bytes(b"garbage")
    mnist.download(dest, base_urls=[server.url], files={GOOD_NAME: sha(GOOD)}, timeout=5)
    assert (dest / GOOD_NAME).read_bytes() == GOOD


def test_download_no_network(tmp_path, closed_port_url):
    dest = tmp_path / "dest"
    with pytest.raises(mnist.MnistError) as exc:
        mnist.download(dest, base_urls=[closed_port_url(), closed_port_url()],
                       files={GOOD_NAME: sha(GOOD)}, timeout=5)
    msg = str(exc.value)
    assert "could not reach any mirror" in msg and GOOD_NAME in msg
    assert "by hand" in msg and str(dest) in msg and mnist.ENV_VAR in msg
    assert os.listdir(dest) == []


def test_default_download_table_is_the_full_set():
    assert set(mnist.DOWNLOAD_FILES) == set(mnist.TRAIN_FULL_FILES + mnist.TEST_FILES)
    for name, digest in mnist.DOWNLOAD_FILES.items():
        assert digest == mnist.KNOWN_FILES[name].sha256 and len(digest) == 64


# ---------------------------------------------------------------- CLI
def test_cli_data_found(capsys):
    assert cli(["data", "--data-dir", str(REAL_DIR)]) == 0
    out = capsys.readouterr().out
    assert "sha256 OK" in out and os.path.abspath(REAL_DIR) in out


def test_cli_data_env_var(capsys, monkeypatch):
    monkeypatch.setenv(mnist.ENV_VAR, str(REAL_DIR))
    assert cli(["data"]) == 0
    assert "Training set in use" in capsys.readouterr().out


def test_cli_data_not_found(tmp_path, capsys):
    assert cli(["data", "--data-dir", str(tmp_path / "empty")]) == 1
    captured = capsys.readouterr()
    assert "dlcourse data download" in captured.err and str(tmp_path / "empty") in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert mnist.main(["data", "--data-dir", str(tmp_path / "empty")]) == 1


def test_cli_download(tmp_path, server, capsys, monkeypatch, closed_port_url):
    monkeypatch.setattr(mnist, "DOWNLOAD_FILES", {GOOD_NAME: sha(GOOD)})
    server.routes["/mnist/" + GOOD_NAME] = ("ok", GOOD)
    dest = tmp_path / "dest"
    argv = ["data", "download", "--dest", str(dest), "--mirror", closed_port_url(),
            "--mirror", server.url, "--timeout", "5"]
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert (dest / GOOD_NAME).read_bytes() == GOOD
    assert "downloaded" in out and str(dest) in out and "--data-dir" in out  # not a default location

    server.routes["/mnist/" + GOOD_NAME] = ("ok", b"not it")
    (dest / GOOD_NAME).unlink()
    assert cli(argv) == 1
    captured = capsys.readouterr()
    assert GOOD_NAME in captured.err and "Traceback" not in captured.err
    assert os.listdir(dest) == []
