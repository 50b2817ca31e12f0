"""CPU time of the processes a bench phase ran on (Linux ``/proc``)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int, thread: int | None = None) -> float | None:
    """User + system CPU time of process ``pid`` so far, or of its thread ``thread`` (its main
    thread: ``pid`` itself) (Linux /proc; None elsewhere)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_task(pids: dict[str, int], before: dict[str, float | None], n: int) -> dict[str, float]:
    """CPU seconds per task each process spent since ``before`` (those that /proc can tell)."""
    spent: dict[str, float] = {}
    for name, pid in pids.items():
        after, was = cpu_seconds(pid), before[name]
        if after is not None and was is not None:
            spent[name] = (after - was) / n
    return spent
