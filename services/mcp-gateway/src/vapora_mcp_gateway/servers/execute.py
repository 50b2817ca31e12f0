"""Run one command to completion or its timeout, keeping a bounded part of its output.

Output is streamed, never held whole: of each stream the first quarter of ``max_output_bytes``
and the last three quarters are kept (a test run's verdict is at its end), with a marker for what
was left out between them. A command past its timeout is killed with its whole process group
(and, in the sandbox, its PID namespace) and reported as ``timed_out``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

READ_CHUNK = 65_536
DRAIN_AFTER_KILL_S = 2.0
OMITTED = "\n[... {n} bytes left out by the runner ...]\n"


class Capture:
    """The head and the tail of a stream, at most ``limit`` bytes in memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._head_limit = limit // 4
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            tail_limit = self.limit - self._head_limit
            if len(self._tail) > tail_limit:
                del self._tail[: len(self._tail) - tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        if not self.truncated:
            return head + tail
        return head + OMITTED.format(n=self.total - len(self._head) - len(self._tail)) + tail


@dataclass(frozen=True, slots=True)
class Finished:
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout: Capture
    stderr: Capture


async def _pump(stream: asyncio.StreamReader | None, capture: Capture) -> None:
    if stream is None:
        return
    while chunk := await stream.read(READ_CHUNK):
        capture.feed(chunk)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, max_output_bytes: int) -> Finished:
    """Run ``argv`` (already wrapped by the isolation) and wait for it or its timeout."""
    out, err = Capture(max_output_bytes), Capture(max_output_bytes)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    pumps = asyncio.gather(_pump(proc.stdout, out), _pump(proc.stderr, err))
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_group(proc.pid)
        await proc.wait()
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        pumps.cancel()
        raise
    # A child that left the process group may still hold the pipes: wait for them a bounded time.
    left = timeout_s - (time.monotonic() - started)
    try:
        await asyncio.wait_for(pumps, DRAIN_AFTER_KILL_S if timed_out else max(DRAIN_AFTER_KILL_S, left))
    except TimeoutError:
        _kill_group(proc.pid)
    return Finished(
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_s=round(time.monotonic() - started, 3),
        stdout=out,
        stderr=err,
    )
