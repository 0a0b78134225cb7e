"""A worker's processes, as the grader sees them in ``/proc`` (Linux; elsewhere only the worker's own PID)."""
from __future__ import annotations

import os


def _children() -> dict[int, list[int]]:
    """Every process's children (PID -> PIDs), read from /proc; {} where there is no /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return children
    for entry in entries:
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):  # gone meanwhile
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (a process started by the student's code and detached from its
    session is still below the worker: in the worker's PID namespace, orphans go to the worker)."""
    children = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def serving_pid(pid: int) -> int:
    """The process that runs the worker's code: ``pid`` itself, or the end of the chain of only children below
    it (``unshare --fork`` or a fork server's child holds the namespaces; the worker is its one child). Asked
    right after the worker starts, before any student code has run and could start processes of its own."""
    children = _children()
    while len(children.get(pid, [])) == 1:
        (pid,) = children[pid]
    return pid
