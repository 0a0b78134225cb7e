"""``dlcourse mutants``: how many plausible mistakes in a chapter's code do its suites catch?

Each chapter's reference module (``solutions/<chapter>/<topic>.py``) is mutated one small change at a time
(``a + b`` to ``a - b``, ``>=`` to ``>``, ``1`` to ``2``, ...) and every mutant is graded like a submission of
that chapter alone, visible and hidden suites in the sandbox. Anything below full marks kills the mutant; a
mutant that scores full marks survived: a student could have written it and lost no point.

* :mod:`.scope`: which lines are mutated (the solution regions of the master, minus ``# mutants: skip``);
* :mod:`.generate`: the mutants, made by cosmic-ray's operators, each with a stable identifier and its diff;
* :mod:`.equivalent`: the reviewed equivalent mutants (``autograder/<chapter>/equivalent_mutants.txt``);
* :mod:`.run`: grading the mutants in a process pool, the per-chapter results;
* :mod:`.report`: the text report and the JSON.
"""
