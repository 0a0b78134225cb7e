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

The wall-clock time waited is capped as well, at ``WALL_FACTOR`` times the budget (and a call's own time limit,
charged the same way, at ``WALL_FACTOR`` times that limit): a submission that crowds its own worker out with
busy processes of its own cannot stretch its chapter's grading without end.
"""
from __future__ import annotations

import contextlib
import time

# A chapter's waits may take at most this many times its budget in wall-clock time. The reference's heaviest
# chapter (4.6) uses 17 of its 60 s idle: it meets the cap at ten times its idle time, on a machine crowded
# far beyond the 3-4 times seen in CI.
WALL_FACTOR = 3.0


def _run_queue_seconds(pid: int) -> float | None:
    """Seconds the process ``pid`` has waited for a CPU since it started, as Linux counts them; None where that
    cannot be read (the process is gone, or the system keeps no such count)."""
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class _Wait:
    """One wait on a worker: how much of it the clock charges, and until when it may last."""

    def __init__(self, clock: "BudgetClock", pid: int | None, limit: float | None):
        self.clock, self.limit, self.start = clock, limit, time.monotonic()
        self.queued: dict[int, float] = {}  # pid -> its run-queue seconds when the wait began (or it was born)
        self.last: dict[int, float] = {}    # pid -> its latest reading (a process that is gone keeps it)
        self.total = self.wall = 0.0        # once the wait has ended: its charge and its wall-clock seconds
        if pid is not None:
            self.watch(pid)

    def watch(self, pid: int, born_here: bool = False) -> None:
        """Leave out ``pid``'s waits for a CPU from now on, or all of them if it was ``born_here`` (during this
        wait: the worker's processes, while it starts)."""
        if pid not in self.queued:
            now = _run_queue_seconds(pid)
            if now is not None:
                self.queued[pid] = 0.0 if born_here else now
                self.last[pid] = now

    def charged(self, now: float) -> float:
        for pid in self.queued:
            reading = _run_queue_seconds(pid)
            if reading is not None:
                self.last[pid] = reading
        queued = sum(self.last[pid] - self.queued[pid] for pid in self.queued)
        return max(0.0, now - self.start - queued)

    def deadline(self) -> float:
        """When the wait must end, in ``time.monotonic()`` seconds, as far as is known now."""
        now, clock = time.monotonic(), self.clock
        so_far = self.charged(now)
        left = clock.seconds - clock.used - so_far
        wall_left = clock.wall_limit - clock.waited - (now - self.start)
        if self.limit is not None:
            left = min(left, self.limit - so_far)
            wall_left = min(wall_left, self.wall_cap - (now - self.start))
        return now + min(left, wall_left)

    @property
    def wall_cap(self) -> float | None:
        """The most wall-clock seconds the wait's own limit allows (``wall_factor`` times it); None without one."""
        return None if self.limit is None else self.clock.wall_factor * self.limit

    @property
    def capped(self) -> bool:
        """Once the wait has ended: its own limit stopped it by wall-clock time (``wall_cap``) before that limit
        was charged, as on a machine too busy to give the worker its CPU time."""
        return self.limit is not None and self.total < self.limit and self.wall >= self.wall_cap


class BudgetClock:
    """A chapter's time budget of ``seconds``: the waits on its workers, charged as the module says."""

    def __init__(self, seconds: float, wall_factor: float = WALL_FACTOR):
        self.seconds, self.wall_factor = seconds, wall_factor
        self.used = 0.0    # seconds charged
        self.waited = 0.0  # wall-clock seconds waited

    @property
    def wall_limit(self) -> float:
        """The most wall-clock time the chapter's waits may take, in seconds."""
        return self.wall_factor * self.seconds

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
        """One wait on the worker process ``pid`` (None: a worker still to start, whose processes the wait is
        told of with ``watch(pid, born_here=True)``). Yields the :class:`_Wait`; its ``deadline`` moves later
        while the worker waits for a CPU. ``limit``: the most this one wait may be charged (a call's own time
        limit; in wall-clock time at most ``wall_factor`` times that). Whatever ends the wait (a reply, a
        timeout, the worker's death), its charge is added on the way out."""
        wait = _Wait(self, pid, limit)
        try:
            yield wait
        finally:
            now = time.monotonic()
            wait.total, wait.wall = wait.charged(now), now - wait.start
            self.used += wait.total
            self.waited += wait.wall
