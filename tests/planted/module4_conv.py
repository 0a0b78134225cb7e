"""Planted bugs for Module 4, convolution (chapters 4.2-4.3)."""
from . import Bug

BUGS = [
    # 4.2 convolution
    Bug("4.2", "flipped-kernel", "    Wmat = W.reshape(F, C * KH * KW).astype(dtype, copy=False)",
        "    Wmat = W[:, :, ::-1, ::-1].reshape(F, C * KH * KW).astype(dtype, copy=False)", "FLIPPED kernel"),
    Bug("4.2", "output-size-with-stride", "    Ho, Wo = (Hp - KH) // s + 1, (Wp - KW) // s + 1",
        "    Ho, Wo = (Hp - KH + 1) // s, (Wp - KW + 1) // s", "H_out = (H + 2*padding - KH) // stride + 1"),
    Bug("4.2", "db-mean-not-sum", "        return dW, dout[a:z].sum(axis=(0, 2, 3))",
        "        return dW, dout[a:z].mean(axis=(0, 2, 3))", "not a mean"),
    Bug("4.2", "padding-kept-in-backward", "    dX = dXp[:, :, p:p + H, p:p + Wd]", "    dX = dXp[:, :, :H, :Wd]",
        "drop the padding border"),
    # 4.3 pooling
    Bug("4.3", "gradient-to-whole-window", "                np.multiply(dout[a:z], argmax[a:z] == t, out=target)",
        "                target[...] = dout[a:z]", "the whole dout[n, c, y, x] goes to that one entry"),
    Bug("4.3", "average-not-max",
        "            np.maximum(best, window, out=best)\n"
        "            np.maximum(arg, larger * arg.dtype.type(t), out=arg)\n",
        "            best += window\n"
        "            np.maximum(arg, larger * arg.dtype.type(t), out=arg)\n        best /= k * k\n",
        "not the mean"),
    Bug("4.3", "ties-to-last-maximum", "            larger = window > best", "            larger = window >= best",
        "FIRST maximum in row-major order"),
    Bug("4.3", "flatten-channels-last", "    flat = P1.reshape(P1.shape[0], -1)",
        "    flat = P1.transpose(0, 2, 3, 1).reshape(P1.shape[0], -1)", "channel, then row, then column"),
]
