"""What ``dlcourse mutants`` prints and writes: a table per chapter, the survivors as diffs, the JSON."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .run import ChapterResult, MutantResult

WIDTH = 84


def _pct(score: float | None) -> str:
    return f"{100 * score:.1f}%" if score is not None else "-"


def table(results: list[ChapterResult], seconds: float) -> str:
    """One row per chapter: killed/total, equivalent, incompetent, timeouts, survivors, score, time."""
    head = f"{'chapter':<26}{'killed':>12}{'equiv':>7}{'incomp':>8}{'timeout':>9}{'survived':>10}{'score':>8}{'time':>9}"
    lines = [head, "-" * WIDTH]
    for r in results:
        name = f"{r.chapter.number} {r.chapter.topic}"
        if r.error:
            lines.append(f"{name:<26}  not tested: {r.error}"[:200])
            continue
        lines.append(f"{name:<26}{f'{r.killed}/{r.total}':>12}{len(r.equivalent):>7}{r.incompetent:>8}"
                     f"{r.timeouts:>9}{len(r.survived):>10}{_pct(r.score):>8}{r.seconds:>8.0f}s")
        if r.total < r.available:
            lines.append(f"    {r.total} of the {r.available} mutants graded (--max or --survivors): not a full run")
        if r.errors:
            lines.append(f"    ! {len(r.errors)} not graded: {r.errors[0].outcome.killed_by[:100]}")
    lines.append("-" * WIDTH)
    tested = [r for r in results if not r.error]
    killed, total = sum(r.killed for r in tested), sum(r.total for r in tested)
    equivalent, errors = sum(len(r.equivalent) for r in tested), sum(len(r.errors) for r in tested)
    score = killed / (total - equivalent - errors) if total - equivalent - errors > 0 else None
    lines.append(f"{'total':<26}{f'{killed}/{total}':>12}{equivalent:>7}{sum(r.incompetent for r in tested):>8}"
                 f"{sum(r.timeouts for r in tested):>9}{sum(len(r.survived) for r in tested):>10}{_pct(score):>8}"
                 f"{seconds:>8.0f}s")
    lines.append("score = killed / (total - equivalent); incompetent (does not compile or import) and timeouts "
                 "count as killed")
    return "\n".join(lines)


def survivors(results: list[ChapterResult]) -> str:
    """Each chapter's surviving mutants: the identifier (what equivalent_mutants.txt takes) and the diff."""
    blocks = []
    for r in results:
        if not r.survived:
            continue
        blocks.append(f"{r.chapter.number} {r.chapter.topic}: {len(r.survived)} survived (no test failed); if one is "
                      f"equivalent, add its first line and a reason to autograder/{r.chapter.name}/"
                      "equivalent_mutants.txt")
        for s in r.survived:
            blocks.append(f"  {s.mutant.ident}\n" + "".join(f"    {line}\n" for line in s.diff.splitlines()).rstrip())
    return "\n".join(blocks)


def warnings(results: list[ChapterResult]) -> str:
    return "\n".join(f"warning: {w}" for r in results for w in r.warnings)


def _mutant(m: MutantResult, diff: bool) -> dict:
    data = {"id": m.mutant.ident, "operator": m.mutant.operator, "function": m.mutant.function,
            "line": m.mutant.line, "nth": m.mutant.nth, "lineno": m.mutant.lineno, "status": m.outcome.status,
            "timeout": m.outcome.timeout, "score": m.outcome.score, "max_score": m.outcome.max_score,
            "seconds": round(m.outcome.seconds, 3)}
    if m.outcome.killed_by:
        data["killed_by"] = m.outcome.killed_by
    if m.listed_equivalent is not None:
        data["equivalent_reason"] = m.listed_equivalent
    if diff:
        data["diff"] = m.diff
    return data


def chapter_json(r: ChapterResult) -> dict:
    data = {"chapter": r.chapter.name, "error": r.error, "available": r.available,
            "excluded": {"outside_solution_regions": r.outside_regions, "skip_marker": r.skipped},
            "total": r.total, "killed": r.killed, "survived": [_mutant(m, True) for m in r.survived],
            "equivalent": [_mutant(m, True) for m in r.equivalent], "incompetent": r.incompetent,
            "timeouts": r.timeouts, "not_graded": [_mutant(m, False) for m in r.errors], "score": r.score,
            "seconds": round(r.seconds, 2), "warnings": r.warnings}
    if r.baseline is not None:
        data["reference"] = {"score": r.baseline.score, "max_score": r.baseline.max_score,
                             "seconds": round(r.baseline.seconds, 3)}
        data["budget_seconds"] = round(r.budget, 1)
    graded = [m.outcome.seconds for m in r.results if m.outcome.seconds]
    data["seconds_per_mutant"] = round(sum(graded) / len(graded), 3) if graded else None
    data["mutants"] = [_mutant(m, False) for m in r.results]
    return data


def to_json(results: list[ChapterResult], *, seconds: float, seed: int, limit: int | None, jobs: int,
            argv: list[str]) -> dict:
    """The whole run: when, where, with what; per chapter the counts, the survivors with their diffs."""
    from ..machine import environment

    env = environment(("numpy", "pytest", "cosmic-ray", "dlcourse", "dlcourse-grader"))
    tested = [r for r in results if not r.error]
    killed, total = sum(r.killed for r in tested), sum(r.total for r in tested)
    equivalent, errors = sum(len(r.equivalent) for r in tested), sum(len(r.errors) for r in tested)
    try:
        engine = f"cosmic-ray {version('cosmic-ray')}"
    except PackageNotFoundError:  # pragma: no cover - the tool cannot run without it
        engine = "cosmic-ray"
    return {
        **env,
        "command": "dlcourse " + " ".join(argv),
        "engine": engine,
        "seed": seed, "max": limit, "jobs": jobs,
        "seconds": round(seconds, 1),
        "summary": {"total": total, "killed": killed, "equivalent": equivalent,
                    "survived": sum(len(r.survived) for r in tested),
                    "incompetent": sum(r.incompetent for r in tested), "timeouts": sum(r.timeouts for r in tested),
                    "not_graded": errors,
                    "score": killed / (total - equivalent - errors) if total - equivalent - errors > 0 else None},
        "chapters": {r.chapter.number: chapter_json(r) for r in results},
    }
