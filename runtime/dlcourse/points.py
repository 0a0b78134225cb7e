"""A pytest suite's maximum points, read from its source (``@pytest.mark.points`` times parametrize cases).

The same number whatever this machine has installed: the notebook build writes it into nbgrader's test cells,
and the grader counts it for a suite skipped for a missing package (scored 0), so the two always agree.
"""
from __future__ import annotations

import ast
from pathlib import Path


class _Unresolved(Exception):
    pass


def _literal(node, consts):
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, (ast.List, ast.Tuple)):  # e.g. [pytest.param(...), ...]: only the length matters
        return [None] * len(node.elts)
    raise _Unresolved


def _mark(dec, name):
    """The call node of ``@pytest.mark.<name>(...)``, or None."""
    if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == name:
        inner = dec.func.value
        if isinstance(inner, ast.Attribute) and inner.attr == "mark":
            return dec
    return None


def suite_points(path: Path, collect: bool = True) -> float:
    """Maximum points of a pytest suite (``@pytest.mark.points``, parametrize counted), read statically.

    Static so that the number does not depend on what this machine has installed (a suite skipped for a
    missing package still has its points in the notebook, and the grader counts them, as 0). Falls back to
    pytest's collection when a parametrize list is computed rather than written out (``collect=False``: to 0).
    """
    text = path.read_text()
    tree = ast.parse(text, filename=str(path))
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = _literal(node.value, consts)
            except _Unresolved:
                pass
    total = 0.0
    try:
        for node in tree.body:
            if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")):
                continue
            points, count = 1.0, 1
            for dec in node.decorator_list:
                if (call := _mark(dec, "points")) is not None:
                    points = float(_literal(call.args[0], consts))
                elif (call := _mark(dec, "parametrize")) is not None:
                    values = call.args[1] if len(call.args) > 1 else next(
                        k.value for k in call.keywords if k.arg == "argvalues")
                    count *= len(_literal(values, consts))
            total += points * count
    except (_Unresolved, StopIteration, TypeError, IndexError):
        return _collected_points(path) if collect else 0.0
    return total


def _collected_points(path: Path) -> float:
    from . import testrun

    class Count:
        total = 0.0

        def pytest_collection_modifyitems(self, items):
            self.total += sum(dict(item.user_properties).get(testrun.POINTS, 1.0) for item in items)

    counter = Count()
    testrun.run([path], counter, extra=("--collect-only",))
    return counter.total
