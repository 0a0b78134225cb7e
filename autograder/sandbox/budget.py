"""The clock a chapter's time budget runs on: the worker's own time, not the machine's load.

A grading machine is often busy with other work: a course's CI runs other jobs, a gradebook grades several
students at once, a cluster worker shares its cores. On plain wall-clock time a student is charged for the
moments their code was ready to run while the machine ran something else, and a correct submission runs out of
budget on a crowded machine (the reference's capstone chapter did in the kit's own CI, at 3-4 times its 17 s).

So a wait on the worker is charged its wall-clock time less the time the worker's process spent runnable but
waiting for a CPU, which Linux keeps per process (``/proc/PID/schedstat``, second field, in ns). Time the
student's code computes, sleeps or waits on its own children is charged in full: an endless loop or a long
sleep uses the budget up as fast as on an idle machine. Linux adds a wait for a CPU when the process next
runs, so a wait still under way is charged until then (scheduler slices: milliseconds). Where schedstat
cannot be read (not Linux), the budget is plain wall-clock time.

The wall-clock time waited is capped as well, at ``WALL_FACTOR`` times the budget: a submission that crowds its
own worker out with busy processes of its own cannot stretch its chapter's grading without end.
"""
from __future__ import annotations

import contextlib
import os
import time

# A chapter's waits may take at most this many times its budget in wall-clock time. The reference's heaviest
# chapter (4.6) uses 17 of its 60 s idle: it meets the cap at ten times its idle time, on a machine crowded
# far beyond the 3-4 times seen in CI.
WALL_FACTOR = 3.0


class _RunQueue:
    """Seconds the process ``pid`` has waited for a CPU, as Linux counts them; 0 where it cannot be read."""

    def __init__(self, pid: int | None):
        self.path = f"/proc/{pid}/schedstat" if pid is not None and os.path.exists("/proc/self/schedstat") else None
        self.last = 0.0

    def seconds(self) -> float:
        if self.path is not None:
            try:
                with open(self.path) as fh:
                    self.last = int(fh.read().split()[1]) / 1e9
            except (OSError, ValueError, IndexError):  # the process is gone: its last reading stands
                self.path = None
        return self.last


class BudgetClock:
    """A chapter's time budget of ``seconds``: the waits on its workers, charged as the module says."""

    def __init__(self, seconds: float, wall_factor: float = WALL_FACTOR):
        self.seconds, self.wall_limit = seconds, wall_factor * seconds
        self.used = 0.0    # seconds charged
        self.waited = 0.0  # wall-clock seconds waited

    def spent(self) -> str | None:
        """Why the chapter may not wait on a worker any more, or None while it may."""
        if self.used >= self.seconds:
            return f"the chapter's time budget of {self.seconds:g} s is used up"
        if self.waited >= self.wall_limit:
            return (f"the chapter's code has taken {self.wall_limit:g} s of wall-clock time, the most its "
                    f"{self.seconds:g} s budget allows on a busy machine")
        return None

    @contextlib.contextmanager
    def waiting(self, pid: int | None, limit: float | None = None):
        """One wait on the worker process ``pid`` (None: not known yet, charged at wall-clock time). Yields a
        function giving the wait's deadline in ``time.monotonic()`` seconds, which moves later while the worker
        waits for a CPU. ``limit``: the most this one wait may be charged (a call's own time limit). Whatever
        ends the wait (a reply, a timeout, the worker's death), its charge is added on the way out."""
        queue = _RunQueue(pid)
        start, queued = time.monotonic(), queue.seconds()

        def charged(now: float) -> float:
            return max(0.0, now - start - (queue.seconds() - queued))

        def deadline() -> float:
            now = time.monotonic()
            so_far = charged(now)
            left = self.seconds - self.used - so_far
            if limit is not None:
                left = min(left, limit - so_far)
            return now + min(left, self.wall_limit - self.waited - (now - start))

        try:
            yield deadline
        finally:
            now = time.monotonic()
            self.used += charged(now)
            self.waited += now - start
