"""A service run as its own process, for tests and benches that need one: started, waited for
until its ``/readyz`` says it has started (its gRPC server included), killed or stopped by its
own pid."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from vapora_testing.polling import eventually
from vapora_testing.ports import free_port


def ready(ops_port: int, timeout: float = 0.5) -> bool:
    """Whether the service whose ops server listens on ``ops_port`` answers ``/readyz`` with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/readyz", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


class ServiceProcess:
    """``python -m <module>`` (or ``python <command...>``) with its output in ``log``."""

    def __init__(self, module: str, env: dict[str, str], cwd: Path, log: Path, *, command: Sequence[str] = ()) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self.module, self.env, self.cwd, self.log = module, env, cwd, log
        self.argv = [sys.executable, *(command or ("-m", module))]
        self.grpc_port = int(env["VAPORA_GRPC_PORT"])
        self.metrics_port = int(env["VAPORA_METRICS_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process (its output appended to ``log``); :meth:`start` also waits for its health."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=out)
        return self.proc

    async def start(self, timeout: float = 20.0) -> ServiceProcess:
        proc = self.spawn()

        async def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"it exited with {proc.returncode}")
            return await asyncio.to_thread(ready, self.metrics_port)

        try:
            await eventually(up, timeout=timeout, interval=0.1, what=f"{self.module}'s /readyz")
        except AssertionError as exc:
            self.kill()
            raise AssertionError(f"{self.module} did not become ready ({exc}):\n{self.tail()}") from None
        return self

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def service_env(nats_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a service process: this NATS, its own data dir, free gRPC and metrics
    ports, and ``extra``; no ``VAPORA_`` setting of this process leaks in (a provider key, a store URL)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VAPORA_")},
        "VAPORA_NATS_URL": nats_url,
        "VAPORA_DATA_DIR": str(data_dir),
        "VAPORA_GRPC_PORT": str(free_port()),
        "VAPORA_METRICS_PORT": str(free_port()),
        "VAPORA_LOG_LEVEL": "INFO",
        **extra,
    }
