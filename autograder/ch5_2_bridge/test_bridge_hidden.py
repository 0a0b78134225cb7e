"""Hidden suite, chapter 5.2: random nets from the grader's seed, autograd vs the trusted NumPy backprop."""
import numpy as np
import pytest

from autograder.gradcheck import relative_error
from autograder.reference import reference
from dlcourse.testing import check_array, skip_unless_installed

skip_unless_installed("torch", "chapter 5.2 needs PyTorch: pip install -e '.[torch]' (the CPU build is enough)")


def random_net(rng, depth):
    sizes = [int(n) for n in rng.integers(2, 7, size=depth + 1)]
    params = reference("ch3_3_mlp_forward").init_mlp(sizes, rng)
    for key in params:
        if key.startswith("b"):
            params[key] = rng.normal(scale=0.1, size=params[key].shape)
    m = int(rng.integers(3, 9))
    X = rng.normal(size=(m, sizes[0]))
    y = rng.integers(0, sizes[-1], size=m)
    return params, X, y


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_forward_random_nets(student, rng, depth):
    """torch_forward: random nets of several depths"""
    params, X, _ = random_net(rng, depth)
    expected = reference("ch3_3_mlp_forward").forward_mlp(X, params)[0]
    check_array(student.torch_forward(params, X), expected, f"torch_forward on a {depth}-layer net", rtol=1e-9,
                atol=1e-12, hint="a ReLU between Linear layers, none after the last; softmax over dim=1")


@pytest.mark.points(2)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gradients_match_numpy_backprop(student, rng, depth):
    """torch_gradients: autograd matches the NumPy backprop on random nets"""
    params, X, y = random_net(rng, depth)
    _, cache = reference("ch3_3_mlp_forward").forward_mlp(X, params)
    expected = reference("ch3_4_backprop").backward_mlp(params, cache, y)
    grads = student.torch_gradients(params, X, y)
    assert isinstance(grads, dict) and set(grads) == set(params), (
        f"torch_gradients: expected a dict with keys {sorted(params)}, got {sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    for key in params:
        got = check_array(grads[key], expected[key], f"torch_gradients(...)[{key!r}], {depth}-layer net",
                          rtol=1e-7, atol=1e-10, hint="weight.grad is (n_out, n_in): transpose it; use "
                          "cross_entropy on the logits with reduction='mean'")
        err = relative_error(got, expected[key])
        assert err < 1e-8, f"torch_gradients: {key}: relative error {err:.2e} against backward_mlp"


def test_mlp_to_torch_copies_weights(student, rng):
    """mlp_to_torch: the returned network holds copies, not views, of the weights"""
    params, X, _ = random_net(rng, 2)
    before = {k: v.copy() for k, v in params.items()}
    y = np.zeros(len(X), dtype=int)
    grads = student.torch_gradients(params, X, y)
    for key in params:
        check_array(params[key], before[key], f"params[{key!r}] after torch_gradients", rtol=0, atol=0,
                    hint="copy the arrays into the Linear layers; training the torch net must not change params")
    _, cache = reference("ch3_3_mlp_forward").forward_mlp(X, before)
    expected = reference("ch3_4_backprop").backward_mlp(before, cache, y)
    assert isinstance(grads, dict) and set(grads) == set(params), (
        f"torch_gradients: expected a dict with keys {sorted(params)}, got "
        f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    for key in params:
        check_array(grads[key], expected[key], f"torch_gradients(...)[{key!r}], 2-layer net, all labels 0",
                    rtol=1e-7, atol=1e-10, hint="weight.grad is (n_out, n_in): transpose it; use cross_entropy on "
                                                "the logits with reduction='mean'")
