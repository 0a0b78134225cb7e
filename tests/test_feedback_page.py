"""feedback.html: built from a real grading run (1.3 with a planted bug, 5.1 correct), self-contained, and seen in
headless Chromium: the charts are drawn, nothing is fetched, and it fits a phone's width."""
from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
from html import escape
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from autograder.engine import Report, find_kit, grade
from autograder.feedback_page import feedback_html
from autograder.plots import record_curve, record_training
from dlcourse.chapters import Chapter
from dlcourse.testrun import PLOT, TestResult

from .grading import ROOT

SIGMOID, NETWORK = Chapter.from_name("ch1_3_sigmoid"), Chapter.from_name("ch5_1_network")
PLANTED = "    return Z * (1 - Z)\n"  # sigmoid_derivative in terms of the output, applied to the input


class Page(HTMLParser):
    """The tags of a page and their attributes, in order."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def images(self) -> dict[str, str]:
        """alt -> src of every <img>."""
        return {a.get("alt", ""): a.get("src", "") for tag, a in self.tags if tag == "img"}


def png_of(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):])))
    image.load()
    return image


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Report:
    """1.3 and 5.1 of the solutions, graded with seed 0, sigmoid_derivative planted with ``Z * (1 - Z)``."""
    sub = tmp_path_factory.mktemp("submission")
    for chapter in (SIGMOID, NETWORK):
        shutil.copytree(ROOT / "solutions" / chapter.name, sub / chapter.name)
    module = sub / SIGMOID.name / "sigmoid.py"
    text = module.read_text()
    correct = "    s = sigmoid(Z)\n    return s * (1 - s)\n"
    assert text.count(correct) == 1
    module.write_text(text.replace(correct, PLANTED))
    return grade(sub, [SIGMOID, NETWORK], seed=0, kit=find_kit(ROOT))


@pytest.fixture(scope="module")
def page(graded) -> str:
    return feedback_html("student <07>", graded, commit="0123abcd")


def test_the_page_shows_the_score_the_failures_and_inline_charts(graded, page):
    sigmoid = [r for r in graded.results if r.chapter == SIGMOID]
    network = [r for r in graded.results if r.chapter == NETWORK]
    failed = [r for r in sigmoid if r.failed]
    assert failed and all(r.passed for r in network), [r.name for r in graded.results if not r.passed]
    assert any("sigmoid_derivative" in r.title for r in failed)
    for r in failed:  # every failing test's message, escaped, in a <pre>
        assert f"<pre>{escape(r.message)}</pre>" in page
    assert "Feedback: student &lt;07&gt;" in page and "<07>" not in page and "0123abcd" in page
    assert f"{graded.score:g} / {graded.max_score:g}</strong>" in page
    top = sum(r.max_score for r in sigmoid)
    assert f"{sum(r.score for r in sigmoid):g} / {top:g}" in page and 0 < sum(r.score for r in sigmoid) < top

    # The plotted data is the worker's output: the planted derivative is recorded as it came back, not redrawn.
    (plot,) = next(r for r in sigmoid if r.title.startswith("sigmoid_derivative: 0.25")).plots
    x, expected, actual = (np.array(plot[k], dtype=float) for k in ("x", "expected", "actual"))
    assert plot["kind"] == "curve" and len(x) == 61 and np.all(np.diff(x) >= 0)
    np.testing.assert_allclose(actual, x * (1 - x))
    assert np.abs(actual - expected).max() > 1

    images = Page(page).images()
    wanted = ["Score per chapter as a bar chart", "sigmoid(z): your output against the expected one",
              "sigmoid_derivative(z): your output against the expected one",
              "NeuralNetwork([784, 64, 10]) on MNIST subset5k: training curve per epoch",
              "NeuralNetwork([784, 64, 10]) on MNIST subset5k: confusion matrix on the test set"]
    assert [alt for alt in wanted if alt not in images] == [], sorted(images)
    for alt in wanted:
        image = png_of(images[alt])
        assert image.width > 300 and image.height > 100
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 50, alt

    (training,) = next(r for r in network if "MNIST" in r.title).plots
    assert len(training["history"]["training loss"]) == 3
    counts = np.array(training["confusion"])
    assert counts.shape == (10, 10) and counts.sum() == 10_000 and np.trace(counts) > 8_600


def test_the_page_is_self_contained(page):
    tags = Page(page).tags
    assert {tag for tag, _ in tags} & {"script", "link", "iframe", "object", "embed", "base"} == set()
    links = [value for _, attrs in tags for name, value in attrs.items() if name in ("src", "href", "srcset")]
    assert links and all(value.startswith("data:image/png;base64,") for value in links)
    assert "url(" not in page and "@import" not in page and "http://" not in page and "https://" not in page
    assert ('<meta name="viewport" content="width=device-width, initial-scale=1">' in page
            and "max-width: 100%" in page and "@media print" in page and "break-inside: avoid" in page)


def test_results_keep_their_plots_as_strict_json(graded):
    for result in graded.results:
        data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
        again = TestResult.from_dict(data)
        assert again.plots == result.plots and again == result


def test_plot_helpers_record_a_note_for_garbage_and_never_raise():
    recorded: list[tuple[str, dict]] = []

    def record_property(key, value):
        recorded.append((key, value))

    x = np.linspace(-2, 2, 5)
    garbage = [None, "0.5", object(), [[1, 2], [3]], np.ones(4), np.ones((5, 1)), np.ones(5) * 1j, {"a": 1}, True]
    for actual in garbage:
        record_curve(record_property, "f(z)", x, x ** 2, actual)
    record_curve(record_property, "f(z)", x, x ** 2, [1.0, math.nan, math.inf, 9.0, 16.0])
    record_curve(record_property, "f(z)", "not the grader's data", x, x)  # the suite's own mistake: no plot
    record_training(record_property, "fit", "not a dict", np.arange(3), np.array([0, 1, 7]))
    record_training(record_property, "fit", {"loss": [1.0, "x"], "acc": [0.5, 0.7]}, np.arange(3), [[0, 1, 2]],
                    keys=("loss", "acc", "val_loss"))
    record_training(record_property, "fit", {"loss": [2.0, 1.0], "stop_reason": "time"}, np.arange(3), [0, 2, 2.5])
    record_training(record_property, "broken fit", None, np.arange(3), "x")
    assert {key for key, _ in recorded} == {PLOT} and len(recorded) == len(garbage) + 5
    plots = [value for _, value in recorded]
    json.dumps(plots, allow_nan=False)  # plain JSON data, whatever came in
    assert all(p["actual"] is None and "not drawn" in p["note"] for p in plots[:len(garbage)])
    assert "shape (4,)" in plots[4]["note"] and "shape (5, 1)" in plots[5]["note"]
    nan_plot = plots[len(garbage)]
    assert nan_plot["actual"] == [1.0, None, None, 9.0, 16.0] and "2 of the 5" in nan_plot["note"]
    first, second, third, fourth = plots[-4:]
    assert first["history"] == {} and "not a dict" in first["note"] and first["confusion"][2] == [0, 0, 0]
    assert "predictions are not a class" in first["note"]
    assert second["history"] == {"acc": [0.5, 0.7]} and second["confusion"] is None
    assert "'loss'" in second["note"] and "no 'val_loss'" in second["note"] and "shape (1, 3)" in second["note"]
    assert third["history"] == {"loss": [2.0, 1.0]} and third["confusion"][1] == [0, 0, 1]
    assert fourth["history"] == {} and fourth["confusion"] is None and "is a str" in fourth["note"]

    # Drawn into a page beside a failure whose message holds markup: escaped, and every chart still drawn.
    results = [TestResult(SIGMOID, f"t{i}", plots=[p], status="failed", message="<b>bad</b> & worse")
               for i, p in enumerate(plots)]
    html = feedback_html("s", Report(results=results, chapters=[SIGMOID]))
    assert "<b>bad</b>" not in html and "&lt;b&gt;bad&lt;/b&gt; &amp; worse" in html
    assert "not a dict of per-epoch values" in html and "broken fit: nothing to draw." in html
    for src in Page(html).images().values():
        png_of(src)


def test_the_page_in_chromium_draws_its_charts_fetches_nothing_and_fits_a_phone(page, tmp_path):
    from .chromium import LOADED, chromium, ink, look, off_machine

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed for this test: apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    path = tmp_path / "feedback.html"
    path.write_text(page, encoding="utf-8")
    count = len(Page(page).images())
    png, facts = look(path, tmp_path / "profile", width=1100, ready=LOADED)
    (tmp_path / "feedback.png").write_bytes(png)
    assert facts["ready"] and len(facts["images"]) == count >= 5, facts
    for box in facts["images"]:  # decoded, and drawn on the screen: ink on the white, many colours
        assert box["natural"] > 0 and box["w"] > 300, box
        seen = ink(png, box)
        assert seen["colours"] > 50 and seen["ink"] > 0.02, (box, seen)
    requests = facts["requests"]
    assert off_machine(requests) == [], off_machine(requests)
    assert [url for url in requests if not url.startswith("data:")] == [path.resolve().as_uri()]

    png, phone = look(path, tmp_path / "phone", width=390, ready=LOADED, mobile=True)
    (tmp_path / "phone.png").write_bytes(png)
    assert phone["viewport"] == 390 and phone["width"] <= 390 and phone["wider"] == [], phone["wider"]
    assert len(phone["images"]) == count and all(0 < box["w"] <= 390 for box in phone["images"])
    for box in phone["images"]:
        assert ink(png, box)["ink"] > 0.02, box
