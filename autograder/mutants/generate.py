"""The mutants of a reference module, made by cosmic-ray's mutation operators.

cosmic-ray (https://cosmic-ray.readthedocs.io) is used as a library: its core operators (binary, comparison
and unary operator replacement, number +1/-1, True/False, and/or, ``not`` added, break/continue, exception
replacement, a ``for`` loop that never runs, a decorator removed), its way of counting an operator's
positions in a module (``occurrence``, as its ``init`` command numbers work items) and its ``mutate_code``
to apply one. Grading is ours (:mod:`.run`): cosmic-ray's own runner tests a mutant by rewriting the file in
place and running one shell command, where each mutant here is a separate submission graded in the sandbox.

Why not mutmut (3.x), the other engine evaluated: it does not write one mutant per file. It compiles every
mutant of a function into one "trampoline" module that picks the live mutant from an environment variable, in
the test process, with ``mutmut`` importable there; our student code runs in a sandboxed worker that gets no
grader environment variable and must be a plain module, as a student's would be. Its per-mutation API
(``mutmut.mutation.file_mutation.create_mutations``) is internal, reads mutmut's project configuration from the
working folder, and names no operator per mutation. cosmic-ray's operators and ``mutate_code`` are its
documented way to make a mutation (what its own workers call), with a name and an occurrence for each.

A mutant's identifier must survive edits elsewhere in the module (a reviewed equivalent mutant is listed by
it), so it holds no line number: the operator, the enclosing function, the mutated line's code (stripped,
without its comment) and ``nth``, its rank among the mutants sharing those three (left to right). It reads::

    core/ReplaceComparisonOperator_GtE_Gt sigmoid "return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))" 0
"""
from __future__ import annotations

import difflib
import io
import json
import random
import tokenize
from dataclasses import dataclass

from dlcourse.chapters import Chapter

from ..kit import Kit
from .scope import Scope, chapter_scope

CORE = "core/"  # cosmic-ray's own operator provider; other installed providers are left out (reproducibility)


@dataclass(frozen=True)
class Mutant:
    """One mutation of a chapter's reference module (apply it with :meth:`ChapterMutants.apply`)."""

    operator: str  # cosmic-ray's name, e.g. "core/ReplaceBinaryOperator_Add_Sub"
    occurrence: int  # cosmic-ray's index of this position among the operator's positions in the module
    function: str  # the enclosing function or class ("<module>" at top level)
    line: str  # the mutated line's code, stripped, without its comment
    nth: int  # rank among the mutants with the same operator, function and line
    lineno: int  # where it is today (not part of the identifier)

    @property
    def ident(self) -> str:
        return f"{self.operator} {self.function} {json.dumps(self.line)} {self.nth}"


@dataclass
class ChapterMutants:
    """Every mutant of the chapter's solution regions, in module order, and what was left out."""

    chapter: Chapter
    text: str  # the reference module
    label: str  # its path in the kit, for diffs
    mutants: list[Mutant]
    outside_regions: int  # mutation positions outside the solution regions (not mutants)
    skipped: int  # positions excluded by '# mutants: skip'
    warnings: list[str]

    def sample(self, limit: int | None, seed: int) -> list[Mutant]:
        """At most ``limit`` mutants, drawn by a generator seeded with ``seed`` and the chapter, kept in module
        order: the same kit, seed and limit give the same mutants on every machine."""
        if limit is None or limit >= len(self.mutants):
            return list(self.mutants)
        rng = random.Random(f"{seed}:{self.chapter.name}")
        return [self.mutants[i] for i in sorted(rng.sample(range(len(self.mutants)), limit))]

    def apply(self, mutant: Mutant) -> str:
        """The mutated module, by cosmic-ray's ``mutate_code`` (only for the mutants graded: parsing the module
        once per mutant is what costs)."""
        from cosmic_ray.mutating import mutate_code

        mutated = mutate_code(self.text, _operator(mutant.operator), mutant.occurrence)
        if mutated is None:  # cannot happen for a position cosmic-ray listed itself
            raise RuntimeError(f"cosmic-ray made no mutation for {mutant.ident}")
        return mutated

    def diff(self, mutated: str) -> str:
        return diff_of(self.text, mutated, self.label)


def _operators():
    """cosmic-ray's core operators that need no arguments, as ``(name, instance)`` in its own order.

    The two that take arguments (VariableReplacer, VariableInserter) need variable names from a
    configuration and insert random numbers: not reproducible, so not used."""
    import cosmic_ray.plugins

    for name in cosmic_ray.plugins.operator_names():
        if name.startswith(CORE):
            cls = cosmic_ray.plugins.get_operator(name)
            if not cls.arguments():
                yield name, cls()


def _operator(name: str):
    import cosmic_ray.plugins

    return cosmic_ray.plugins.get_operator(name)()


def _code_lines(text: str) -> list[str]:
    """Each line's code, stripped, without its comment (a comment edited later does not change identifiers)."""
    lines = text.splitlines()
    cut = {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
           if tok.type == tokenize.COMMENT}
    return [(line[: cut[no]] if no in cut else line).strip() for no, line in enumerate(lines, 1)]


def _definition(node) -> str:
    from cosmic_ray.ast.ast_query import ASTQuery

    return ASTQuery(node).get_definition_name() or "<module>"


def diff_of(original: str, mutated: str, label: str) -> str:
    """The changed line(s) as a unified diff without context (the hunk header says where)."""
    return "".join(difflib.unified_diff(original.splitlines(keepends=True), mutated.splitlines(keepends=True),
                                        fromfile=f"a/{label}", tofile=f"b/{label}", n=0))


def mutants_of(kit: Kit, chapter: Chapter) -> ChapterMutants:
    """All mutants of the chapter's reference module within its :class:`Scope`
    (:class:`.scope.ScopeError` when the module cannot be mutated)."""
    scope = chapter_scope(kit, chapter)
    return _mutants(scope, chapter, f"solutions/{chapter.name}/{chapter.module}.py")


def _mutants(scope: Scope, chapter: Chapter, label: str) -> ChapterMutants:
    from cosmic_ray.ast import ast_nodes, get_ast

    text = scope.text
    code = _code_lines(text)
    nodes = list(ast_nodes(get_ast(text)))  # operators only look at the tree to list positions: parse once
    found: list[tuple[tuple, str, int, str]] = []
    outside = skipped = 0
    for name, operator in _operators():
        positions = ((node, start) for node in nodes for start, _ in operator.mutation_positions(node))
        for occurrence, (node, (line, col)) in enumerate(positions):
            if line not in scope.regions:
                outside += 1
            elif not scope.allows(line):
                skipped += 1
            else:
                found.append(((line, col, name), name, occurrence, _definition(node)))
    found.sort(key=lambda f: f[0])
    seen: dict[tuple[str, str, str], int] = {}
    mutants = []
    for (line, _, _), name, occurrence, function in found:
        key = (name, function, code[line - 1])
        nth = seen[key] = seen.get(key, -1) + 1
        mutants.append(Mutant(name, occurrence, function, code[line - 1], nth, line))
    return ChapterMutants(chapter, text, label, mutants, outside, skipped, list(scope.warnings))
