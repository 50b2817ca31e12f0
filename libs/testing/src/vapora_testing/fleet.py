"""Run the whole fleet as separate processes: nats-server plus the seven services.

Used by the e2e tests (free ports, a temporary directory) and by ``just up`` /
``just down`` / ``just status`` / ``just logs`` (fixed ports, ``.run/``).

    python -m vapora_testing.fleet up | down | status | logs [SERVICE]
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vapora_core.jobtoken import generate_key_pair
from vapora_testing.nats import NatsServer
from vapora_testing.ports import free_port, wait_until
from vapora_testing.process import ready as ops_ready

ROOT = Path(__file__).resolve().parents[4]


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
NATS_PORT, NATS_MONITOR_PORT = 4222, 8222
# Job-token keys (vapora_core.jobtoken): who signs, who verifies.
SIGNS_JOB_TOKENS = ("swarm-coordinator",)
VERIFIES_JOB_TOKENS = ("mcp-gateway", "llm-router")
# Extra ports a service listens on besides gRPC and ops: (service, env var, default port).
EXTRA_PORTS: tuple[tuple[str, str, int], ...] = (("mcp-gateway", "VAPORA_MCP_HTTP_PORT", 8090),)


@dataclass(slots=True)
class Running:
    name: str
    pid: int
    grpc_port: int | None
    ops_port: int
    log: str


@dataclass
class Fleet:
    """The fleet under ``run_dir``: logs, data, traces and its state file live there."""

    run_dir: Path
    fixed_ports: bool = False
    config_dir: Path = ROOT / "config"
    env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    nats: NatsServer | None = None
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
            self.nats = NatsServer(
                self.run_dir / "jetstream",
                port=NATS_PORT if self.fixed_ports else 0,
                monitor_port=NATS_MONITOR_PORT if self.fixed_ports else 0,
                log_file=self.log_path("nats-server"),
            ).start()
            self.nats_url = self.nats.url
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
        self.save()
        return self

    def service_environment(self, name: str) -> dict[str, str]:
        grpc_port, ops_port = self.ports[name]
        env = dict(os.environ)
        env.update(
            {
                "VAPORA_SERVICE_NAME": name,
                "VAPORA_NATS_URL": self.nats_url,
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
        wait_until(lambda: self.ready(name), timeout, f"{name} to be ready", interval=0.1)

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
        if self.nats is not None:
            self.nats.stop()
        return codes

    # -- state for the CLI -------------------------------------------------------------

    def save(self) -> None:
        state = {
            "nats": {"url": self.nats_url, "pid": self.nats.proc.pid if self.nats and self.nats.proc else None},
            "services": {
                name: {
                    "pid": p.pid,
                    "grpc_port": self.ports[name][0],
                    "ops_port": self.ports[name][1],
                    "log": str(self.log_path(name)),
                }
                for name, p in self.procs.items()
            },
        }
        (self.run_dir / "fleet.json").write_text(json.dumps(state, indent=2))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie or a reused pid that is not ours does not count
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _state(run_dir: Path) -> dict[str, object]:
    path = run_dir / "fleet.json"
    return json.loads(path.read_text()) if path.exists() else {}


def cmd_up(run_dir: Path) -> int:
    state = _state(run_dir)
    services = state.get("services", {})
    if isinstance(services, dict) and any(_alive(s.get("pid")) for s in services.values()):
        print("the fleet is already running; `just down` first, or `just status`")
        return 1
    fleet = Fleet(run_dir, fixed_ports=True)
    try:
        fleet.start()
    except Exception as exc:
        print(f"the fleet did not start: {exc}", file=sys.stderr)
        fleet.stop()
        return 1
    print(f"nats-server      {fleet.nats_url}")
    for name, proc in fleet.procs.items():
        grpc_port, ops = fleet.ports[name]
        grpc = f"grpc :{grpc_port}" if grpc_port else "         "
        print(f"{name:17} pid {proc.pid:<7} {grpc}  http :{ops}")
    return 0


def cmd_down(run_dir: Path) -> int:
    state = _state(run_dir)
    services = state.get("services", {})
    pids = [s.get("pid") for s in services.values()] if isinstance(services, dict) else []
    nats = state.get("nats", {})
    nats_pid = nats.get("pid") if isinstance(nats, dict) else None
    stopped = 0
    for pid in [*pids, nats_pid]:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            stopped += 1
    deadline = time.monotonic() + 30
    for pid in [*pids, nats_pid]:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    (run_dir / "fleet.json").unlink(missing_ok=True)
    print(f"stopped {stopped} processes" if stopped else "nothing was running")
    return 0


def cmd_status(run_dir: Path) -> int:
    state = _state(run_dir)
    if not state:
        print("the fleet is not running (`just up` starts it)")
        return 0
    nats = state.get("nats", {})
    if isinstance(nats, dict):
        up = "up" if _alive(nats.get("pid")) else "DOWN"
        print(f"{'nats-server':17} {up:5} pid {nats.get('pid')}  {nats.get('url')}")
    services = state.get("services", {})
    for name, s in services.items() if isinstance(services, dict) else []:
        alive = _alive(s.get("pid"))
        status = "ready" if alive and ops_ready(s["ops_port"], timeout=1) else ("up" if alive else "DOWN")
        grpc = f"grpc :{s['grpc_port']}" if s.get("grpc_port") else ""
        print(f"{name:17} {status:5} pid {s.get('pid')}  http :{s['ops_port']}  {grpc}")
    return 0


def cmd_logs(run_dir: Path, name: str | None) -> int:
    logs = sorted((run_dir / "logs").glob("*.log"))
    for path in logs:
        if name and path.stem != name:
            continue
        print(f"==> {path.stem} <==")
        print("\n".join(path.read_text(errors="replace").splitlines()[-40:]))
    return 0


def main(argv: list[str]) -> int:
    run_dir = Path(os.environ.get("VAPORA_RUN_DIR", ROOT / ".run"))
    cmd = argv[0] if argv else "status"
    if cmd == "up":
        return cmd_up(run_dir)
    if cmd == "down":
        return cmd_down(run_dir)
    if cmd == "status":
        return cmd_status(run_dir)
    if cmd == "logs":
        return cmd_logs(run_dir, argv[1] if len(argv) > 1 else None)
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
