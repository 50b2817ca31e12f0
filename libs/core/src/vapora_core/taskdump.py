"""What a process is waiting on: every asyncio task's stack, as text (SIGUSR1 logs it).

A thread dump (py-spy, faulthandler) of an asyncio service shows the event loop in ``select``
and nothing of the coroutines parked behind it. This lists each task of the running loop with
its name, what it runs, and the frames it is suspended in (innermost last), so a job that waits
on a call that never returns names that call. :mod:`vapora_core.lifecycle` logs it on SIGUSR1
(``kill -USR1 <pid>``; docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("vapora.tasks")

FRAMES = 12  # the innermost frames shown per task (a longer chain says how many outer ones it left out)
DEPTH = 256  # how far down a chain is followed


def dump_tasks(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """Every task of ``loop`` (default: the running one): name, coroutine, and the chain of
    coroutines it awaits down to what it is parked on (a future, a sleep, a lock)."""
    tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())
    lines = [f"{len(tasks)} asyncio tasks"]
    for task in tasks:
        coro = task.get_coro()
        lines.append(f"- {task.get_name()}: {getattr(coro, '__qualname__', type(coro).__name__)}")
        lines.extend(f"    {where}" for where in awaiting(coro))
    return "\n".join(lines)


def awaiting(coro: object) -> list[str]:
    """``coro``'s frame and those of what it awaits, outermost first (asyncio's own
    ``Task.get_stack`` stops at the first: a suspended coroutine's frame has no ``f_back``)."""
    out: list[str] = []
    node: object = coro
    while node is not None and len(out) < DEPTH:
        frame = _first(node, ("cr_frame", "gi_frame", "ag_frame"))
        if frame is None:  # a future (or something else awaitable): what the chain is parked on
            out.append(f"waiting on {node!r}"[:300])
            break
        out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        node = _first(node, ("cr_await", "gi_yieldfrom", "ag_await"))
    if len(out) > FRAMES:
        return [f"({len(out) - FRAMES} outer frames left out)", *out[-FRAMES:]]
    return out


def _first(node: object, attributes: tuple[str, ...]) -> Any:
    """The first of ``attributes`` that ``node`` has and is set (coroutine, generator, async generator)."""
    return next((getattr(node, a) for a in attributes if getattr(node, a, None) is not None), None)


def log_tasks() -> None:
    log.warning("%s", dump_tasks())
