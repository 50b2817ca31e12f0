"""Run the whole fleet as separate processes: nats-server plus the seven services.

The launcher only: the e2e tests use it with free ports and a temporary directory, the
operator CLI (``scripts/fleet.py``, behind ``just up/up-cluster/down/status/logs``) with the fixed
ports below and ``.run/``. Every service runs ``python -m vapora_<name>`` with its settings
in its environment, its log in ``<run_dir>/logs/<name>.log``, and the repository's
``config/`` unless ``config_dir`` says otherwise. NATS is one node by default; ``nats_nodes=3``
runs a JetStream cluster (:class:`~vapora_testing.cluster.NatsCluster`): every service gets every
node's URL and declares its streams with as many replicas as there are nodes
(``VAPORA_JETSTREAM_REPLICAS``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from vapora_core.jobtoken import generate_key_pair
from vapora_testing.cluster import NatsCluster
from vapora_testing.nats import NatsServer
from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port
from vapora_testing.process import ready as ops_ready
from vapora_testing.repo import repo_root


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    grpc_port: int | None  # default port for `just up`; None: serves no gRPC
    ops_port: int  # /metrics, /healthz, /readyz (the gateway: its HTTP port)
    addr_env: str = ""  # how other services find its gRPC address

    @property
    def module(self) -> str:
        return "vapora_" + self.name.replace("-", "_")


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("agent-registry", 50051, 9101, "VAPORA_REGISTRY_ADDR"),
    ServiceSpec("swarm-coordinator", 50052, 9102, "VAPORA_COORDINATOR_ADDR"),
    ServiceSpec("llm-router", 50053, 9103, "VAPORA_ROUTER_ADDR"),
    ServiceSpec("knowledge-graph", 50054, 9104, "VAPORA_KG_ADDR"),
    ServiceSpec("mcp-gateway", 50055, 9105, "VAPORA_MCP_ADDR"),
    ServiceSpec("agent-runtime", None, 9106),
    ServiceSpec("api-gateway", None, 8080),
)
BY_NAME = {s.name: s for s in SERVICES}
NATS_PORT, NATS_MONITOR_PORT, NATS_ROUTE_PORT = 4222, 8222, 6222  # node i of a cluster: each + i
# Job-token keys (vapora_core.jobtoken): who signs, who verifies.
SIGNS_JOB_TOKENS = ("swarm-coordinator",)
VERIFIES_JOB_TOKENS = ("mcp-gateway", "llm-router")
# Extra ports a service listens on besides gRPC and ops: (service, env var, default port).
EXTRA_PORTS: tuple[tuple[str, str, int], ...] = (("mcp-gateway", "VAPORA_MCP_HTTP_PORT", 8090),)


@dataclass
class Fleet:
    """The fleet under ``run_dir``: logs, data and traces live there.

    ``nats_nodes``: 1, a single nats-server; more, a JetStream cluster of that many nodes
    (``cluster``), whose streams every service declares with that many replicas."""

    run_dir: Path
    fixed_ports: bool = False
    nats_nodes: int = 1
    config_dir: Path = field(default_factory=lambda: repo_root() / "config")
    env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    nats: NatsServer | None = None
    cluster: NatsCluster | None = None
    nats_url: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    extra_ports: dict[str, int] = field(default_factory=dict)

    @property
    def traces_file(self) -> Path:
        return self.run_dir / "traces.jsonl"

    def log_path(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def job_keys(self) -> tuple[Path, Path]:
        """The fleet's job-token key pair (private, public PEM files), made on first use."""
        private, public = self.run_dir / "job-signing.pem", self.run_dir / "job-verify.pem"
        if not (private.exists() and public.exists()):
            private_pem, public_pem = generate_key_pair()
            self.run_dir.mkdir(parents=True, exist_ok=True)
            private.touch(mode=0o600)
            private.write_text(private_pem)
            public.write_text(public_pem)
        return private, public

    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api-gateway'][1]}"

    def grpc_addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name][0]}"

    def ops_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name][1]}"

    # -- start and stop ----------------------------------------------------------------

    def start(self, services: tuple[str, ...] | None = None, timeout: float = 90.0) -> Fleet:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        if not self.nats_url:
            self.nats_url = self._start_nats()
        for spec in SERVICES:
            grpc_port = None
            if spec.grpc_port is not None:
                grpc_port = spec.grpc_port if self.fixed_ports else free_port()
            ops = spec.ops_port if self.fixed_ports else free_port()
            self.ports.setdefault(spec.name, (grpc_port, ops))
        for _, env_name, default in EXTRA_PORTS:
            self.extra_ports.setdefault(env_name, default if self.fixed_ports else free_port())
        names = services or tuple(s.name for s in SERVICES)
        for name in names:
            self.start_service(name, wait=False)
        for name in names:
            self.wait_ready(name, timeout)
        return self

    def _start_nats(self) -> str:
        """Start the fleet's NATS (one node, or the cluster); its client URL(s), comma-separated."""
        if self.nats_nodes == 1:
            self.nats = NatsServer(
                self.run_dir / "jetstream",
                port=NATS_PORT if self.fixed_ports else 0,
                monitor_port=NATS_MONITOR_PORT if self.fixed_ports else 0,
                log_file=self.log_path("nats-server"),
            ).start()
            return self.nats.url
        ports = (
            [(NATS_PORT + i, NATS_MONITOR_PORT + i, NATS_ROUTE_PORT + i) for i in range(self.nats_nodes)]
            if self.fixed_ports
            else None
        )
        self.cluster = NatsCluster(
            self.run_dir / "jetstream", self.nats_nodes, ports=ports, log_dir=self.run_dir / "logs"
        ).start()
        return self.cluster.url

    @property
    def nats_servers(self) -> list[NatsServer]:
        """Every nats-server of the fleet: the cluster's nodes, or the one server."""
        if self.cluster is not None:
            return self.cluster.nodes
        return [self.nats] if self.nats is not None else []

    def service_environment(self, name: str) -> dict[str, str]:
        grpc_port, ops_port = self.ports[name]
        env = dict(os.environ)
        env.update(
            {
                "VAPORA_SERVICE_NAME": name,
                "VAPORA_NATS_URL": self.nats_url,
                "VAPORA_JETSTREAM_REPLICAS": str(self.nats_nodes),
                "VAPORA_DATA_DIR": str(self.run_dir / "data"),
                "VAPORA_METRICS_PORT": str(ops_port),
                "VAPORA_HTTP_PORT": str(ops_port),
                "VAPORA_TRACES_FILE": str(self.traces_file),
                "VAPORA_CONFIG_DIR": str(self.config_dir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if grpc_port is not None:
            env["VAPORA_GRPC_PORT"] = str(grpc_port)
        for service, env_name, _ in EXTRA_PORTS:
            if service == name:
                env[env_name] = str(self.extra_ports[env_name])
        for spec in SERVICES:
            if spec.addr_env:
                env[spec.addr_env] = f"127.0.0.1:{self.ports[spec.name][0]}"
        private, public = self.job_keys()
        if name in SIGNS_JOB_TOKENS:
            env["VAPORA_JOB_SIGNING_KEY"] = f"@{private}"
        if name in VERIFIES_JOB_TOKENS:
            env["VAPORA_JOB_VERIFY_KEY"] = f"@{public}"
        env.update(self.env)
        env.update(self.service_env.get(name, {}))
        return env

    def start_service(self, name: str, *, wait: bool = True, timeout: float = 60.0) -> None:
        spec = BY_NAME[name]
        log = self.log_path(name).open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", spec.module],
            env=self.service_environment(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.run_dir),
            start_new_session=True,
        )
        log.close()
        if wait:
            self.wait_ready(name, timeout)

    def start_replica(self, service: str, instance: str, env: dict[str, str], *, timeout: float = 60.0) -> None:
        """Start one more process of ``service`` (e.g. a second agent-runtime) as ``instance``."""
        grpc_port = free_port() if BY_NAME[service].grpc_port is not None else None
        self.ports[instance] = (grpc_port, free_port())
        environment = self.service_environment(service)
        environment.update({"VAPORA_METRICS_PORT": str(self.ports[instance][1]), **env})
        if grpc_port is not None:
            environment["VAPORA_GRPC_PORT"] = str(grpc_port)
        log = self.log_path(instance).open("ab")
        self.procs[instance] = subprocess.Popen(
            [sys.executable, "-m", BY_NAME[service].module],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.run_dir),
            start_new_session=True,
        )
        log.close()
        self.wait_ready(instance, timeout)

    def ready(self, name: str) -> bool:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is not None:
            tail = self.log_path(name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode}; log tail:\n{tail}")
        return ops_ready(self.ports[name][1])

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        eventually_sync(lambda: self.ready(name), timeout=timeout, what=f"{name} to be ready", interval=0.1)

    def signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)

    def stop_service(self, name: str, *, timeout: float = 30.0) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill_service(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop(self) -> dict[str, int | None]:
        codes = {name: self.stop_service(name) for name in reversed(list(self.procs))}
        for server in self.nats_servers:
            server.stop()
        return codes
