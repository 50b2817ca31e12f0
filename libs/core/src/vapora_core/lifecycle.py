"""Process lifecycle: logging and tracing set up, signals, readiness, graceful stop.

``__main__`` of every service is three lines: build settings, build the app, ``run`` it.

- SIGTERM / SIGINT: readiness drops, the app stops taking work and finishes or hands
  back what it holds (``App.stop``), then the process exits 0.
- SIGHUP: ``App.reload()`` (re-read config files), when the app has one.
- SIGUSR1: every asyncio task's stack in the log (:mod:`vapora_core.taskdump`).
- A start-up failure is logged with its message and the process exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from typing import Protocol

from vapora_core.errors import VaporaError
from vapora_core.logging import setup_logging
from vapora_core.metrics import OpsServer, Readiness
from vapora_core.settings import ServiceSettings
from vapora_core.taskdump import log_tasks
from vapora_core.telemetry import setup_tracing, shutdown_tracing

log = logging.getLogger("vapora.lifecycle")


class App(Protocol):
    readiness: Readiness

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Reloadable(Protocol):
    async def reload(self) -> None: ...


def setup_process(settings: ServiceSettings) -> None:
    setup_logging(settings.service_name, settings.log_level)
    setup_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint, traces_file=settings.traces_file)


def run(app: App, settings: ServiceSettings, *, ops_server: bool = True) -> None:
    """Run ``app`` until SIGTERM or SIGINT; exit with 1 if it cannot start."""
    setup_process(settings)
    code = asyncio.run(_main(app, settings, ops_server=ops_server))
    shutdown_tracing()
    sys.exit(code)


async def _main(app: App, settings: ServiceSettings, *, ops_server: bool) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    loop.add_signal_handler(signal.SIGUSR1, log_tasks)
    reload = getattr(app, "reload", None)
    reloads: set[asyncio.Task[None]] = set()
    if reload is not None:

        def on_hup() -> None:
            task = loop.create_task(_reload(app))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)

    ops = OpsServer(app.readiness, settings.metrics_host, settings.metrics_port) if ops_server else None
    try:
        if ops is not None:
            await ops.start()
        if not await _start_unless_stopped(app, stopping):
            log.info("%s stopped while starting", settings.service_name)
            await _stop(app, ops)
            return 0
    except VaporaError as exc:
        log.error("%s cannot start: %s", settings.service_name, exc)
        print(f"{settings.service_name}: cannot start: {exc}", file=sys.stderr)
        await _stop(app, ops)
        return 1
    except Exception as exc:
        log.exception("%s cannot start", settings.service_name)
        print(f"{settings.service_name}: cannot start: {exc!r}", file=sys.stderr)
        await _stop(app, ops)
        return 1
    tune_gc(settings.gc_young_threshold)
    app.readiness.set(True)
    log.info("%s started", settings.service_name, extra={"metrics_port": ops.port if ops else None})
    await stopping.wait()
    log.info("%s stopping", settings.service_name)
    app.readiness.set(False)
    try:
        await asyncio.wait_for(app.stop(), timeout=settings.shutdown_grace_s + 5)
    except TimeoutError:
        log.error("%s did not stop within %.0fs", settings.service_name, settings.shutdown_grace_s + 5)
    if ops is not None:
        await ops.stop()
    log.info("%s stopped", settings.service_name)
    return 0


MIDDLE_COLLECTIONS = 20  # young collections per middle-generation one (Python: 10)
FULL_COLLECTIONS = 100  # middle collections per full one (Python: 10); a full one pauses the loop longest


def tune_gc(young_threshold: int) -> None:
    """Collect garbage less often than Python does by default, and never rescan what start-up built.

    A service allocates many short-lived containers per message (futures, dicts, headers).
    With Python's default (a young collection every 700 allocations, and a full one every
    100 young ones) the full collections re-walk every long-lived object — agents, profiles,
    caches — and stall the event loop, which shows in the coordinator's throughput and p99
    (bench/bench_coordinator.py). Cycles are still collected.
    """
    gc.collect()
    gc.freeze()  # what start-up built lives as long as the process: out of every collection
    if young_threshold > 0:
        gc.set_threshold(young_threshold, MIDDLE_COLLECTIONS, FULL_COLLECTIONS)


async def _start_unless_stopped(app: App, stopping: asyncio.Event) -> bool:
    """``app.start()``, abandoned when SIGTERM arrives first (e.g. while a dependency is down)."""
    start = asyncio.ensure_future(app.start())
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
    if start.done():
        stop.cancel()
        start.result()
        return True
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await start
    return False


async def _reload(app: object) -> None:
    try:
        await app.reload()  # type: ignore[attr-defined]
        log.info("reloaded configuration")
    except Exception as exc:
        log.error("reload failed, keeping the previous configuration: %s", exc)


async def _stop(app: App, ops: OpsServer | None) -> None:
    with contextlib.suppress(Exception):
        await app.stop()
    if ops is not None:
        await ops.stop()
