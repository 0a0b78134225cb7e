"""Chapter 5.2: the bridge to a framework. The MLP of chapters 3.3-3.4, rebuilt in PyTorch.

Everything written by hand so far has a framework counterpart: a dense layer is ``torch.nn.Linear``, the
forward pass is a ``torch.nn.Sequential``, and backpropagation is ``loss.backward()`` (autograd). Two
layout details matter when weights move across:

* ``torch.nn.Linear(n_in, n_out).weight`` is stored ``(n_out, n_in)``: it computes ``x @ weight.T + bias``,
  so our ``W (n_in, n_out)`` goes in transposed;
* ``torch.nn.CrossEntropyLoss`` takes the *logits* (it applies log-softmax itself, stably) and integer
  labels, and averages over the batch like our ``cross_entropy``.

If the gradients autograd computes match the ones ``backward_mlp`` computes, the NumPy network was right.
PyTorch is optional: ``pip install -e '.[torch]'`` (the CPU build is enough).
"""
import numpy as np


def mlp_to_torch(params):
    """The MLP of ``params`` as a ``torch.nn.Sequential`` (Linear, ReLU, ..., Linear), float64, no softmax.

    Args:
        params: dict ``{"W1", "b1", ..., "WL", "bL"}`` with ``W_l (n_{l-1}, n_l)`` and ``b_l (n_l,)``.

    Returns:
        ``torch.nn.Sequential`` whose output is the logits ``Z_L`` of shape ``(m, n_L)``; its Linear layers
        hold copies of the weights (``weight = W_l.T``, ``bias = b_l``) in float64.

    Example:
        >>> net = mlp_to_torch({"W1": np.ones((3, 2)), "b1": np.zeros(2)})
        >>> net[0].weight.shape
        torch.Size([2, 3])
    """
    import torch

    ### BEGIN SOLUTION
    L = sum(1 for key in params if key.startswith("W"))
    layers = []
    for l in range(1, L + 1):
        W, b = np.asarray(params[f"W{l}"], dtype=np.float64), np.asarray(params[f"b{l}"], dtype=np.float64)
        linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if l < L:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)
    ### END SOLUTION


def torch_forward(params, X):
    """Softmax probabilities of the PyTorch version of the MLP, as a NumPy array ``(m, n_L)``.

    Args:
        params: as for ``mlp_to_torch``.
        X: batch of shape ``(m, n_0)``.

    Returns:
        float64 array of shape ``(m, n_L)``; it equals ``forward_mlp(X, params)[0]`` up to rounding.
    """
    import torch

    ### BEGIN SOLUTION
    net = mlp_to_torch(params)
    with torch.no_grad():
        logits = net(torch.from_numpy(np.asarray(X, dtype=np.float64)))
        return torch.softmax(logits, dim=1).numpy()
    ### END SOLUTION


def torch_gradients(params, X, y):
    """Gradients of the mean cross-entropy by autograd, with the keys and layouts of ``params``.

    Args:
        params: as for ``mlp_to_torch``.
        X: batch of shape ``(m, n_0)``.
        y: integer labels of shape ``(m,)``.

    Returns:
        dict with the same keys as ``params``: ``grads["W{l}"]`` of shape ``(n_{l-1}, n_l)`` (the transpose of
        the Linear layer's ``weight.grad``) and ``grads["b{l}"]`` of shape ``(n_l,)``, float64 NumPy arrays,
        to compare with ``backward_mlp(params, cache, y)``.
    """
    import torch

    ### BEGIN SOLUTION
    net = mlp_to_torch(params)
    logits = net(torch.from_numpy(np.asarray(X, dtype=np.float64)))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    linears = [layer for layer in net if isinstance(layer, torch.nn.Linear)]
    grads = {}
    for l, linear in enumerate(linears, start=1):
        grads[f"W{l}"] = linear.weight.grad.numpy().T.copy()
        grads[f"b{l}"] = linear.bias.grad.numpy().copy()
    return grads
    ### END SOLUTION
