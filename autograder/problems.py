"""Problems and checks the hidden suites share (trusted: NumPy, the grader's oracle and gradient checker only).

* data: ``blobs`` (three 2-D clusters, chapters 3.4 and 5.1), ``toy_digits`` (synthetic 28x28 digits, 4.6),
  ``one_hot`` (3.2, 3.4, 4.1);
* gradients: ``numerical_grads`` (the grader's numerical gradient of the MLP's mean cross-entropy for every
  parameter) and ``check_grads`` (a network's gradients against them, per parameter);
* parameters: ``check_params`` (a dict ``{"W1", "b1", ..., "WL", "bL"}`` with the shapes of ``layer_sizes``);
* bad input: ``LINEAR_SHAPE_CASES`` / ``linear_shape_case`` (inconsistent ``X, y, W, b`` of a linear model,
  2.2 and 2.3).

The visible 4.6 suite has its own copy of ``toy_digits``: students get that suite, which cannot import the
autograder. The two need not draw the same images (each suite seeds its own generators).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from autograder.gradcheck import numerical_gradient, relative_error
from autograder.oracle import mean_cross_entropy
from dlcourse.testing import require

# ---------------------------------------------------------------- data


def one_hot(labels, K: int) -> np.ndarray:
    """Float one-hot rows ``(m, K)`` of integer ``labels``."""
    return np.eye(K)[labels]


BLOB_CENTRES = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])


def blobs(rng, per: int = 40, spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated clusters of ``per`` 2-D points each (normal noise of std ``spread`` around centres about
    2.4 apart), in a random order: ``X (3 per, 2)`` and integer labels ``(3 per,)``."""
    labels = rng.permutation(np.repeat(np.arange(3), per))
    return BLOB_CENTRES[labels] + rng.normal(scale=spread, size=(3 * per, 2)), labels


def toy_digits(rng, m: int) -> tuple[np.ndarray, np.ndarray]:
    """10 classes of synthetic 28x28 images in [0, 1]: a bright 5x5 block at a place of its own, noisy background.
    Returns ``X (m, 784)`` and the labels ``(m,)``."""
    corners = [(2 + 8 * (k // 4), 2 + 8 * (k % 4)) for k in range(10)]
    y = rng.integers(0, 10, size=m)
    X = rng.uniform(0.0, 0.2, size=(m, 28, 28))
    for k, (r, c) in enumerate(corners):
        X[y == k, r:r + 5, c:c + 5] = 1.0
    return X.reshape(m, 784), y


LINEAR_SHAPE_CASES = ["X-W", "X-wider", "X-1d", "X-3d", "W-1d", "W-3d", "y-rows", "y-more-rows", "y-3d", "y-0d",
                      "y-vector-k3", "b", "b-scalar", "b-short"]


def linear_shape_case(rng, case: str):
    """``(X, y, W, b, wrong)`` for a linear model ``X (m, n) @ W (n, k) + b (k,) ~ y (m, k)`` with one thing
    wrong, named by ``case`` (one of ``LINEAR_SHAPE_CASES``); ``wrong`` is the array whose shape the error
    should name. ``k`` is 1, except for ``"b-short"`` (``k = 3``, ``b (1,)``, which would broadcast) and
    ``"y-vector-k3"`` (``k = 3``, ``y (m,)``, which only ``k = 1`` allows)."""
    X, y, W, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 1)), np.zeros((3, 1)), np.zeros(1)
    changes = {"X-W": dict(W=np.zeros((4, 1))), "X-wider": dict(X=rng.normal(size=(10, 4))),
               "X-1d": dict(X=rng.normal(size=3)), "X-3d": dict(X=rng.normal(size=(10, 3, 3))),
               "W-1d": dict(W=np.zeros(3)), "W-3d": dict(W=np.zeros((3, 1, 1))),
               "y-rows": dict(y=rng.normal(size=(9, 1))), "y-more-rows": dict(y=rng.normal(size=(11, 1))),
               "y-3d": dict(y=rng.normal(size=(10, 1, 1))), "y-0d": dict(y=np.array(rng.normal())),
               "b": dict(b=np.zeros(2)), "b-scalar": dict(b=np.zeros(())),
               "b-short": dict(W=np.zeros((3, 3)), y=rng.normal(size=(10, 3)), b=np.zeros(1)),
               "y-vector-k3": dict(W=np.zeros((3, 3)), y=rng.normal(size=10), b=np.zeros(3))}[case]
    arrays = {"X": X, "y": y, "W": W, "b": b, **changes}
    wrong = {"X-W": "W", "X-wider": "W"}.get(case, case.split("-")[0])
    return arrays["X"], arrays["y"], arrays["W"], arrays["b"], arrays[wrong]


# ---------------------------------------------------------------- gradients


def numerical_grads(params: dict, X: np.ndarray, labels: np.ndarray, activation: str = "relu",
                    h: float = 1e-6) -> dict:
    """The grader's numerical gradient (autograder.gradcheck, step ``h``) of the MLP's mean cross-entropy
    (autograder.oracle) with respect to every parameter: ``{key: array shaped like params[key]}``."""
    return {key: numerical_gradient(lambda _: mean_cross_entropy(params, X, labels, activation), params[key], h=h)
            for key in params}


SHAPE_HINT = ("dW_l = A_{l-1}.T @ dZ_l has W_l's shape (n_{l-1}, n_l); dZ_l.T @ A_{l-1} is its transpose. "
              "db_l = dZ_l.sum(axis=0) is 1-D")


def check_grads(grads, params: dict, numeric: dict, where: str, hint: str | Callable[[np.ndarray, np.ndarray], str],
                tol: float = 1e-6) -> None:
    """Every gradient in ``grads`` (a dict keyed like ``params``) against the grader's ``numeric`` ones, from the
    last layer down: the keys, each shape, and a relative error (over the whole array, gradcheck.relative_error)
    below ``tol``. ``hint`` is shown for a wrong value: a string, or a function of (the student's gradient, the
    numerical one) that names the mistake."""
    require(isinstance(grads, dict), f"{where}: expected a dict of gradients, got {type(grads).__name__}")
    missing = sorted(set(params) - set(grads))
    require(not missing, f"{where}: no gradient for {missing} (got keys {sorted(grads)})\nHint: grads has the same "
                         "keys as params: 'W1', 'b1', ..., 'WL', 'bL'")
    L = len(params) // 2
    for l in range(L, 0, -1):
        for key in (f"W{l}", f"b{l}"):
            got = np.asarray(grads[key])
            require(got.shape == params[key].shape,
                    f"{where}: d{key} has shape {got.shape}, {key} is {params[key].shape}\nHint: {SHAPE_HINT}")
            err = relative_error(got, numeric[key])
            if err >= tol:
                why = hint(got, numeric[key]) if callable(hint) else hint
                require(False, f"{where}: d{key} (layer {l} of {L}): relative error {err:.1e} against the numerical "
                               f"gradient (must be < {tol:g})\nHint: {why}")


# ---------------------------------------------------------------- parameters


def check_params(params, layer_sizes, where: str, name: str = "params", hint: str | None = None) -> None:
    """``params`` is a dict holding ``W{l}`` of shape ``(n_{l-1}, n_l)`` and ``b{l}`` of shape ``(n_l,)`` for
    every layer of ``layer_sizes``; ``name`` is what the student knows it as (``params``, ``params_``)."""
    tail = f"\nHint: {hint}" if hint else ""
    require(isinstance(params, dict), f"{where}: {name} should be a dict of arrays ('W1', 'b1', ...), got "
                                      f"{type(params).__name__}{tail}")
    for l in range(1, len(layer_sizes)):
        for key, shape in ((f"W{l}", (layer_sizes[l - 1], layer_sizes[l])), (f"b{l}", (layer_sizes[l],))):
            require(key in params and np.shape(params[key]) == shape,
                    f"{where}: {name}[{key!r}] should have shape {shape}, got "
                    f"{np.shape(params[key]) if key in params else 'no such key'}{tail}")
