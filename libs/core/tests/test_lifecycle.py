"""Process lifecycle: readiness, SIGTERM during and after start, start-up failures."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import httpx

from vapora_core.lifecycle import FULL_COLLECTIONS, MIDDLE_COLLECTIONS, tune_gc
from vapora_core.metrics import OpsServer, Readiness
from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port
from vapora_testing.process import ready

APP = textwrap.dedent(
    """
    import asyncio, sys
    from vapora_core.bus import Bus
    from vapora_core.errors import ConfigError
    from vapora_core.lifecycle import run
    from vapora_core.metrics import Readiness
    from vapora_core.settings import ServiceSettings

    class App:
        readiness = Readiness("demo")
        def __init__(self, settings, mode):
            self.bus = Bus.from_settings(settings)
            self.mode = mode
        async def start(self):
            if self.mode == "bad-config":
                raise ConfigError("must be positive", source="demo.toml", field="workers")
            if self.mode == "nats":
                await self.bus.start()
        async def stop(self):
            print("stopped cleanly", flush=True)

    settings = ServiceSettings(service_name="demo")
    run(App(settings, sys.argv[1]), settings)
    """
)


def _spawn(mode: str, metrics_port: int, nats_url: str = "") -> subprocess.Popen[str]:
    env = dict(os.environ, VAPORA_METRICS_PORT=str(metrics_port), VAPORA_NATS_URL=nats_url or "nats://127.0.0.1:1")
    return subprocess.Popen(
        [sys.executable, "-c", APP, mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_ready_then_sigterm_stops_the_app_and_exits_zero() -> None:
    port = free_port()
    proc = _spawn("idle", port)
    try:
        eventually_sync(lambda: ready(port), timeout=30, what="readiness")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "stopped cleanly" in out


def test_sigterm_while_waiting_for_an_unreachable_dependency_exits_promptly() -> None:
    port = free_port()
    proc = _spawn("nats", port, f"nats://127.0.0.1:{free_port()}")
    try:
        eventually_sync(lambda: _metrics_up(port), timeout=30, what="the ops server")
        time.sleep(0.5)
        assert not ready(port)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_a_start_up_error_is_printed_and_exits_one() -> None:
    proc = _spawn("bad-config", free_port())
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "demo: cannot start: demo.toml: workers: must be positive" in err


def _metrics_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


def test_tune_gc_freezes_what_start_up_built_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc(20_000)
        assert gc.get_threshold() == (20_000, MIDDLE_COLLECTIONS, FULL_COLLECTIONS)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        gc.set_threshold(*before)
        tune_gc(0)  # 0: Python's thresholds stay
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_readyz_waits_for_what_the_service_still_needs_and_names_it() -> None:
    readiness = Readiness("demo")
    ops = OpsServer(readiness, "127.0.0.1", 0)
    await ops.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops.port}") as client:
            readiness.wait_for("agents registered")
            readiness.set(True)  # started, but still waiting
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json() == {"ready": False, "service": "demo", "waiting_for": ["agents registered"]}
            readiness.have("agents registered")
            r = await client.get("/readyz")
            assert (r.status_code, r.json()) == (200, {"ready": True, "service": "demo"})
            readiness.set(False)  # stopping
            assert (await client.get("/readyz")).status_code == 503
    finally:
        await ops.stop()


PARKED = textwrap.dedent(
    """
    import asyncio
    from vapora_core.lifecycle import run
    from vapora_core.metrics import Readiness
    from vapora_core.settings import ServiceSettings

    async def call_that_never_returns(never):
        await never.wait()

    async def job(never):
        await call_that_never_returns(never)

    class App:
        readiness = Readiness("demo")
        async def start(self):
            self.never = asyncio.Event()
            self.task = asyncio.create_task(job(self.never), name="job-7")
        async def stop(self):
            self.task.cancel()

    settings = ServiceSettings(service_name="demo")
    run(App(), settings)
    """
)


def test_sigusr1_logs_each_task_with_the_calls_it_is_parked_in() -> None:
    port = free_port()
    env = dict(os.environ, VAPORA_METRICS_PORT=str(port), VAPORA_NATS_URL="nats://127.0.0.1:1")
    proc = subprocess.Popen([sys.executable, "-c", PARKED], env=env, stderr=subprocess.PIPE, text=True)
    try:
        eventually_sync(lambda: ready(port), timeout=30, what="readiness")
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)  # the dump is logged on the loop; then stop
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    job = err[err.index("- job-7: job") :]
    assert "in job" in job and "in call_that_never_returns" in job and "locks.py" in job
    assert job.index("in job") < job.index("in call_that_never_returns")  # outermost first
