"""autograder.reference: the kit's reference modules are the ones imported, whatever else is on the path; and
``memoized``: a reference run repeated by every submission's tests is computed once per grading process, and a
later call sees exactly what a fresh call would (its result, a copy; its Generators advanced)."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from autograder.reference import memoized

CALLS = []


def train(X, rng, *, epochs=1, clock=None):
    """A stand-in for a reference run: reads X, draws from rng, returns arrays in a dict."""
    CALLS.append(epochs)
    noise = rng.standard_normal(X.shape)
    return {"W": X * epochs + noise, "t": clock() if clock else None}


def make_clock(step):
    state = {"now": 0.0}

    def clock():
        state["now"] += step
        return state["now"]
    return clock


def test_equal_arguments_run_once_and_give_what_a_fresh_call_gives():
    CALLS.clear()
    X = np.arange(6.0).reshape(2, 3)
    fresh_rng = np.random.default_rng(7)
    want = train(X, fresh_rng, epochs=3)
    CALLS.clear()
    first_rng, second_rng = np.random.default_rng(7), np.random.default_rng(7)
    first = memoized(train)(X, first_rng, epochs=3)
    second = memoized(train)(X.copy(), second_rng, epochs=3)  # equal by value, another array
    assert CALLS == [3], "the second call with equal arguments ran again"
    for got, rng in ((first, first_rng), (second, second_rng)):
        np.testing.assert_array_equal(got["W"], want["W"])
        # the Generator ends where a real call leaves it: the caller's next draws are unchanged
        assert rng.standard_normal() == np.random.default_rng(7).standard_normal(X.size + 1)[-1]


def test_results_are_copies_and_other_arguments_run_again():
    CALLS.clear()
    X = np.ones((2, 2))
    first = memoized(train)(X, np.random.default_rng(1), epochs=5)
    first["W"][:] = 0  # a test that changes what it got must not change what the next one gets
    again = memoized(train)(X, np.random.default_rng(1), epochs=5)
    assert np.all(again["W"] != 0)
    memoized(train)(X, np.random.default_rng(2), epochs=5)  # another seed
    memoized(train)(X, np.random.default_rng(1), epochs=6)  # another keyword
    memoized(train)(X + 1, np.random.default_rng(1), epochs=5)  # other values
    assert CALLS == [5, 5, 6, 5]


def test_closures_count_with_the_values_they_hold():
    CALLS.clear()
    X = np.zeros((1, 1))
    a = memoized(train)(X, np.random.default_rng(0), clock=make_clock(1.0))
    b = memoized(train)(X, np.random.default_rng(0), clock=make_clock(1.0))
    c = memoized(train)(X, np.random.default_rng(0), clock=make_clock(2.0))
    assert len(CALLS) == 2 and a["t"] == b["t"] == 1.0 and c["t"] == 2.0


ROOT = Path(__file__).resolve().parents[1]
IMPORT_46 = "from autograder.reference import reference; print(reference('4.6').__file__)"


def _python(code: str, folder: Path) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter whose path starts with ``folder``, as ``python -m`` run from there has it."""
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(folder)!r}); {code}"],
                          cwd=ROOT, capture_output=True, text=True)


def test_a_same_named_file_on_the_path_is_not_taken_for_the_reference(tmp_path):
    # benchmarks/capstone.py once stood in for the reference capstone in a benchmark run from its folder.
    (tmp_path / "capstone.py").write_text("def train_capstone(*args, **kwargs):\n    raise SystemExit('impostor')\n")
    out = _python(IMPORT_46, tmp_path)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve() == (ROOT / "solutions" / "ch4_6_capstone" / "capstone.py").resolve()


def test_a_same_named_module_imported_first_is_an_error_that_names_it(tmp_path):
    (tmp_path / "capstone.py").write_text("X = 1\n")
    out = _python("import capstone; " + IMPORT_46, tmp_path)
    assert out.returncode != 0
    assert "reference module 'capstone' of chapter 4.6 was imported from" in out.stderr
    assert str(tmp_path / "capstone.py") in out.stderr
