"""Chapter 5.1: a reusable network class, assembled from the toolkit of the earlier chapters.

``NeuralNetwork`` wraps what the chapters built as functions behind the interface most machine-learning
libraries use: the settings go to the constructor, ``fit(X, y)`` trains, ``predict(X)`` answers.

* ``init_deep``, ``forward_deep``, ``backward_deep`` (chapter 4.1): an MLP of any depth, ReLU or sigmoid;
* ``cross_entropy`` (chapter 3.2): the loss;
* ``iterate_minibatches`` (chapter 2.3): shuffled mini-batches, a new order every epoch;
* ``l2_regularization`` (chapter 4.4): weight decay when ``l2 > 0``.

Conventions of the class (the same as scikit-learn's): the constructor only stores its settings; ``fit``
creates the attributes that end with an underscore, ``params_`` (the weights) and ``history_`` (the loss
per epoch), and returns the network itself, so ``NeuralNetwork([784, 64, 10]).fit(X, y).score(X_test, y_test)``
works. Everything random comes from one generator, ``np.random.default_rng(seed)``, created at the start of
``fit``: the same seed and data give the same network, bit for bit.

``save`` writes a plain ``.npz`` archive (numbers and strings only, readable with
``np.load(path, allow_pickle=False)``: loading a pickle can run arbitrary code, loading numbers cannot);
``NeuralNetwork.load`` rebuilds the network from it exactly.
"""
import numpy as np
from tqdm.auto import tqdm

from activations import cross_entropy
from deep_mlp import backward_deep, forward_deep, init_deep
from minibatch import iterate_minibatches
from regularization import l2_regularization


class NeuralNetwork:
    """A multi-layer perceptron classifier: ``layer_sizes[0]`` inputs, softmax over ``layer_sizes[-1]`` classes.

    Args:
        layer_sizes: ``[n_0, n_1, ..., n_L]``: input size, hidden sizes (any number, also none), number of
            classes ``K = n_L``.
        activation: the hidden activation, ``"relu"`` (He initialisation) or ``"sigmoid"`` (Xavier).
        lr: learning rate of plain mini-batch SGD, ``> 0``.
        epochs: passes over the training set, ``>= 0``.
        batch_size: rows per mini-batch, ``>= 1`` (the last batch of an epoch may be shorter).
        l2: L2 regularization strength ``lam >= 0`` (0: none); the penalty ``lam / 2 * sum W^2`` is added to
            every mini-batch's loss and ``lam * W`` to its weight gradients.
        seed: seed of the generator behind the initialisation and the shuffling.

    The settings are kept as attributes of the same names (``layer_sizes`` as a list of ints). After ``fit``:
    ``params_``, the dict ``{"W1", "b1", ..., "WL", "bL"}``, and ``history_``, a list of ``epochs`` floats.

    Raises:
        ValueError: for settings outside the ranges above (fewer than 2 layer sizes, a size below 1, an
            unknown activation, ...); the message names the setting.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
        >>> net = NeuralNetwork([2, 8, 2], lr=0.5, epochs=20, batch_size=32).fit(X, y)
        >>> net.predict(X[:3]).shape, net.score(X, y) > 0.9, len(net.history_)
        ((3,), True, 20)
    """

    def __init__(self, layer_sizes, activation="relu", lr=0.1, epochs=10, batch_size=64, l2=0.0, seed=0):
        """Check and store the settings (see the class docstring); ``params_`` is None until ``fit``."""
        ### BEGIN SOLUTION
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"NeuralNetwork: layer_sizes must hold at least 2 positive sizes [n_in, ..., n_classes], "
                             f"got {list(layer_sizes)}")
        if activation not in ("relu", "sigmoid"):
            raise ValueError(f"NeuralNetwork: unknown activation {activation!r}; choose one of 'relu', 'sigmoid'")
        if not lr > 0:
            raise ValueError(f"NeuralNetwork: lr must be > 0, got {lr}")
        if int(epochs) < 0 or int(batch_size) < 1 or not l2 >= 0:
            raise ValueError(f"NeuralNetwork: need epochs >= 0, batch_size >= 1 and l2 >= 0, got epochs={epochs}, "
                             f"batch_size={batch_size}, l2={l2}")
        self.layer_sizes = sizes
        self.activation = str(activation)
        self.lr = float(lr)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.l2 = float(l2)
        self.seed = int(seed)
        self.params_ = None
        self.history_ = []
        ### END SOLUTION

    def fit(self, X, y):
        """Train from scratch with mini-batch SGD; returns ``self``.

        Every call starts afresh: ``rng = np.random.default_rng(seed)``, ``params_ = init_deep(layer_sizes,
        rng, activation)``, then ``epochs`` passes of ``iterate_minibatches(X, y, batch_size, rng)``; per
        mini-batch: forward, loss (cross-entropy, plus the L2 penalty when ``l2 > 0``), backward (plus the
        penalty's gradients), and ``params_[k] -= lr * grads[k]``. ``history_[e]`` is the mean loss of epoch
        ``e`` (each mini-batch's loss before its step, weighted by its size). ``X`` and ``y`` are not modified.
        A progress bar (loss and training accuracy per epoch, time left) shows in a terminal or notebook.

        Args:
            X: training inputs, shape ``(m, layer_sizes[0])``.
            y: integer labels, shape ``(m,)``, values in ``0 .. layer_sizes[-1] - 1``.

        Returns:
            ``self``, now fitted.

        Raises:
            ValueError: if ``X`` is not ``(m, layer_sizes[0])`` or ``y`` not ``(m,)`` (the message names the
                shapes), or a label is not an integer in ``0 .. K - 1``.
        """
        ### BEGIN SOLUTION
        X, y = np.asarray(X), np.asarray(y)
        n_in, K = self.layer_sizes[0], self.layer_sizes[-1]
        if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] == 0:
            raise ValueError(f"NeuralNetwork.fit: X of shape {X.shape} does not fit layer_sizes "
                             f"{self.layer_sizes}; X must be (m, {n_in}) with m >= 1")
        if y.shape != (X.shape[0],):
            raise ValueError(f"NeuralNetwork.fit: y of shape {y.shape} does not match X of shape {X.shape}; "
                             f"y must be ({X.shape[0]},) integer labels")  # mutants: skip (wording)
        labels = y.astype(np.int64)
        if not np.array_equal(labels, y) or labels.min() < 0 or labels.max() >= K:
            # mutants: skip (the message's wording)
            raise ValueError(f"NeuralNetwork.fit: labels must be integers in 0..{K - 1} for {K} classes, got "
                             f"values from {y.min()} to {y.max()}")
        rng = np.random.default_rng(self.seed)
        params = init_deep(self.layer_sizes, rng, activation=self.activation)
        history = []
        # A progress bar in a terminal or notebook; silent when the output is not one (as under the grader).
        # mutants: skip (the progress bar)
        bar = tqdm(range(self.epochs), desc="NeuralNetwork.fit", unit="epoch", disable=None, leave=False)
        for _ in bar:
            total = 0.0
            correct = 0  # mutants: skip (the training accuracy only the progress bar shows)
            for Xb, yb in iterate_minibatches(X, labels, self.batch_size, rng):
                probs, cache = forward_deep(Xb, params, activation=self.activation)
                loss = cross_entropy(probs, yb)
                correct += int((probs.argmax(axis=1) == yb).sum())  # mutants: skip (shown, not returned)
                grads = backward_deep(params, cache, yb, activation=self.activation)
                if self.l2 > 0:
                    penalty, reg = l2_regularization(params, self.l2)
                    loss += penalty
                    grads = {k: grads[k] + reg[k] for k in grads}
                total += loss * len(yb)
                for k in params:
                    params[k] -= self.lr * grads[k]
            history.append(total / X.shape[0])
            # mutants: skip (display only)
            bar.set_postfix(loss=f"{history[-1]:.4f}", train_acc=f"{correct / X.shape[0]:.3f}")
        self.params_, self.history_ = params, history
        return self
        ### END SOLUTION

    def predict_proba(self, X):
        """Class probabilities, shape ``(m, K)``: every row sums to 1.

        Raises:
            RuntimeError: if the network has not been fitted (nor loaded) yet: call ``fit`` first.
            ValueError: if ``X`` is not ``(m, layer_sizes[0])`` (the message names both shapes).
        """
        ### BEGIN SOLUTION
        if self.params_ is None:
            raise RuntimeError("NeuralNetwork is not fitted yet: call fit(X, y) first (or NeuralNetwork.load(path))")
        X = np.asarray(X)
        n_in = self.layer_sizes[0]
        if X.ndim != 2 or X.shape[1] != n_in:
            raise ValueError(f"NeuralNetwork: X of shape {X.shape} does not fit the network's input: expected "
                             f"(m, {n_in}) (layer_sizes {self.layer_sizes})")
        probs, _ = forward_deep(X, self.params_, activation=self.activation)
        return probs
        ### END SOLUTION

    def predict(self, X):
        """The most probable class of every row of ``X``: integer array of shape ``(m,)``.

        Raises:
            RuntimeError, ValueError: as ``predict_proba``.
        """
        ### BEGIN SOLUTION
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)
        ### END SOLUTION

    def score(self, X, y):
        """Accuracy on ``(X, y)``: the fraction of rows whose predicted class equals ``y``, a Python ``float``.

        Raises:
            RuntimeError: if the network is not fitted yet.
            ValueError: if ``X`` does not fit the network or ``y`` is not ``(m,)`` (the message names the shapes).
        """
        ### BEGIN SOLUTION
        predictions = self.predict(X)
        y = np.asarray(y)
        if y.shape != predictions.shape:
            raise ValueError(f"NeuralNetwork.score: y of shape {y.shape} does not match X of shape "
                             f"{np.shape(X)}; y must be ({predictions.shape[0]},)")  # mutants: skip (wording)
        return float(np.mean(predictions == y))
        ### END SOLUTION

    def save(self, path):
        """Write the fitted network to ``path`` as a plain ``.npz`` archive (the name is used as given).

        The archive holds the constructor's settings (``layer_sizes``, ``activation``, ``lr``, ``epochs``,
        ``batch_size``, ``l2``, ``seed``), ``history`` and every array of ``params_`` under its own key
        (``"W1"``, ``"b1"``, ...): numbers and strings only, so ``np.load(path, allow_pickle=False)`` reads it.

        Raises:
            RuntimeError: if the network has not been fitted yet (there is nothing to save).
        """
        ### BEGIN SOLUTION
        if self.params_ is None:
            raise RuntimeError("NeuralNetwork.save: the network is not fitted yet: call fit(X, y) first")
        settings = {"layer_sizes": np.asarray(self.layer_sizes, dtype=np.int64), "activation": np.str_(self.activation),
                    "lr": np.float64(self.lr), "epochs": np.int64(self.epochs), "batch_size": np.int64(self.batch_size),
                    "l2": np.float64(self.l2), "seed": np.int64(self.seed),
                    "history": np.asarray(self.history_, dtype=np.float64)}
        with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name without it
            np.savez(f, **settings, **self.params_)
        ### END SOLUTION

    @classmethod
    def load(cls, path):
        """A network rebuilt from a file written by ``save``: same settings, same weights, same predictions.

        Reads with ``np.load(path, allow_pickle=False)``. Call it on the class:
        ``net = NeuralNetwork.load("net.npz")``.

        Raises:
            OSError: if the file cannot be read; ValueError: if it is not an archive written by ``save``.
        """
        ### BEGIN SOLUTION
        with np.load(path, allow_pickle=False) as data:
            try:
                net = cls(data["layer_sizes"].tolist(), activation=str(data["activation"]), lr=float(data["lr"]),
                          epochs=int(data["epochs"]), batch_size=int(data["batch_size"]), l2=float(data["l2"]),
                          seed=int(data["seed"]))
                L = len(net.layer_sizes) - 1
                net.params_ = {key: data[key] for l in range(1, L + 1) for key in (f"W{l}", f"b{l}")}
                net.history_ = data["history"].tolist()
            except KeyError as exc:
                raise ValueError(f"NeuralNetwork.load: {path} was not written by NeuralNetwork.save ({exc})") from None
        return net
        ### END SOLUTION
