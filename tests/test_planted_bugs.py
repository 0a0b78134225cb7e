"""Planted student mistakes: each loses points in its own chapter only, with feedback that names it."""
import pytest

from .grading import ROOT, outputs, per_chapter, run_grade
from .planted import all_bugs, batches, make_submission

BATCHES = batches(all_bugs())


@pytest.mark.parametrize("batch", BATCHES, ids=[f"batch{k}" for k in range(len(BATCHES))])
def test_planted_bugs_lose_points_in_their_chapter_only(tmp_path, batch):
    sub = make_submission(ROOT / "solutions", tmp_path / "sub", batch)
    results, _ = run_grade(sub, tmp_path, "--seed", "7")
    scores = per_chapter(results)
    buggy = {bug.chapter: bug for bug in batch}
    problems = []
    for chapter, (got, top) in scores.items():
        if chapter in buggy:
            bug = buggy[chapter]
            if got >= top:
                problems.append(f"{bug}: the chapter still scored {got}/{top}")
            elif bug.expect not in outputs(results, chapter):
                problems.append(f"{bug}: no feedback mentions {bug.expect!r}:\n{outputs(results, chapter)[:1500]}")
        elif got < top:
            problems.append(f"chapter {chapter} has no bug in this batch but scored {got}/{top}:\n"
                            f"{outputs(results, chapter)[:800]}")
    assert not problems, "\n".join(problems)


def test_every_chapter_has_two_planted_bugs():
    from dlcourse.chapters import list_chapters

    counts = {c.number: 0 for c in list_chapters(ROOT / "source")}
    for bug in all_bugs():
        counts[bug.chapter] += 1
    assert all(n >= 2 for n in counts.values()), counts
