"""What bench_loop's processes spend: CPU per call from ``/proc``, and cProfile when asked.

Wall-clock figures on a shared machine move with its load; CPU per call hardly does. A
:class:`CpuMeter` adds up each process's CPU over the phases it is running for (the loop's
rounds, the direct calls' rounds), so the bench can say what a step costs each process.

With ``VAPORA_BENCH_PROFILE=<dir>`` the services run with ``bench/profile_hook`` on their
``PYTHONPATH`` (cProfile on their event loop, restarted after the warm-up, written at exit) and
the bench profiles its own loop phase, all in CPU time of the event loop's thread:
``<dir>/<name>.prof`` for pstats or snakeviz, ``<dir>/<name>.txt`` the functions by own time.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from coordinator_cpu import cpu_seconds
from prometheus_client.parser import text_string_to_metric_families

PROFILE_ENV = "VAPORA_BENCH_PROFILE"
CALL_TOOL = "/vapora.mcp.v1.McpGateway/CallTool"
HOOK_DIR = Path(__file__).resolve().parent / "profile_hook"
SELF = "bench (runtime, clients)"


def child(pid: int, command: str) -> int:
    """The process whose parent is ``pid`` and whose command line holds ``command`` (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and command in cmdline:
            return int(entry.name)
    return 0


class CpuMeter:
    """CPU seconds per process over the phases measured with :meth:`phase`; this process by
    ``time.process_time`` (every thread), the others by /proc."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.spent: dict[str, float] = dict.fromkeys([SELF, *pids], 0.0)

    @contextmanager
    def phase(self) -> Iterator[None]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        own = time.process_time()
        try:
            yield
        finally:
            self.spent[SELF] += time.process_time() - own
            for name, pid in self.pids.items():
                after, was = cpu_seconds(pid), before[name]
                if after is not None and was is not None:
                    self.spent[name] += after - was

    def per_call_us(self, calls: int) -> dict[str, float]:
        return {name: seconds / max(1, calls) * 1e6 for name, seconds in self.spent.items()}


class Profiles:
    """cProfile of the services (through the hook) and of this process's loop phase, if asked."""

    def __init__(self) -> None:
        directory = os.environ.get(PROFILE_ENV, "")
        self.dir = Path(directory).resolve() if directory else None
        self.own = cProfile.Profile(time.thread_time)

    def service_env(self, name: str) -> dict[str, str]:
        if self.dir is None:
            return {}
        self.dir.mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join(p for p in (str(HOOK_DIR), os.environ.get("PYTHONPATH", "")) if p)
        return {"PYTHONPATH": path, "VAPORA_BENCH_PROFILE_OUT": str(self.dir / f"{name}.prof")}

    def restart(self, pids: list[int]) -> None:
        """After the warm-up: the services' profiles start afresh."""
        if self.dir is not None:
            for pid in pids:
                os.kill(pid, signal.SIGUSR2)

    @contextmanager
    def measuring(self) -> Iterator[None]:
        if self.dir is None:
            yield
            return
        self.own.enable()
        try:
            yield
        finally:
            self.own.disable()

    def report(self, names: list[str], top: int = 25) -> None:
        """Write this process's stats and every profile's text; print where they are."""
        if self.dir is None:
            return
        self.own.dump_stats(self.dir / "bench.prof")
        for name in ["bench", *names]:
            prof = self.dir / f"{name}.prof"
            if not prof.exists():
                print(f"  no profile of {name} ({prof})")
                continue
            with (self.dir / f"{name}.txt").open("w") as out:
                pstats.Stats(str(prof), stream=out).sort_stats("tottime").print_stats(top * 4)
            print(f"  profile of {name}: {prof} ({name}.txt: by own time)")


class GatewayTimes:
    """Where a tool call's time goes inside mcp-gateway, from its own metrics: the seconds its gRPC
    handler took (``vapora_grpc_server_seconds`` of CallTool: decoding, identity, the call, its
    record) and the seconds of the MCP calls in them (``vapora_mcp_call_seconds``), summed between
    :meth:`mark` and :meth:`means`."""

    def __init__(self, ops_url: str) -> None:
        self.url = f"{ops_url}/metrics"
        self._start = (0.0, 0.0, 0.0, 0.0)

    async def _read(self) -> tuple[float, float, float, float]:
        async with httpx.AsyncClient() as client:
            text = (await client.get(self.url)).text
        value: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("method", CALL_TOOL) == CALL_TOOL:
                    value[sample.name] = value.get(sample.name, 0.0) + sample.value
        return (
            value.get("vapora_grpc_server_seconds_sum", 0.0),
            value.get("vapora_grpc_server_seconds_count", 0.0),
            value.get("vapora_mcp_call_seconds_sum", 0.0),
            value.get("vapora_mcp_call_seconds_count", 0.0),
        )

    async def mark(self) -> None:
        self._start = await self._read()

    async def means(self) -> tuple[float, float]:
        """(ms in the handler, ms in its MCP call), means per call since :meth:`mark`."""
        now = await self._read()
        handler_s, handlers, mcp_s, calls = (b - a for a, b in zip(self._start, now, strict=True))
        return handler_s / max(1.0, handlers) * 1000, mcp_s / max(1.0, calls) * 1000
