"""``nbformat`` without the second that jsonschema's optional IRI checker costs when imported.

jsonschema adds a checker for the ``"iri"`` string format when ``rfc3987_syntax`` is installed (Jupyter's
``jsonschema[format-nongpl]`` extra brings it), and that package compiles a grammar as it is imported: 1.18 s of
the 1.27 s ``import nbformat`` took here, paid by every `dlcourse release`, `build` and `lesson`. The notebook
schema has no ``"iri"`` field, so the kit's own processes leave that checker out.
"""
from __future__ import annotations

import sys


def nbformat():
    """The ``nbformat`` module, imported without ``rfc3987_syntax``.

    Call it before anything else imports jsonschema (nbformat, nbgrader, nbclient); once jsonschema is loaded it
    changes nothing. Raises ImportError when nbformat is not installed.
    """
    if "jsonschema" not in sys.modules:
        # None in sys.modules makes that import fail: jsonschema then registers no IRI checker.
        sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat as module

    return module
