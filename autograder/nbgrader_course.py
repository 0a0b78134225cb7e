"""The kit as an nbgrader course: the preprocessor that puts the grader's scores into autograded notebooks.

``nbgrader autograde`` runs a submitted notebook in a kernel, and the test cells in that kernel call
:func:`dlcourse.notebook.visible_tests` / ``hidden_tests``. A kernel that has run student code cannot be
trusted to report its own score (the student's cells run first and could replace those functions), so
``nbgrader_config.py`` adds :class:`TrustedGrades` right after nbgrader's ``Execute``: in nbgrader's own
process it turns the notebook's cells into the chapter's module (the rule of :mod:`dlcourse.nbmodule`, on
the cells as nbgrader restored them), grades it with the grading engine of ``dlcourse grade`` (the same
suites, sandbox and seed as any submission), and writes the result into the two test cells: the per-test
summary as their printed output, the points as their value, which nbgrader's partial credit reads. The
kernel's test cells only print a placeholder while this preprocessor is active.
"""
from __future__ import annotations

import os
import time

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer

from dlcourse.chapters import Chapter, ChapterError
from dlcourse.kernel import PrivateSocketKernelManager
from dlcourse.nbmodule import chapter_names, module_code, python_source
from dlcourse.notebook import TRUSTED_ENV, summary

from .engine import find_kit, grade_module

TEST_CELLS = {"visible_tests": "visible", "hidden_tests": "hidden"}


class PrivateSocketExecute(Execute):
    """nbgrader's ``Execute`` with its kernel on Unix sockets of its own (:mod:`dlcourse.kernel`): two courses
    autograding at once cannot take each other's TCP ports. Configured as ``Execute`` is (``c.Execute.timeout``);
    nbgrader passes its own kernel manager class, so the class is chosen here rather than in the config."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", PrivateSocketKernelManager)
        super().__init__(*args, **kwargs)


class TrustedGrades(NbGraderPreprocessor):
    """Score the chapter's test cells with ``dlcourse grade``, outside the student's kernel."""

    seed = Integer(0, help="seed of the hidden suites' random inputs (as `dlcourse grade --seed`)").tag(config=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        # Inherited by the kernel nbgrader starts next: its test cells leave the scoring to this preprocessor.
        os.environ[TRUSTED_ENV] = "1"

    def preprocess(self, nb, resources):
        try:
            chapter = Chapter.from_name(resources["nbgrader"]["assignment"])
        except (ChapterError, KeyError):
            return nb, resources  # not one of the kit's chapters: leave it to nbgrader
        kit = find_kit()
        if not kit.master(chapter).is_file():
            return nb, resources
        cells = [python_source(c.source) for c in nb.cells if c.cell_type == "code"]
        code = module_code(cells, chapter.topic, chapter_names(kit.master(chapter).read_text()))
        start = time.monotonic()
        try:
            results = grade_module(chapter, code.source, self.seed, kit)
            self.log.info("Graded %s with the kit's suites in %.1f s: %g of %g points", chapter.name,
                          time.monotonic() - start, sum(r.score for r in results), sum(r.max_score for r in results))
            skipped = [r for r in results if r.status == "skipped"]
            if skipped:  # a package this machine lacks: nbgrader still counts the cells' points, as 0
                self.log.warning("%s was not graded on this machine (%s): install it and autograde again",
                                 chapter.name, skipped[0].message)
        except Exception as exc:  # noqa: BLE001 - one notebook's failure must not stop the others
            self.log.error("grading %s failed: %s", chapter.name, exc)
            results = None
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type != "code" or grade_id not in TEST_CELLS:
                continue
            kind = TEST_CELLS[grade_id]
            title = f"{kind.capitalize()} tests of chapter {chapter.number} {chapter.topic}"
            if results is None:
                text, points = f"{title}: the grader could not run; see the instructor", 0.0
            else:
                text, points = summary([r for r in results if r.hidden == (kind == "hidden")], title)
            if code.notes and kind == "visible":
                text = "\n".join(f"note: {n}" for n in code.notes) + "\n" + text
            count = cell.get("execution_count")
            cell.outputs = [new_output("stream", name="stdout", text=text + "\n"),
                            new_output("execute_result", data={"text/plain": repr(points)}, execution_count=count)]
        return nb, resources
