"""Planted bugs for hints added while strengthening the suites of chapters 1.1-2.4 (mutation testing, issue 12)."""
from . import Bug

BUGS = [
    # "keep the float dtype": float16 stays float16, where the docstring makes anything but float32 float64
    Bug("1.1", "float16-kept", "X = X.astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)",
        "X = X.astype(X.dtype if X.dtype.kind == 'f' else np.float64, copy=False)", "(float16 too) becomes float64"),
    # only the inner sizes checked: a 3-D X whose axis 1 matches W slips through to a broadcasting matmul
    Bug("1.2", "ndim-unchecked", "if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:",
        "if W.ndim != 2 or X.shape[1] != W.shape[0]:", "check X.ndim == W.ndim == 2"),
    # integers rejected, but a bool array (not floats either) accepted
    Bug("2.4", "bool-array-accepted", 'if not isinstance(x, np.ndarray) or x.dtype.kind != "f":',
        'if not isinstance(x, np.ndarray) or x.dtype.kind in "iu":', "only a numpy array of floats"),
]
