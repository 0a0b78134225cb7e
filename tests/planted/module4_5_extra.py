"""Planted bugs for chapters 4.1 (deeper MLPs), 4.4 (regularization) and 5.1 (the NeuralNetwork class)."""
from . import Bug

BUGS = [
    # 4.1: the sigmoid's derivative taken at A (= sigmoid(Z)), the norms listed from the last layer, a hidden layer
    # without its activation derivative, He initialisation kept for the sigmoid
    Bug("4.1", "derivative-of-activation",
        '            dZ = (dZ @ params[f"W{l}"].T) * derivative(cache[f"Z{l - 1}"])',
        '            dZ = (dZ @ params[f"W{l}"].T) * derivative(cache[f"A{l - 1}"])',
        "applies it to the wrong argument"),
    Bug("4.1", "norms-reversed", "for l in range(1, L + 1)]", "for l in range(L, 0, -1)]", "in LAYER order"),
    Bug("4.1", "missing-derivative-in-one-layer",
        '        if l > 1:\n            dZ = (dZ @ params[f"W{l}"].T) * derivative(cache[f"Z{l - 1}"])',
        '        if l > 2:\n            dZ = (dZ @ params[f"W{l}"].T) * derivative(cache[f"Z{l - 1}"])\n'
        '        elif l == 2:\n            dZ = dZ @ params[f"W{l}"].T',
        "in EVERY hidden layer"),
    Bug("4.1", "he-init-for-sigmoid", 'gain = 2.0 if activation == "relu" else 1.0', "gain = 2.0",
        "sigmoid: Xavier/Glorot"),
    # 4.4: dropout without the rescaling, p read as the keep probability, biases penalised, the gradient without 1/2
    Bug("4.4", "dropout-without-rescaling", "    mask = keep.astype(dtype) / dtype.type(1 - p)",
        "    mask = keep.astype(dtype)", "scale the kept units by 1 / (1 - p)"),
    Bug("4.4", "p-as-keep-probability", "keep = rng.random(A.shape) >= p", "keep = rng.random(A.shape) < p",
        "p is the probability of DROPPING"),
    Bug("4.4", "biases-penalised",
        '        if key.startswith("W"):\n'
        "            penalty += float(np.sum(np.square(value, dtype=np.float64)))\n"
        "            grads[key] = lam * value\n"
        "        else:\n"
        "            grads[key] = np.zeros_like(value)\n",
        "        penalty += float(np.sum(np.square(value, dtype=np.float64)))\n"
        "        grads[key] = lam * value\n",
        "the biases were penalised too"),
    Bug("4.4", "gradient-without-half", "            grads[key] = lam * value", "            grads[key] = 2 * lam * value",
        "the 1/2 cancels the 2"),
    # 5.1: weights made by the constructor (predict works before fit), weights saved as float32, argmax over the
    # wrong axis, unshuffled mini-batches (the 5k subset is sorted by label), the L2 gradient forgotten
    Bug("5.1", "weights-in-constructor", "        self.params_ = None\n",
        "        self.params_ = init_deep(sizes, np.random.default_rng(seed), activation=activation)\n",
        "call fit(X, y) first"),
    Bug("5.1", "saved-as-float32", "np.savez(f, **settings, **self.params_)",
        "np.savez(f, **settings, **{k: v.astype(np.float32) for k, v in self.params_.items()})",
        "full precision"),
    Bug("5.1", "no-shuffle", "iterate_minibatches(X, labels, self.batch_size, rng)",
        "iterate_minibatches(X, labels, self.batch_size, rng, shuffle=False)", "shuffle every epoch"),
    Bug("5.1", "l2-gradient-forgotten", "                    grads = {k: grads[k] + reg[k] for k in grads}\n", "",
        "add reg[k] to grads[k]"),
]
