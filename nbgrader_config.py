"""nbgrader's configuration: the kit is an nbgrader course whose assignments are its chapters.

Run nbgrader from this folder as for any course (one assignment per chapter, one notebook each):

    nbgrader generate_assignment ch1_3_sigmoid      # source notebook -> release + gradebook entry
    nbgrader autograde ch1_3_sigmoid                # submitted/<student>/ch1_3_sigmoid/sigmoid.ipynb
    nbgrader generate_feedback ch1_3_sigmoid
    nbgrader export                                 # grades.csv

``source/`` is the kit's hand-written source (master modules, tests, lessons), so nbgrader's source notebooks
are generated into the ignored ``build/nbgrader_source/``: loading this file regenerates them when a
chapter changed (``dlcourse build`` does too), so nbgrader works in a fresh clone. The release nbgrader
writes to ``build/release/`` is the same file as the committed ``exercises/<chapter>/<topic>.ipynb``.
Submissions, autograded notebooks, feedback and ``gradebook.db`` stay where nbgrader puts them by default
(they hold students' work and grades; .gitignore keeps them out of the repository).
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
# This folder is the kit the course grades with (source/, solutions/, autograder/): the TrustedGrades
# preprocessor below grades with its suites, whichever checkout the grader is installed from.
os.environ.setdefault("DLCOURSE_KIT", _here)

c = get_config()  # noqa: F821 - provided by nbgrader's config loader

c.CourseDirectory.root = _here
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.source_directory = os.path.join("build", "nbgrader_source")
c.CourseDirectory.release_directory = os.path.join("build", "release")
c.CourseDirectory.solution_directory = os.path.join("build", "nbgrader_solution")
# Everything nbgrader copies besides the notebook: the chapter's visible tests (the test cell runs them at home).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*.tmp"]

# A test cell grades a whole chapter (seconds; the capstone chapters train a network): the default 30 s per
# cell is too short. The grader's own limit per chapter is `dlcourse grade --timeout` (60 s).
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# Once a notebook has run, its outputs are collected: kill its kernel rather than wait for a polite shutdown, which
# sometimes took 3 s (autograding the 21 solution notebooks: 95.6 s, killed 86.5 s, on 2 cores).
c.Execute.shutdown_kernel = "immediate"

# Scores come from the grader process, not from the student's kernel (see dlcourse/nbgrader_course.py).
try:
    from autograder.nbgrader_course import PrivateSocketExecute, TrustedGrades
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    _pps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    # The kernel on Unix sockets (no TCP port race with another course or test), then the trusted scores.
    _i = _pps.index(Execute)
    _pps[_i:_i + 1] = [PrivateSocketExecute, TrustedGrades]
    c.Autograde.autograde_preprocessors = _pps
    c.TrustedGrades.seed = int(os.environ.get("DLCOURSE_SEED", "0"))
except ImportError as _exc:  # pragma: no cover - the kit is not installed: scores come from the kernel
    print(f"nbgrader_config.py: the grader is not importable ({_exc}); "
          "pip install -e ./runtime -e '.[instructor]'", file=sys.stderr)

# nbgrader's source notebooks, made from source/ (only files whose content changed are rewritten; skipped in
# milliseconds when build/nbgrader_source.stamp shows nothing changed: nbgrader loads this file three times).
try:
    from pathlib import Path

    from autograder.build import nbgrader_sources

    nbgrader_sources(Path(_here))
except Exception as _exc:  # noqa: BLE001 - a chapter being edited must not break every nbgrader command
    print(f"nbgrader_config.py: could not refresh build/nbgrader_source: {_exc}", file=sys.stderr)
