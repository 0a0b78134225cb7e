"""The reference conv2d splits a batch over two threads for speed (`dlcourse bench`); that must never change
its results, hang a forked process, or swallow an error raised in either half. The capstone's passes keep the
BLAS on one thread around those halves, and give the caller back the BLAS threads it had."""
import multiprocessing
import os
import threading

import numpy as np
import pytest

from autograder.reference import reference

conv = reference("ch4_2_convolution")


@pytest.fixture(autouse=True)
def _threads_allowed(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def _case(seed, stride=1, padding=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 8, 14, 14)).astype(dtype)  # cols holds 64*72*196+ numbers: parallel
    W = rng.standard_normal((16, 8, 3, 3)).astype(dtype)
    b = rng.standard_normal(16).astype(dtype)
    return X, W, b


def _run(X, W, b, stride, padding, seed):
    out, cache = conv.conv2d(X, W, b, stride=stride, padding=padding)
    G = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(out.dtype)
    return (out, *conv.conv2d_backward(G, cache))


@pytest.mark.parametrize("stride, padding, dtype", [(1, 1, np.float32), (2, 0, np.float64), (3, 2, np.float64)])
def test_two_threads_give_bitwise_the_sequential_result(monkeypatch, stride, padding, dtype):
    X, W, b = _case(0, dtype=dtype)
    calls = []
    real = conv._in_two_halves

    def spy(work, n, size):
        calls.append(size)
        return real(work, n, size)

    monkeypatch.setattr(conv, "_in_two_halves", spy)
    threaded = _run(X, W, b, stride, padding, 0)
    assert calls and all(size >= 100_000 for size in calls), "the case is too small to run in parallel"
    assert conv._pools.get(os.getpid()) is not None, "no thread pool was used"
    monkeypatch.setattr(conv.os, "sched_getaffinity", lambda pid: {0})  # one CPU: both halves in this thread
    sequential = _run(X, W, b, stride, padding, 0)
    for name, a, s in zip(("out", "dX", "dW", "db"), threaded, sequential):
        assert a.dtype == s.dtype == dtype and np.array_equal(a, s), f"{name} differs between threaded and sequential"


def _child(queue):
    X, W, b = _case(1)
    queue.put([a.sum() for a in _run(X, W, b, 1, 1, 1)])


def test_forked_child_gets_its_own_threads():
    X, W, b = _case(1)
    expected = [a.sum() for a in _run(X, W, b, 1, 1, 1)]  # the parent's pool exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "conv2d hung in a forked child (the parent's pool thread does not exist there)"
    assert np.allclose(queue.get(timeout=5), expected)


def test_an_error_in_either_half_is_raised_after_both_finish():
    finished = []

    def work(a, z):
        try:
            if a > 0:
                raise ValueError("second half failed")
            return z - a
        finally:
            finished.append((a, z))

    with pytest.raises(ValueError, match="second half failed"):
        conv._in_two_halves(work, 10, 10**6)
    assert sorted(finished) == [(0, 5), (5, 10)]
    assert conv._in_two_halves(lambda a, z: (a, z), 1, 10**6) == [(0, 0), (0, 1)]


def test_omp_num_threads_1_keeps_one_thread(monkeypatch):
    """The grader's workers set OMP_NUM_THREADS=1: there the halves run one after the other."""
    seen = set()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    conv._in_two_halves(lambda a, z: seen.add(threading.get_ident()), 64, 10**6)
    assert seen == {threading.get_ident()}
    monkeypatch.delenv("OMP_NUM_THREADS")
    conv._in_two_halves(lambda a, z: seen.add(threading.get_ident()), 64, 10**6)
    assert len(seen) == 2, "with two CPUs and no OMP_NUM_THREADS=1, the second half runs on another thread"


def test_capstone_passes_compute_on_one_blas_thread_and_give_the_threads_back(monkeypatch):
    """A BLAS on two threads keeps its second thread spinning after each product, on a core the conv and pool
    halves need: the capstone's forward and backward passes run with one, and the caller's setting is restored,
    also after an error."""
    from threadpoolctl import threadpool_info, threadpool_limits

    cap = reference("ch4_6_capstone")

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    seen = []

    def recording(real):
        def fn(*args, **kwargs):
            seen.append(blas_threads())
            return real(*args, **kwargs)
        return fn

    monkeypatch.setattr(cap, "softmax", recording(cap.softmax))                    # called in the forward pass
    monkeypatch.setattr(cap, "relu_derivative", recording(cap.relu_derivative))    # and in the backward pass
    rng = np.random.default_rng(4)
    params = cap.init_capstone(rng)
    X, y = rng.random((8, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 8)
    with threadpool_limits(2, user_api="blas"):
        assert set(blas_threads()) == {2}
        _, cache = cap.capstone_forward(params, X, rng)
        grads = cap.capstone_backward(params, cache, y)
        assert set(blas_threads()) == {2}, "the caller's BLAS threads were not given back"
        with pytest.raises(ValueError, match="does not match"):
            cap.capstone_backward(params, cache, y[:3])
        assert set(blas_threads()) == {2}, "not given back after an error"
    assert len(seen) >= 2 and all(set(s) == {1} for s in seen), seen
    assert set(grads) == set(params)
