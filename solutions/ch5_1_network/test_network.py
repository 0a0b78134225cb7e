"""Visible tests for chapter 5.1 (run: pytest exercises/ch5_1_network)."""
from pathlib import Path

import numpy as np
import pytest

from dlcourse.testing import check_array, check_scalar, check_unchanged, expect_raises, require


def blobs(seed=0, per=40):
    """Three well-separated 2-D clusters, 40 points each, labels 0, 1, 2 (shuffled)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.permutation(np.repeat(np.arange(3), per))
    return centres[labels] + rng.normal(scale=0.5, size=(3 * per, 2)), labels


def load_network(student, path):
    """``NeuralNetwork.load(path)``, the classmethod."""
    return student.NeuralNetwork.load(path)


def test_fit_predict_score(student):
    """NeuralNetwork: fit returns the network; predict gives one class per row; score is the accuracy"""
    X, y = blobs()
    net = student.NeuralNetwork([2, 8, 3], lr=0.5, epochs=15, batch_size=16, seed=0)
    fitted = net.fit(X, y)
    call = "NeuralNetwork([2, 8, 3], lr=0.5, epochs=15).fit(X, y)"
    check_unchanged(X, blobs()[0], call, "X", "shuffle and batch with indices (X[idx]); never scale, shift or "
                                              "reorder the caller's X itself")
    check_unchanged(y, blobs()[1], call, "y", "shuffle with indices (y[idx]), never the caller's y itself")
    require(fitted is not None and hasattr(fitted, "predict"),
            f"NeuralNetwork.fit(X, y) returned {fitted!r}\nHint: end fit with `return self`, so that "
            "net.fit(X, y).predict(X) works")
    pred = net.predict(X)
    require(isinstance(pred, np.ndarray) and pred.shape == (120,) and pred.dtype.kind in "iu",
            f"NeuralNetwork.predict(X (120, 2)): expected an integer array of shape (120,), got "
            f"{type(pred).__name__} {getattr(pred, 'shape', '')} {getattr(pred, 'dtype', '')}\nHint: "
            "predict_proba(X).argmax(axis=1): the most probable class of each ROW")
    accuracy = float(np.mean(pred == y))
    require(accuracy > 0.9, f"NeuralNetwork([2, 8, 3], lr=0.5, epochs=15): training accuracy {accuracy:.2f} on three "
                            "separated clusters, expected > 0.9\nHint: per mini-batch: forward_deep, backward_deep, "
                            "then params[k] -= lr * grads[k]")
    check_scalar(net.score(X, y), accuracy, "NeuralNetwork.score(X, y)", rtol=1e-12,
                 hint="score is the fraction of rows where predict(X) == y, a float")
    history = net.history_
    require(isinstance(history, list) and len(history) == 15 and history[-1] < history[0],
            f"NeuralNetwork(..., epochs=15).fit: history_ should be a list of 15 decreasing-ish losses, got {history!r}")


def test_predict_proba_rows(student):
    """NeuralNetwork.predict_proba: shape (m, K), every row sums to 1"""
    X, y = blobs(1)
    net = student.NeuralNetwork([2, 6, 5, 3], epochs=3, seed=1)
    net.fit(X, y)
    X10 = X[:10].copy()
    probs = net.predict_proba(X10)
    check_unchanged(X10, X[:10], "NeuralNetwork.predict_proba(X)", "X", "compute into new arrays; leave X as it was")
    require(isinstance(probs, np.ndarray) and probs.shape == (10, 3),
            f"NeuralNetwork([2, 6, 5, 3]).predict_proba(X (10, 2)): expected shape (10, 3), got {np.shape(probs)}")
    check_array(probs.sum(axis=1), np.ones(10), "predict_proba(X).sum(axis=1)", rtol=1e-9,
                hint="the output layer is a softmax over the classes, row by row")


def test_predict_before_fit(student):
    """NeuralNetwork: predict before fit raises RuntimeError saying to call fit first"""
    net = student.NeuralNetwork([2, 4, 3])
    try:
        net.predict(np.zeros((2, 2)))
    except NotImplementedError:
        pytest.fail("5.1 NeuralNetwork.predict is not implemented yet: replace `raise NotImplementedError()` in "
                    "ch5_1_network/network.py with your code", pytrace=False)
    except RuntimeError as exc:
        require("fit" in str(exc), f"NeuralNetwork.predict before fit: the RuntimeError should tell to call fit "
                                   f"first, got {str(exc)!r}")
        return
    except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
        pytest.fail(f"NeuralNetwork([2, 4, 3]).predict(X) before fit raised {type(exc).__name__}: {exc}\nHint: "
                    "check `self.params_ is None` first and raise RuntimeError('... call fit(X, y) first')",
                    pytrace=False)
    pytest.fail("NeuralNetwork([2, 4, 3]).predict(X) before fit returned a prediction; expected RuntimeError\n"
                "Hint: the weights are created by fit: until then raise RuntimeError('... call fit(X, y) first')",
                pytrace=False)


def test_wrong_number_of_features(student):
    """NeuralNetwork.predict: X with the wrong number of features raises ValueError naming both shapes"""
    X, y = blobs(2)
    net = student.NeuralNetwork([2, 4, 3], epochs=1, seed=0)
    net.fit(X, y)
    bad = np.zeros((5, 3))
    msg = expect_raises(ValueError, net.predict, bad, call="NeuralNetwork([2, 4, 3]).predict(X of shape (5, 3))",
                        hint="check X.shape[1] == layer_sizes[0] and raise ValueError naming both")
    require("(5, 3)" in msg and "2" in msg,
            f"predict(X (5, 3)) on a network with 2 inputs: the message should name X's shape (5, 3) and the expected "
            f"(m, 2), got {msg!r}")


def test_save_load_round_trip(student, tmp_path, monkeypatch):
    """NeuralNetwork: save then load gives the same predictions, bit for bit"""
    monkeypatch.chdir(tmp_path)  # at home the file lands in a temporary folder; graded, in the worker's own
    X, y = blobs(3)
    net = student.NeuralNetwork([2, 7, 3], activation="sigmoid", lr=0.3, epochs=4, batch_size=20, l2=0.01, seed=5)
    net.fit(X, y)
    net.save("net.npz")
    if Path("net.npz").exists():  # at home: the file is here to inspect
        with np.load("net.npz", allow_pickle=False) as data:
            require("W1" in data.files and "b2" in data.files,
                    f"net.save('net.npz'): expected arrays 'W1', 'b1', 'W2', 'b2' in the archive, got {data.files}")
    loaded = load_network(student, "net.npz")
    check_array(loaded.predict_proba(X), net.predict_proba(X), "NeuralNetwork.load('net.npz').predict_proba(X)",
                rtol=0, atol=0, hint="save every W and b at full precision (float64) and the settings (layer_sizes, "
                                     "activation, ...); load rebuilds the network from them")
    require(loaded.activation == "sigmoid" and list(loaded.layer_sizes) == [2, 7, 3],
            f"NeuralNetwork.load: the settings came back as activation={loaded.activation!r}, "
            f"layer_sizes={loaded.layer_sizes!r}; expected 'sigmoid' and [2, 7, 3]")
