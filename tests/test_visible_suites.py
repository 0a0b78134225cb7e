"""The visible suites give every test fresh inputs and catch code that changes its inputs in place.

A module-level input array shared by a chapter's tests lets an in-place implementation (``X -= mean``,
``Z[Z < 0] = 0``) pass, and makes a later test fail on an input the student never passed. Here, realistic in-place
variants are planted into copies of the reference modules and the chapter's visible tests run on them at home (plain
pytest in a subprocess, in a folder laid out like a release): each variant must fail exactly the tests named, each
saying which input was changed, and every other test of the chapter must pass. The unchanged reference must pass.
For functions documented to update an argument in place (``numerical_gradient``, ``momentum_update``) the variant
is the opposite mistake, working on a copy. A static check keeps module-level arrays out of student calls.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlcourse.chapters import list_chapters

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
CHAPTERS = {c.number: c for c in list_chapters(SOLUTIONS)}


@dataclass(frozen=True)
class Variant:
    """``edits`` turn the reference module of ``chapter`` into an in-place variant (``(old, new, count)``: ``old``
    occurs exactly ``count`` times); ``fails`` maps each test that must fail to the texts its message must hold."""

    chapter: str
    name: str
    edits: tuple[tuple[str, str, int], ...]
    fails: tuple[tuple[str, tuple[str, ...]], ...]

    def __str__(self) -> str:
        return f"{self.chapter}-{self.name}"


def changed(call: str, name: str) -> tuple[str, ...]:
    """What the message of a test catching an in-place change says."""
    return (f"{call} changed its input {name} in place", f"{name} before the call:", "Hint: ")


VARIANTS = [
    Variant("1.1", "normalize-in-place",
            (("    return (X - mean) / (std + X.dtype.type(eps))  # a float32 eps keeps float32 results",
              "    X -= mean\n    X /= std + X.dtype.type(eps)\n    return X", 1),),
            (("test_normalize_keeps_input", changed("normalize(X, axis=0)", "X") + ("X -= ...",)),)),
    Variant("1.3", "sigmoid-overwrites-Z",
            (("    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow\n"
              "    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))",
              "    positive = Z >= 0\n    np.negative(np.abs(Z, out=Z), out=Z)\n"
              "    np.exp(Z, out=Z)  # Z holds exp(-|z|) now: no overflow, and no new array\n"
              "    return np.where(positive, 1 / (1 + Z), Z / (1 + Z))", 1),),
            (("test_sigmoid_values", changed("sigmoid(Z) with Z = [[-2, -1, 0], [0.5, 1, 2]]", "Z")),
             ("test_sigmoid_derivative_values", changed("sigmoid_derivative(Z)", "Z")))),
    Variant("2.1", "clip-and-subtract-in-place",
            (("    A = np.clip(A, eps, 1 - eps)\n", "    np.clip(A, eps, 1 - eps, out=A)\n", 2),
             ("    return 2 * (y_pred - y) / y_pred.size", "    y_pred -= y\n    return 2 * y_pred / y_pred.size", 1)),
            (("test_binary_cross_entropy_saturated", changed("binary_cross_entropy(A=[0, 1], y=[1, 0])", "A")),
             ("test_binary_cross_entropy_gradient_keeps_A",
              changed("binary_cross_entropy_gradient(A=[0, 1, 0.5, 1], y=[1, 0, 1, 1])", "A")),
             ("test_mse_gradient_small", changed("mse_gradient(y_pred (4, 1), y (4, 1))", "y_pred")))),
    Variant("2.2", "updates-callers-W",
            (("    W = np.array(W, dtype=np.float64)  # a copy: the updates below never touch the caller's arrays\n"
              "    b = np.array(b, dtype=np.float64)",
              "    W = np.asarray(W, dtype=np.float64)\n    b = np.asarray(b, dtype=np.float64)", 1),),
            (("test_caller_arrays_untouched",
              changed("gradient_descent(X, y, W, b, lr=0.1, num_iterations=3)", "W")),)),
    Variant("2.3", "shuffles-data-and-updates-W-in-place",
            (("    order = rng.permutation(m) if shuffle else np.arange(m)\n",
              "    if shuffle:  # the rows themselves, X and y kept paired\n        order = rng.permutation(m)\n"
              "        X[...], y[...] = X[order], y[order]\n    order = np.arange(m)\n", 1),
             ("    W = np.array(W, dtype=np.float64)\n    b = np.array(b, dtype=np.float64)",
              "    W = np.asarray(W, dtype=np.float64)\n    b = np.asarray(b, dtype=np.float64)", 1)),
            (("test_shuffled_pass", changed("iterate_minibatches(X, y, 2, np.random.default_rng(42))", "X")),
             ("test_caller_arrays_untouched",
              changed("minibatch_gradient_descent(X, y, W, b, lr=0.1, epochs=3, batch_size=20, rng)", "W")))),
    # documented in place: x is changed during the call (f may read it through a closure); a copy is the mistake
    Variant("2.4", "perturbs-a-copy",
            (("    grad = np.zeros(x.shape, dtype=np.float64)\n",
              "    x = x.copy()  # the caller's x is never touched\n    grad = np.zeros(x.shape, dtype=np.float64)\n",
              1),),
            (("test_x_restored", ("f reads x itself: wrong values", "not in a copy")),)),
    Variant("3.2", "activations-in-place",
            (("    return np.maximum(Z, 0)\n", "    Z[Z < 0] = 0\n    return Z\n", 1),
             ("    return (Z > 0).astype(dtype)\n", "    Z[...] = Z > 0\n    return Z\n", 1),
             ("    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # exponents <= 0: no overflow\n"
              "    return E / E.sum(axis=1, keepdims=True)",
              "    Z -= Z.max(axis=1, keepdims=True)  # exponents <= 0: no overflow\n    np.exp(Z, out=Z)\n"
              "    Z /= Z.sum(axis=1, keepdims=True)\n    return Z", 1),
             ("    logA = np.log(np.clip(A.astype(np.float64), eps, 1.0))",
              "    np.clip(A, eps, 1.0, out=A)\n    logA = np.log(A)", 1)),
            (("test_relu_keeps_input",
              changed("relu(Z) with Z = [[-2, 0, 1.5], [3, -0.5, 0]]", "Z") + ("Z[Z < 0] = 0",)),
             ("test_relu_derivative_values", changed("relu_derivative(Z) with Z = [[-2, 0, 1.5], [3, -0.5, 0]]", "Z")),
             ("test_softmax_keeps_input", changed("softmax(Z) with Z = [[1, 2, 3], [-1, 0, 5]]", "Z")),
             ("test_cross_entropy_keeps_input",
              changed("cross_entropy(A, y=[0, 2]) with A = [[1, 0, 0], [0, 0.25, 0.75]]", "A")))),
    Variant("3.4", "output-gradient-in-the-cache",
            (("    dZ = (AL - Y) / m  # a new array: the cache stays as it was",
              "    dZ = AL\n    dZ -= Y\n    dZ /= m", 1),),
            (("test_backward_keeps_cache",
              changed("backward_mlp(params, cache, y) on a 2-layer net", "cache['A2']")),)),
    Variant("4.1", "output-gradient-in-the-cache",
            (("    dZ = (AL - Y) / m  # a new array: the cache stays as it was",
              "    dZ = AL\n    dZ -= Y\n    dZ /= m", 1),),
            (("test_backward_keeps_cache",
              changed("backward_deep(params, cache, y, activation='sigmoid') on a 3-layer net", "cache['A3']")),)),
    Variant("4.3", "pools-into-a-view-of-X",
            (("    out = np.empty((N, C, Ho, Wo), X.dtype)", "    out = X[:, :, :s * (Ho - 1) + 1:s, :s * (Wo - 1) + 1:s]", 1),
             ("        best[...] = X[a:z, :, :s * (Ho - 1) + 1:s, :s * (Wo - 1) + 1:s]\n", "", 1)),
            (("test_max_pool_by_hand", changed("max_pool(X (1, 1, 4, 4), size=2, stride=2)", "X") + ("VIEW",)),)),
    Variant("4.4", "dropout-in-place",
            (("    return A * mask, mask", "    A *= mask\n    return A, mask", 1),
             ("    return dout * mask", "    dout *= mask\n    return dout", 1)),
            (("test_dropout_keeps_input", changed("dropout(A = arange(1, 13).reshape(3, 4), p=0.5, rng)", "A")),
             ("test_dropout_backward", changed("dropout_backward(dout, mask)", "dout")))),
    Variant("4.5", "clip-and-shift-in-place",
            (('        return {key: g * g.dtype.type(scale) if g.dtype.kind == "f" else g * scale '
              'for key, g in arrays.items()}, total',
              "        for g in arrays.values():\n            g *= scale\n        return arrays, total", 1),
             ("    return padded[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None],\n"
              "                  rows[:, None, :, None], cols[:, None, None, :]]",
              "    X[...] = padded[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None],\n"
              "                    rows[:, None, :, None], cols[:, None, None, :]]\n    return X", 1)),
            (("test_clip_by_global_norm", changed("clip_gradients(grads, max_norm=1)", "grads['W']")),
             ("test_random_shift", changed("random_shift(X (20, 1, 9, 9), rng, 2)", "X")))),
    Variant("4.6", "output-gradient-in-the-cache",
            (("    dZ4 = probs.copy()", "    dZ4 = probs", 1),),
            (("test_capstone_forward_backward_shapes",
              changed("capstone_backward(params, cache, y)", "cache['probs']")),)),
    # documented in place: param and velocity are updated in place; new arrays are the mistake
    Variant("4.5", "momentum-returns-new-arrays",
            (("    velocity *= mu\n    velocity -= lr * grad\n    param += velocity\n",
              "    velocity = mu * velocity - lr * grad\n    param = param + velocity\n", 1),),
            (("test_momentum_two_steps", ("velocity afterwards: wrong values", "in place")),)),
]


def release_copy(dest: Path, chapters: list[str]) -> Path:
    """A folder laid out like a student's release: every chapter's reference module (earlier chapters are imported
    from their sibling folders), and the visible tests of ``chapters``."""
    dest.mkdir(parents=True)
    (dest / "pytest.ini").write_text("[pytest]\n")  # the rootdir: no configuration from outside
    for chapter in CHAPTERS.values():
        (dest / chapter.name).mkdir()
        shutil.copy(SOLUTIONS / chapter.name / f"{chapter.module}.py", dest / chapter.name)
        if chapter.number in chapters:
            for test in (SOLUTIONS / chapter.name).glob("test_*.py"):
                shutil.copy(test, dest / chapter.name)
    return dest


def plant(folder: Path, variant: Variant) -> None:
    chapter = CHAPTERS[variant.chapter]
    module = folder / chapter.name / f"{chapter.module}.py"
    text = module.read_text()
    for old, new, count in variant.edits:
        assert text.count(old) == count, f"{variant}: {old!r} occurs {text.count(old)} times in {module}, not {count}"
        text = text.replace(old, new)
    module.write_text(text)


def run_visible(folder: Path, chapters: list[str]) -> dict[str, tuple[str, str]]:
    """Plain pytest at home on the chapters' visible tests: ``{test name: (outcome, message)}``. Other installed
    pytest plugins are not loaded (they only cost start-up time): the runtime's own plugin is named."""
    report = folder / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DLCOURSE_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "dlcourse.pytest_plugin",
            f"--junitxml={report}",
            *[CHAPTERS[number].name for number in chapters]]
    proc = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert report.is_file(), f"pytest did not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        outcome = "skipped" if case.find("skipped") is not None else "passed" if problem is None else "failed"
        message = "" if problem is None else f"{problem.get('message', '')}\n{problem.text or ''}"
        results[case.get("name")] = (outcome, message)
    assert results, f"no tests ran:\n{proc.stdout[-3000:]}"
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict[str, tuple[str, str]]]:
    """The reference (every chapter) and each variant, two pytest processes at a time."""
    base = tmp_path_factory.mktemp("visible")

    def reference():
        return run_visible(release_copy(base / "reference", list(CHAPTERS)), list(CHAPTERS))

    def planted(variant: Variant):
        folder = release_copy(base / f"{variant}", [variant.chapter])
        plant(folder, variant)
        return run_visible(folder, [variant.chapter])

    with ThreadPoolExecutor(2) as pool:
        jobs = {"reference": pool.submit(reference), **{str(v): pool.submit(planted, v) for v in VARIANTS}}
        return {name: job.result() for name, job in jobs.items()}


def test_the_reference_passes_every_visible_test(runs):
    results = runs["reference"]
    failed = {name: message[:500] for name, (outcome, message) in results.items() if outcome == "failed"}
    assert not failed, failed
    assert sum(outcome == "passed" for outcome, _ in results.values()) > 80


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_in_place_variant_fails_where_it_changes_an_input(runs, variant):
    results = runs[str(variant)]
    expected = dict(variant.fails)
    problems = []
    for name, texts in expected.items():
        outcome, message = results.get(name, ("missing", ""))
        if outcome != "failed":
            problems.append(f"{name}: {outcome}, expected to fail")
        else:
            problems += [f"{name}: the message lacks {text!r}:\n{message[:800]}"
                         for text in texts if text not in message]
    # Fresh inputs: the change shows in the tests that check for it, and no other test pays for it.
    problems += [f"{name} failed too:\n{message[:800]}" for name, (outcome, message) in results.items()
                 if outcome == "failed" and name not in expected]
    assert not problems, f"{variant}:\n" + "\n".join(problems)


def _module_level_data(tree: ast.Module) -> set[str]:
    """Names bound at module level to anything but a constant (strings for hints, numbers)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and not isinstance(node.value, ast.Constant):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _is_student(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "student"


@pytest.mark.parametrize("path", sorted((ROOT / "source").glob("ch*/test_*.py")), ids=lambda p: p.parent.name)
def test_no_module_level_data_goes_into_a_student_call(path):
    """Every test builds its own inputs: no array (or list or dict of them) defined at module level is passed to
    the student's code, directly or through expect_raises."""
    tree = ast.parse(path.read_text())
    shared = _module_level_data(tree)
    misuse = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        if _is_student(call.func):
            args = [*call.args, *(k.value for k in call.keywords)]
        elif isinstance(call.func, ast.Name) and call.func.id == "expect_raises" and len(call.args) > 1 \
                and _is_student(call.args[1]):
            args = [*call.args[2:], *(k.value for k in call.keywords if k.arg not in ("call", "hint"))]
        else:
            continue
        misuse += [f"line {call.lineno}: {n.id}" for a in args for n in ast.walk(a)
                   if isinstance(n, ast.Name) and n.id in shared]
    assert not misuse, f"{path.relative_to(ROOT)} passes module-level data to the student's code: {misuse}"
