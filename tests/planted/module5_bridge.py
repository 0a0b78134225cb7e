"""Planted bugs for chapter 5.2 (the PyTorch bridge)."""
from . import Bug

BUGS = [
    Bug("5.2", "reshape-not-transpose", "linear.weight.copy_(torch.from_numpy(W.T.copy()))",
        "linear.weight.copy_(torch.from_numpy(W.copy()).reshape(W.shape[1], W.shape[0]))", "copy W.T"),
    Bug("5.2", "summed-loss", "loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(np.asarray(y, dtype=np.int64)))",
        "loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(np.asarray(y, dtype=np.int64)), reduction='sum')",
        "MEAN cross-entropy"),
]
