"""The commands of ``just up`` / ``up-cluster`` / ``down`` / ``status`` / ``logs`` over
:class:`~vapora_testing.fleet.Fleet`, with its state in ``$VAPORA_RUN_DIR/fleet.json`` (``.run/``).

    python -m vapora_testing.fleet_cli up [--nats-nodes N] | down | status | logs [SERVICE]
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from vapora_testing.fleet import ROOT, Fleet
from vapora_testing.process import ready as ops_ready


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


def _nats_nodes(state: dict[str, object]) -> list[dict[str, object]]:
    """The nats-servers a state file lists (url, pid), one or a cluster's nodes."""
    nodes = state.get("nats", [])
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _pid(entry: dict[str, object]) -> int | None:
    pid = entry.get("pid")
    return pid if isinstance(pid, int) else None


def cmd_up(run_dir: Path, nats_nodes: int = 1) -> int:
    state = _state(run_dir)
    services = state.get("services", {})
    if isinstance(services, dict) and any(_alive(s.get("pid")) for s in services.values()):
        print("the fleet is already running; `just down` first, or `just status`")
        return 1
    fleet = Fleet(run_dir, fixed_ports=True, nats_nodes=nats_nodes)
    try:
        fleet.start()
    except Exception as exc:
        print(f"the fleet did not start: {exc}", file=sys.stderr)
        fleet.stop()
        return 1
    for server in fleet.nats_servers:
        print(f"{'nats-server':17} pid {server.proc.pid if server.proc else '-':<7} {server.url}")
    for name, proc in fleet.procs.items():
        grpc_port, ops = fleet.ports[name]
        grpc = f"grpc :{grpc_port}" if grpc_port else "         "
        print(f"{name:17} pid {proc.pid:<7} {grpc}  http :{ops}")
    return 0


def cmd_down(run_dir: Path) -> int:
    state = _state(run_dir)
    services = state.get("services", {})
    pids = [s.get("pid") for s in services.values()] if isinstance(services, dict) else []
    nats_pids = [_pid(n) for n in _nats_nodes(state)]
    stopped = 0
    for pid in [*pids, *nats_pids]:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            stopped += 1
    deadline = time.monotonic() + 30
    for pid in [*pids, *nats_pids]:
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
    for node in _nats_nodes(state):
        up = "up" if _alive(_pid(node)) else "DOWN"
        print(f"{'nats-server':17} {up:5} pid {node.get('pid')}  {node.get('url')}")
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
        if argv[1:2] == ["--nats-nodes"] and len(argv) == 3 and argv[2].isdigit() and int(argv[2]) >= 1:
            return cmd_up(run_dir, int(argv[2]))
        if len(argv) > 1:
            print(f"up takes --nats-nodes N (N >= 1), not {' '.join(argv[1:])!r}", file=sys.stderr)
            return 2
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
