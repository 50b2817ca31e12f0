"""The operator CLI behind ``just up``, ``just up-cluster``, ``just down``, ``just status`` and ``just logs``.

    python scripts/fleet.py up [--nats-nodes N] | down | status | logs [SERVICE]

``up`` starts nats-server (``--nats-nodes 3``: a JetStream cluster of three on 4222-4224, every
stream with three replicas) and the seven services with the launcher
(:class:`vapora_testing.fleet.Fleet`) on their fixed ports, in detached sessions, and writes
what runs to ``<run_dir>/fleet.json``; the later commands read that file, so each runs as its
own process. The run directory is :func:`vapora_testing.repo.run_dir`: ``VAPORA_RUN_DIR``,
else ``.run/`` in the repository root, found from the current directory (or ``VAPORA_ROOT``).

The CLI lives here, apart from the launcher, because the launcher is test support (the e2e
tests start fleets with it on free ports) and this is an operator's tool run from a checkout,
like ``scripts/demo.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from vapora_testing import repo
from vapora_testing.fleet import Fleet
from vapora_testing.process import ready

STATE_FILE = "fleet.json"
STOP_WAIT_S = 30.0
LOG_LINES = 40


class BadState(ValueError):
    """``fleet.json`` exists but is not what ``up`` writes."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not a fleet state file ({reason}); remove it if nothing runs")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Proc:
    """One process ``up`` started."""

    name: str
    pid: int
    ops_port: int  # /healthz, /readyz, /metrics (the gateway: its HTTP port); 0 for a nats-server
    grpc_port: int | None = None
    url: str = ""  # a nats-server's client URL (set for nats-servers only)


@dataclass(frozen=True, slots=True)
class State:
    procs: tuple[Proc, ...]

    @classmethod
    def of(cls, fleet: Fleet) -> State:
        servers = fleet.nats_servers
        names = [f"nats-{n}" for n in fleet.cluster.names] if fleet.cluster else ["nats-server"]
        nats = tuple(
            Proc(name, s.proc.pid if s.proc else 0, 0, url=s.url) for name, s in zip(names, servers, strict=True)
        )
        services = tuple(
            Proc(name, p.pid, fleet.ports[name][1], fleet.ports[name][0]) for name, p in fleet.procs.items()
        )
        return cls((*nats, *services))

    @classmethod
    def load(cls, run_dir: Path) -> State | None:
        path = run_dir / STATE_FILE
        if not path.exists():
            return None
        try:
            rows = json.loads(path.read_text())["procs"]
            return cls(tuple(Proc(**row) for row in rows))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadState(path, f"{type(exc).__name__}: {exc}") from exc

    def save(self, run_dir: Path) -> None:
        body = {"procs": [asdict(p) for p in self.procs]}
        (run_dir / STATE_FILE).write_text(json.dumps(body, indent=2))


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie does not count)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(") ", 1)[-1][:1] != "Z"


def up(run_dir: Path, nats_nodes: int = 1) -> int:
    state = State.load(run_dir)
    if state is not None and any(alive(p.pid) for p in state.procs):
        print("the fleet is already running; `just down` first, or `just status`")
        return 1
    fleet = Fleet(run_dir, fixed_ports=True, nats_nodes=nats_nodes)
    try:
        fleet.start()
    except Exception as exc:
        print(f"the fleet did not start: {exc}", file=sys.stderr)
        fleet.stop()
        return 1
    state = State.of(fleet)
    state.save(run_dir)
    for p in state.procs:
        if p.url:
            print(f"{p.name:17} pid {p.pid:<7} {p.url}")
    for name, proc in fleet.procs.items():
        grpc_port, ops = fleet.ports[name]
        grpc = f"grpc :{grpc_port}" if grpc_port else "         "
        print(f"{name:17} pid {proc.pid:<7} {grpc}  http :{ops}")
    return 0


def down(run_dir: Path) -> int:
    state = State.load(run_dir)
    running = [p for p in state.procs if alive(p.pid)] if state else []
    for p in running:
        os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    while any(alive(p.pid) for p in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in running:
        if alive(p.pid):
            print(f"{p.name} (pid {p.pid}) did not stop within {STOP_WAIT_S:.0f}s: killed", file=sys.stderr)
            os.kill(p.pid, signal.SIGKILL)
    (run_dir / STATE_FILE).unlink(missing_ok=True)
    print(f"stopped {len(running)} processes" if running else "nothing was running")
    return 0


def status(run_dir: Path) -> int:
    state = State.load(run_dir)
    if state is None:
        print("the fleet is not running (`just up` starts it)")
        return 0
    for p in state.procs:
        live = alive(p.pid)
        if p.url:  # a nats-server
            print(f"{p.name:17} {'up' if live else 'DOWN':5} pid {p.pid}  {p.url}")
            continue
        word = ("ready" if ready(p.ops_port, timeout=1) else "up") if live else "DOWN"
        grpc = f"grpc :{p.grpc_port}" if p.grpc_port else ""
        print(f"{p.name:17} {word:5} pid {p.pid}  http :{p.ops_port}  {grpc}".rstrip())
    return 0


def logs(run_dir: Path, name: str | None) -> int:
    found = {path.stem: path for path in sorted((run_dir / "logs").glob("*.log"))}
    if name and name not in found:
        known = ", ".join(found) or "none yet"
        print(f"no log for {name!r} in {run_dir / 'logs'} (logs: {known})", file=sys.stderr)
        return 1
    if not found:
        print(f"no logs in {run_dir / 'logs'} (`just up` writes them)")
    for stem, path in found.items():
        if name and stem != name:
            continue
        print(f"==> {stem} <==")
        print("\n".join(path.read_text(errors="replace").splitlines()[-LOG_LINES:]))
    return 0


def _nodes(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of nodes, at least 1, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fleet", description="Run the local fleet (just up/down/status/logs).")
    commands = p.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start nats-server and the seven services on their fixed ports")
    start.add_argument(
        "--nats-nodes", type=_nodes, default=1, help="nats-servers: 1, or a JetStream cluster of that many"
    )
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("status", help="list what runs, with pids, ports and readiness")
    tail = commands.add_parser("logs", help=f"the last {LOG_LINES} lines of every log, or of one")
    tail.add_argument("service", nargs="?", default=None)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        where = repo.run_dir()
        if args.command == "up":
            return up(where, args.nats_nodes)
        if args.command == "down":
            return down(where)
        if args.command == "status":
            return status(where)
        return logs(where, args.service or None)
    except (repo.NotInRepository, BadState) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
