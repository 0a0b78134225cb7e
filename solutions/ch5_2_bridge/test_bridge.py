"""Visible tests for chapter 5.2 (run: pytest exercises/ch5_2_bridge). Needs PyTorch: pip install -e '.[torch]'."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, skip_unless_installed

skip_unless_installed("torch", "chapter 5.2 needs PyTorch: pip install -e '.[torch]' (the CPU build is enough)")

KEEP_HINT = ("copy the arrays into the torch layers (linear.weight.copy_(torch.from_numpy(W.T.copy()))); "
             "torch.from_numpy shares memory with the NumPy array, so an in-place torch operation changes it too")


def net_and_batch():
    """Fresh (params, X, y) for every test: a 2-3-2 net and 3 samples."""
    params = {"W1": np.array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.5]]), "b1": np.array([0.1, 0.0, -0.1]),
              "W2": np.array([[1.0, -1.0], [0.5, 0.5], [-0.3, 0.7]]), "b2": np.array([0.2, -0.2])}
    return params, np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -2.0]]), np.array([0, 1, 1])


def check_inputs_unchanged(params, X, call):
    """Fail, saying so, when ``call`` changed the parameters or the batch it was given."""
    params0, X0, _ = net_and_batch()
    for name, arg, before in [(f"params[{k!r}]", params[k], v) for k, v in params0.items()] + [("X", X, X0)]:
        check_unchanged(arg, before, call, name, KEEP_HINT)


def forward(params, X):
    A = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z = A @ params["W2"] + params["b2"]
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return A, e / e.sum(axis=1, keepdims=True)


def test_torch_forward_matches_numpy(student):
    """torch_forward: the PyTorch MLP gives the NumPy probabilities"""
    params, X, _ = net_and_batch()
    out = student.torch_forward(params, X)
    check_inputs_unchanged(params, X, "torch_forward(params, X)")
    params, X, _ = net_and_batch()
    check_array(out, forward(params, X)[1], "torch_forward(PARAMS, X) on a 2-3-2 net", rtol=1e-10,
                hint="nn.Linear stores weight as (n_out, n_in): copy W.T, and apply softmax to the logits")


def test_torch_gradients_match_backprop(student):
    """torch_gradients: autograd agrees with hand-written backpropagation"""
    params, X, y = net_and_batch()
    A1, P = forward(params, X)
    dZ2 = (P - np.eye(2)[y]) / len(y)
    dZ1 = (dZ2 @ params["W2"].T) * (A1 > 0)
    expected = {"W2": A1.T @ dZ2, "b2": dZ2.sum(0), "W1": X.T @ dZ1, "b1": dZ1.sum(0)}
    grads = student.torch_gradients(params, X, y)
    check_inputs_unchanged(params, X, "torch_gradients(params, X, y)")
    for key, value in expected.items():
        check_array(grads[key], value, f"torch_gradients(...)[{key!r}]", rtol=1e-9, atol=1e-12,
                    hint="transpose weight.grad back to (n_in, n_out); the loss is the MEAN cross-entropy of the logits")
