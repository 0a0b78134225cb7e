"""``dlcourse lesson 1.3``: a chapter's notebook as one HTML page, its figures and formulas shown offline.

A student renders their own notebook (run top to bottom first, so their plots are in it); an instructor's kit
renders the solution notebook with ``--solutions``. MathJax comes from the local copy that
``jupyter-server-mathjax`` installs (in the ``notebook`` extra), never from a CDN; nbconvert and nbclient (which
JupyterLab brings) turn the notebook into the page and run it.
"""
from __future__ import annotations

import copy
from pathlib import Path

MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({MMLorHTML: {prefer: "HTML"},
                   "HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web",
                                imageFont: null}});
</script>
"""


NO_REQUIREJS = "dlcourse:no-require-js"  # a marker for the script tag that is taken out of the page


class LessonError(Exception):
    """A page that cannot be made; the message is one line saying what to install or fix."""


def local_mathjax() -> Path | None:
    """MathJax 2's ``MathJax.js`` from the ``jupyter-server-mathjax`` package, if it is installed."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    path = Path(jupyter_server_mathjax.__file__).resolve().parent / "static" / "MathJax.js"
    return path if path.is_file() else None


def lesson_html(nb, mathjax_url: str | None = None) -> str:
    """A notebook as one HTML page (nbconvert's HTMLExporter) whose formulas render without internet.

    MathJax is loaded from the local copy that ``jupyter-server-mathjax`` installs (MathJax 2, its full TeX
    configuration), told to use its HTML-CSS output rather than the browser's MathML, with the STIX-Web fonts
    (the only ones that package ships). ``mathjax_url`` overrides that, e.g. with a CDN for a page published on
    the web; without either, :class:`LessonError` (nbconvert would fetch MathJax from a CDN).
    """
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        raise LessonError("rendering a notebook needs nbconvert: pip install -e '.[notebook]'") from None
    local = None if mathjax_url else local_mathjax()
    if local is None and mathjax_url is None:
        raise LessonError("the formulas need MathJax, and no local copy is installed: "
                          "pip install -e '.[notebook]' (jupyter-server-mathjax)")
    url = mathjax_url or local.as_uri() + "?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    # Nothing else from a CDN: nbconvert's template loads require.js (for widgets) from one, and the widget
    # state an executed notebook keeps (tqdm's bars) would load the widget manager from another. A static page
    # needs neither.
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    html, _ = HTMLExporter(mathjax_url=url, require_js_url=NO_REQUIREJS).from_notebook_node(nb)
    html = html.replace(f'<script src="{NO_REQUIREJS}"></script>', "")
    if local is not None:
        html = html.replace("<!-- Load mathjax -->", MATHJAX_CONFIG + "<!-- Load mathjax -->", 1)
    return html


def execute(nb, folder: Path, timeout: float = 600, allow_errors: bool = False):
    """Run a notebook top to bottom in ``folder`` (nbclient); raises on the first failing cell unless
    ``allow_errors`` (then the error is the cell's output and the next cells run)."""
    from .quick_nbformat import nbformat

    nbformat()  # before nbclient imports it
    from nbclient import NotebookClient

    from .kernel import PrivateSocketKernelManager

    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors, shutdown_kernel=SHUTDOWN,
                   kernel_manager_class=PrivateSocketKernelManager,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


# Once the last cell has run, its outputs are in the notebook: the kernel is killed, not asked to shut down. A polite
# shutdown waited up to 3 s for the kernel to exit, 1 time in 10 here (10 one-cell notebooks: 16.4 s, killed 11.8 s).
# nbgrader_config.py asks the same of nbgrader's autograde.
SHUTDOWN = "immediate"
