"""Planted bugs for the strengthened suites of chapters 4.1-4.4 (mutation testing, issue 12)."""
from . import Bug

BUGS = [
    # 4.4 regularization
    Bug("4.4", "dropout-keeps-float16",
        "    dtype = np.dtype(np.float32 if A.dtype == np.float32 else np.float64)",
        "    dtype = A.dtype if A.dtype.kind == \"f\" else np.dtype(np.float64)", "only float32 is kept"),
    Bug("4.4", "backward-compares-ndim", "    if dout.shape != mask.shape:", "    if dout.ndim != mask.ndim:",
        "compare the two shapes for equality"),
]
