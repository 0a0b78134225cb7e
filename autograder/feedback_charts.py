"""The feedback page's charts: matplotlib figures (Agg, no pyplot state) as inline PNG ``data:`` URIs.

Every chart is drawn from plain data (scores, and the plot dicts of :mod:`autograder.plots`), never from student
code. Each function returns ``(data URI, width px, height px)``.
"""
from __future__ import annotations

import base64
import io
import textwrap
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
EXPECTED, YOURS = "#9a9a9a", "#d1495b"
FULL, PARTIAL, NONE = "#2e7d32", "#ef8f00", "#c62828"


def _figure(width: float, height: float) -> Figure:
    # matplotlib is imported here, on the first chart: `dlcourse grade` imports this module (through the
    # gradebook) but draws nothing, and importing matplotlib costs each grading process a quarter of a second.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _margins(fig: Figure, left: float, right: float, top: float, bottom: float) -> None:
    """Fixed margins in inches. ``tight_layout`` would find them by drawing the figure twice: half of a
    feedback page's drawing time, paid for every student of a class."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)


def _title(ax, text: str, width: int) -> float:
    """Set ``text`` as the axes' title, broken into lines of ``width`` characters; returns the top margin it needs
    (inches)."""
    title = _wrap(text, width)
    # y given: matplotlib then skips placing the title clear of top tick labels (there are none), which
    # measured a quarter of a chart's drawing time.
    ax.set_title(title, fontsize=11, y=1.0)
    return 0.2 + 0.2 * (title.count("\n") + 1)


def _png(fig: Figure) -> tuple[str, int, int]:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no version stamp: same data, same bytes
    width, height = (int(round(v * DPI)) for v in fig.get_size_inches())
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), width, height


def _wrap(title: str, width: int) -> str:
    """A title broken into lines that fit the figure (a long one would be cut at the figure's edges)."""
    return "\n".join(textwrap.wrap(title, width))


def _array(values) -> np.ndarray:
    """A recorded list (None for a value that was not finite) as floats, NaN where it was None."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def chapter_bars(rows: list[tuple[str, float, float]]) -> tuple[str, int, int]:
    """Horizontal bars of ``(label, score, max_score)`` per chapter, the first row at the top."""
    fig = _figure(7.0, 0.9 + 0.38 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    tops = np.array([top for _, _, top in rows], dtype=float)
    scores = np.array([score for _, score, _ in rows], dtype=float)
    share = np.divide(scores, tops, out=np.zeros_like(scores), where=tops > 0)
    colours = [FULL if s >= 1 else NONE if s <= 0 else PARTIAL for s in share]
    ax.barh(y, np.ones(len(rows)) * 100, color="#e6e6e6", height=0.7)
    ax.barh(y, share * 100, color=colours, height=0.7)
    for yi, score, top in zip(y, scores, tops):
        ax.text(101, yi, f"{score:g} / {top:g}", va="center", fontsize=9)
    ax.set_yticks(y, [label for label, _, _ in rows], fontsize=9)
    ax.set_xlim(0, 118)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("% of the chapter's points")
    ax.spines[["top", "right"]].set_visible(False)
    widest = max((len(label) for label, _, _ in rows), default=1)
    _margins(fig, left=0.25 + 0.075 * widest, right=0.15, top=0.15, bottom=0.55)
    return _png(fig)


def curve(plot: dict) -> tuple[str, int, int]:
    """The student's output against the expected one over the test's inputs (a ``curve`` plot dict)."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    x = _array(plot["x"])
    ax.plot(x, _array(plot["expected"]), color=EXPECTED, linewidth=5, alpha=0.7, label="expected",
            solid_capstyle="round")
    if plot.get("actual") is not None:
        ax.plot(x, _array(plot["actual"]), color=YOURS, linewidth=1.5, marker="o", markersize=3.5, label="yours")
    top = _title(ax, plot["title"], 64)
    ax.set_xlabel(plot.get("xlabel", "input"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    _margins(fig, left=0.75, right=0.2, top=top, bottom=0.6)
    return _png(fig)


def training_curve(plot: dict) -> tuple[str, int, int]:
    """Per-epoch losses (left axis) and accuracies (right axis) of a ``training`` plot dict."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    acc = ax.twinx()
    for i, (name, values) in enumerate(plot["history"].items()):
        target = acc if "acc" in name.lower() else ax
        ys = _array(values)
        target.plot(np.arange(1, len(ys) + 1), ys, marker="o", markersize=3.5, color=f"C{i}", label=name,
                    linestyle="--" if target is acc else "-")
    ax.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    acc.set_ylabel("accuracy")
    acc.set_visible(bool(acc.lines))  # a history of losses only gets no empty accuracy axis
    handles = ax.lines + acc.lines
    ax.legend(handles, [h.get_label() for h in handles], fontsize=9, loc="center right")
    ax.grid(alpha=0.3)
    _margins(fig, left=0.75, right=0.75 if acc.lines else 0.2, top=_title(ax, plot["title"], 64), bottom=0.6)
    return _png(fig)


def confusion(plot: dict) -> tuple[str, int, int]:
    """The confusion matrix of a ``training`` plot dict: rows the true class, columns the predicted one."""
    counts = np.asarray(plot["confusion"], dtype=np.int64)
    k = len(counts)
    fig = _figure(5.2, 4.8)
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    if k <= 12:  # the counts are readable in each cell
        edge = counts.max() / 2 if counts.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if counts[i, j] > edge else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    _margins(fig, left=0.7, right=0.3, top=_title(ax, f"{plot['title']}: confusion matrix", 48), bottom=0.6)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _png(fig)
