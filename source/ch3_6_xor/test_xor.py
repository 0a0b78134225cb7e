"""Visible tests for chapter 3.6 (run: pytest exercises/ch3_6_xor)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged


def corners():
    """The four XOR points, fresh for every test."""
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def hand():
    """A network solving XOR by hand: hidden unit 1 is "x1 OR x2", unit 2 is "x1 AND x2", the output "OR but not
    AND". Fresh for every test."""
    return {"W1": np.array([[10.0, 10.0], [10.0, 10.0]]), "b1": np.array([-5.0, -15.0]),
            "W2": np.array([[10.0], [-10.0]]), "b2": np.array([-10.0])}


def test_xor_data(student):
    """xor_data: the four corners and their XOR labels"""
    X, y = student.xor_data()
    check_array(X, corners(), "xor_data()[0]", hint="rows [0, 0], [0, 1], [1, 0], [1, 1], in this order")
    check_array(y, np.array([0, 1, 1, 0]), "xor_data()[1]", hint="XOR is 1 when exactly one input is 1")


def test_forward_values(student):
    """forward_xor: tanh hidden layer, sigmoid output"""
    params, X = hand(), corners()
    A1, A2 = student.forward_xor(params, X)
    call = "forward_xor(HAND, corners)"
    check_unchanged(X, corners(), call, "X", "compute A1 and A2 into new arrays; leave X as it was")
    for key, value in hand().items():
        check_unchanged(params[key], value, call, f"params[{key!r}]", "read the parameters, never write them")
    X, net = corners(), hand()
    H = np.tanh(X @ net["W1"] + net["b1"])
    check_array(A1, H, "forward_xor(HAND, corners): A1", hint="A1 = tanh(X @ W1 + b1), shape (4, 2)")
    check_array(A2, 1 / (1 + np.exp(-(H @ net["W2"] + net["b2"]))), "forward_xor(HAND, corners): A2",
                hint="A2 = sigmoid(A1 @ W2 + b2), shape (4, 1)")


def test_predict_hand_made_network(student):
    """predict_xor: a hand-made network gives 0 1 1 0"""
    check_array(student.predict_xor(hand(), corners()), np.array([0, 1, 1, 0]), "predict_xor(HAND, corners)",
                hint="1 where A2 > 0.5, as a vector of shape (m,): (A2[:, 0] > 0.5).astype(int)")


def test_train_solves_xor(student, rng):
    """train_xor: the trained network gets all four points right"""
    X, y = student.xor_data()
    params = student.train_xor(rng)
    check_array(student.predict_xor(params, X), y, "predict_xor(train_xor(rng), X)",
                hint="tanh hidden layer, sigmoid output, backprop with tanh'(z) = 1 - A1**2; if one seed fails, "
                     "restart from new random weights")
