"""Visible tests for chapter 5.2 (run: pytest exercises/ch5_2_bridge). Needs PyTorch: pip install -e '.[torch]'."""
import numpy as np
import pytest

from dlcourse.testing import check_array

pytest.importorskip("torch", reason="chapter 5.2 needs PyTorch: pip install -e '.[torch]' (the CPU build is enough)")

PARAMS = {"W1": np.array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.5]]), "b1": np.array([0.1, 0.0, -0.1]),
          "W2": np.array([[1.0, -1.0], [0.5, 0.5], [-0.3, 0.7]]), "b2": np.array([0.2, -0.2])}
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -2.0]])
y = np.array([0, 1, 1])


def forward(params, X):
    A = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z = A @ params["W2"] + params["b2"]
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return A, e / e.sum(axis=1, keepdims=True)


def test_torch_forward_matches_numpy(student):
    """torch_forward: the PyTorch MLP gives the NumPy probabilities"""
    check_array(student.torch_forward(PARAMS, X), forward(PARAMS, X)[1], "torch_forward(PARAMS, X) on a 2-3-2 net",
                rtol=1e-10, hint="nn.Linear stores weight as (n_out, n_in): copy W.T, and apply softmax to the logits")


def test_torch_gradients_match_backprop(student):
    """torch_gradients: autograd agrees with hand-written backpropagation"""
    A1, P = forward(PARAMS, X)
    dZ2 = (P - np.eye(2)[y]) / len(y)
    dZ1 = (dZ2 @ PARAMS["W2"].T) * (A1 > 0)
    expected = {"W2": A1.T @ dZ2, "b2": dZ2.sum(0), "W1": X.T @ dZ1, "b1": dZ1.sum(0)}
    grads = student.torch_gradients(PARAMS, X, y)
    for key, value in expected.items():
        check_array(grads[key], value, f"torch_gradients(...)[{key!r}]", rtol=1e-9, atol=1e-12,
                    hint="transpose weight.grad back to (n_in, n_out); the loss is the MEAN cross-entropy of the logits")
