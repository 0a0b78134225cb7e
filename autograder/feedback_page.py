"""A student's graded work as one self-contained HTML page (``feedback.html`` beside ``results.json``).

Everything is inline: the CSS in a ``<style>``, every chart a PNG ``data:`` URI drawn here by
:mod:`autograder.feedback_charts` from the report's numbers and the plot data the suites recorded
(:mod:`autograder.plots`). No script, font or file is fetched, and a Content-Security-Policy says so to the
browser. The page reads on a phone (fluid width, images scale down) and prints without cutting a figure or a
table row in two.
"""
from __future__ import annotations

from html import escape

from dlcourse.testrun import TestResult

from . import feedback_charts as charts

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0 auto;
       padding: 0 1rem 2rem; max-width: 56rem; }
h1, h2, h3, h4 { line-height: 1.25; overflow-wrap: anywhere; }
.total { font-size: 1.4rem; margin: 0.5rem 0 1rem; }
.meta, figcaption, .note { color: #555; font-size: 0.9rem; }
figure { margin: 1rem 0; }
img { display: block; max-width: 100%; height: auto; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 0.3rem 0.5rem; border-bottom: 1px solid #ddd; text-align: left; overflow-wrap: anywhere; }
td.num, th.num { text-align: right; white-space: nowrap; }
tfoot td { font-weight: bold; border-top: 2px solid #888; }
.full { color: #2e7d32; } .partial { color: #b26a00; } .zero { color: #c62828; }
.failure h4 { margin: 1rem 0 0.3rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border-left: 3px solid #c62828;
      padding: 0.5rem 0.75rem; font-size: 0.85rem; margin: 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  figure, tr, .failure h4, img { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  pre { background: none; }
}
"""
# Nothing is loaded from anywhere: images come from data: URIs, the style is the inline one.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _label(chapter) -> str:
    return f"{chapter.number} {chapter.topic.replace('_', ' ')}"


def _grade(score: float, top: float) -> str:
    return "full" if top and score >= top else "zero" if score <= 0 else "partial"


def _figure(chart: tuple[str, int, int], alt: str, caption: str) -> str:
    uri, width, height = chart
    return (f'<figure><img src="{uri}" width="{width}" height="{height}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _plot_figures(result: TestResult) -> list[str]:
    """The figures of the plots one test recorded, captioned with the test and how it went."""
    source = f"From the test \u201c{result.title}\u201d ({result.status})."
    out = []
    for plot in result.plots:
        note = f" {plot['note']}." if plot.get("note") else ""
        if plot.get("kind") == "curve":
            out.append(_figure(charts.curve(plot), f"{plot['title']}: your output against the expected one",
                               f"{source}{note}"))
        elif plot.get("kind") == "training":
            drawn = []
            if plot.get("history"):
                drawn.append(_figure(charts.training_curve(plot), f"{plot['title']}: training curve per epoch",
                                     f"Training history per epoch. {source}{note}"))
            if plot.get("confusion"):
                drawn.append(_figure(charts.confusion(plot), f"{plot['title']}: confusion matrix on the test set",
                                     "Confusion matrix of your predictions on the test set (rows: the true class, "
                                     f"columns: the predicted one). {source}{'' if drawn else note}"))
            out += drawn or [f'<p class="note">{escape(plot["title"])}: nothing to draw.{escape(note)} '
                             f"{escape(source)}</p>"]
    return out


def _chapter_section(chapter, results: list[TestResult], note: str) -> str:
    """One chapter's failures (their messages) and figures; empty when there is nothing to say."""
    failed = [r for r in results if r.failed or r.status == "skipped"]
    figures = [fig for r in results for fig in _plot_figures(r)]
    if not (failed or figures or note):
        return ""
    score, top = sum(r.score for r in results), sum(r.max_score for r in results)
    parts = [f'<section id="{chapter.name}"><h2>{escape(_label(chapter))} '
             f'<span class="{_grade(score, top)}">({score:g} / {top:g})</span></h2>']
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    if failed:
        parts.append("<h3>Tests to fix</h3>")
        for r in failed:
            parts.append(f'<div class="failure"><h4>{escape(r.title)} <span class="zero">({r.score:g} / '
                         f"{r.max_score:g}, {r.status})</span></h4><pre>{escape(r.message)}</pre></div>")
    if figures:
        parts.append("<h3>Your functions drawn</h3>" + "".join(figures))
    parts.append("</section>")
    return "\n".join(parts)


def feedback_html(student: str, report, commit: str = "") -> str:
    """The page for ``student`` from ``report`` (an :class:`autograder.engine.Report`); ``commit``: the graded
    commit, shown when given."""
    by_chapter = {c: [r for r in report.results if r.chapter == c] for c in report.chapters}
    by_chapter = {c: rs for c, rs in by_chapter.items() if rs}
    rows = [(_label(c), sum(r.score for r in rs), sum(r.max_score for r in rs)) for c, rs in by_chapter.items()]
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    table = "".join(
        f'<tr><td>{escape(label)}</td><td class="num {_grade(score, top)}">{score:g} / {top:g}</td>'
        f'<td class="num">{sum(r.passed for r in rs)} of {len(rs)}</td></tr>'
        for (label, score, top), rs in zip(rows, by_chapter.values()))
    chart = (_figure(charts.chapter_bars(rows), "Score per chapter as a bar chart",
                     "Score per chapter, as a share of its points.") if rows else "")
    sections = [_chapter_section(c, rs, report.notes.get(c.name, "")) for c, rs in by_chapter.items()]
    graded = f" at commit <code>{escape(commit)}</code>" if commit else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Feedback: {escape(student)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>Feedback: {escape(student)}</h1>
<p class="meta">Graded{graded}: {len(report.results)} tests in {len(rows)} chapters.</p>
<p class="total">Total: <strong class="{_grade(report.score, report.max_score)}">{report.score:g} / \
{report.max_score:g}</strong> points ({pct:.1f}%)</p>
</header>
<section id="chapters">
<h2>Score per chapter</h2>
{chart}
<table>
<thead><tr><th>Chapter</th><th class="num">Points</th><th class="num">Tests passed</th></tr></thead>
<tbody>{table}</tbody>
<tfoot><tr><td>Total</td><td class="num">{report.score:g} / {report.max_score:g}</td>\
<td class="num">{sum(r.passed for r in report.results)} of {len(report.results)}</td></tr></tfoot>
</table>
</section>
{"".join(sections)}
</body>
</html>
"""
