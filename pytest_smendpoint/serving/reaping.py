"""Everything a model's code starts ends with the model process, `setsid` children included.

A child that calls setsid (or double-forks) leaves the model process's group, so killpg misses
it, and when its parent dies it is reparented to init and lives on. The model process therefore
makes itself a child subreaper (PR_SET_CHILD_SUBREAPER): orphans below it are reparented to it,
so its descendants, found through /proc, are everything its code started. Runs in the model
process (Python 3.9+) and in the test process; Linux only, a no-op elsewhere."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt the orphans of this process's descendants; False where the kernel cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, int]:
    """{pid: ppid} of every process we can read."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: read after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = int(fields[1])
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` now, nearest first."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    below: list[int] = []
    frontier = [pid]
    while frontier:
        nxt: list[int] = []
        for parent in frontier:
            nxt.extend(children.get(parent, []))
        below.extend(nxt)
        frontier = nxt
    return below


def kill_all(pids: list[int]) -> None:
    """SIGKILL each (gone already is fine)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def kill_descendants(pid: int) -> None:
    """SIGKILL everything below `pid` (repeated: a process may fork while we walk)."""
    for _ in range(3):
        found = descendants(pid)
        if not found:
            return
        kill_all(found)
