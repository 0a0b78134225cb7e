"""Planted bugs for the core of Module 3 (chapters 3.2 activations, 3.3 MLP forward, 3.4 backpropagation)."""
from . import Bug

BUGS = [
    # 3.2: the seed text's column-wise softmax, the overflowing softmax, a derivative that goes negative
    Bug("3.2", "softmax-axis0",
        "    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # exponents <= 0: no overflow\n"
        "    return E / E.sum(axis=1, keepdims=True)",
        "    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))\n    return E / E.sum(axis=0, keepdims=True)",
        "every ROW sum to 1"),
    Bug("3.2", "softmax-no-max-subtraction",
        "    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # exponents <= 0: no overflow",
        "    E = np.exp(Z)",
        "subtract each row's"),
    Bug("3.2", "relu-derivative-sign", "    return (Z > 0).astype(dtype)", "    return np.sign(Z).astype(dtype)",
        "never negative"),
    # 3.3: the seed text's He initialisation without the square root, random biases, ReLU on the output layer
    Bug("3.3", "he-init-without-sqrt", "* np.sqrt(2.0 / n_in)", "* (2.0 / n_in)", "without the square root"),
    Bug("3.3", "random-biases", 'params[f"b{l}"] = np.zeros(n_out)', 'params[f"b{l}"] = rng.standard_normal(n_out)',
        "biases start at zero"),
    Bug("3.3", "relu-before-softmax", "A = relu(Z) if l < L else softmax(Z)",
        "A = relu(Z)\n        if l == L:\n            A = softmax(A)", "never relu first"),
    # 3.4: the mean's 1/m forgotten, the ReLU mask forgotten, no shuffling, the weight gradient transposed
    Bug("3.4", "missing-1-over-m", "    dZ = (AL - Y) / m  # a new array: the cache stays as it was",
        "    dZ = AL - Y", "the gradient is m times too big"),
    Bug("3.4", "no-relu-mask", '            dZ = (dZ @ params[f"W{l}"].T) * relu_derivative(cache[f"Z{l - 1}"])',
        '            dZ = dZ @ params[f"W{l}"].T', "the ReLU mask of Z_{l-1}"),
    # a missing transpose: NumPy's matmul error, from the student's line, with the hint about .T
    Bug("3.4", "missing-transpose", 'dZ = (dZ @ params[f"W{l}"].T) * relu_derivative',
        'dZ = (dZ @ params[f"W{l}"]) * relu_derivative', "a missing or extra .T (transpose)"),
    Bug("3.4", "no-shuffle", "        order = rng.permutation(m)", "        order = np.arange(m)",
        "shuffle it every epoch"),
    Bug("3.4", "transposed-dW", 'grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ',
        'grads[f"W{l}"] = dZ.T @ cache[f"A{l - 1}"]', "is its transpose"),
]
