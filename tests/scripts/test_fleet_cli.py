"""The operator CLI (scripts/fleet.py, behind just up/down/status/logs), run as its own process.

``up`` itself binds the fixed ports of the local default, which other runs on this machine
may hold, so the tests start a fleet with the launcher on free ports and write its state the
way ``up`` does (``State.of(fleet).save``): everything after that is the real CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from vapora_testing.fleet import Fleet
from vapora_testing.repo import repo_root

ROOT = repo_root(Path(__file__).parent)
SCRIPT = ROOT / "scripts" / "fleet.py"


def load_cli() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet_cli", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_cli"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cli = load_cli()


def run(run_dir: Path | None, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VAPORA_RUN_DIR", "VAPORA_ROOT")}
    if run_dir is not None:
        env["VAPORA_RUN_DIR"] = str(run_dir)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def write_state(run_dir: Path, *procs: object) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    cli.State(tuple(procs)).save(run_dir)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def readyz() -> Iterator[int]:
    """An ops port whose /readyz answers 200."""

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def test_status_without_a_fleet_says_so(tmp_path: Path) -> None:
    done = run(tmp_path / "run", "status")
    assert done.returncode == 0, done.stderr
    assert "the fleet is not running" in done.stdout


def test_status_tells_ready_from_up_from_down(tmp_path: Path, sleeper: subprocess.Popen[bytes], readyz: int) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_state(
        tmp_path,
        cli.Proc("nats-server", sleeper.pid, 0, url="nats://127.0.0.1:1"),
        cli.Proc("agent-registry", os.getpid(), readyz, grpc_port=50051),
        cli.Proc("llm-router", sleeper.pid, 1),  # alive, but nothing answers on its ops port
        cli.Proc("api-gateway", dead.pid, 8080),
    )
    lines = run(tmp_path, "status").stdout.splitlines()
    words = {line.split()[0]: line.split()[1] for line in lines}
    assert words == {"nats-server": "up", "agent-registry": "ready", "llm-router": "up", "api-gateway": "DOWN"}
    assert "grpc :50051" in lines[1] and "http :" in lines[1]


def test_down_stops_what_runs_and_forgets_the_state(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_state(tmp_path, cli.Proc("agent-runtime", sleeper.pid, 1), cli.Proc("llm-router", dead.pid, 1))
    done = run(tmp_path, "down")
    assert done.returncode == 0, done.stderr
    assert "stopped 1 processes" in done.stdout
    assert sleeper.wait(timeout=10) == -15  # SIGTERM
    assert not (tmp_path / "fleet.json").exists()
    assert "nothing was running" in run(tmp_path, "down").stdout


def test_up_refuses_while_a_fleet_runs(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    write_state(tmp_path, cli.Proc("agent-runtime", sleeper.pid, 1))
    done = run(tmp_path, "up")
    assert done.returncode == 1
    assert "already running" in done.stdout
    assert sleeper.poll() is None


def test_logs_prints_the_tail_of_every_log_or_of_one(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "llm-router.log").write_text("".join(f"line {i}\n" for i in range(100)))
    (tmp_path / "logs" / "mcp-gateway.log").write_text("mcp started\n")
    every = run(tmp_path, "logs").stdout
    assert "==> llm-router <==" in every and "==> mcp-gateway <==" in every and "mcp started" in every
    assert "line 99" in every and "line 60" in every and "line 59" not in every  # the last 40
    one = run(tmp_path, "logs", "mcp-gateway").stdout
    assert "mcp started" in one and "llm-router" not in one


def test_logs_before_any_fleet_ran_says_where_they_would_be(tmp_path: Path) -> None:
    done = run(tmp_path, "logs")
    assert done.returncode == 0 and f"no logs in {tmp_path / 'logs'}" in done.stdout


def test_logs_of_an_unknown_service_names_the_ones_there_are(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "llm-router.log").write_text("x\n")
    done = run(tmp_path, "logs", "llm-routr")
    assert done.returncode == 1
    assert "no log for 'llm-routr'" in done.stderr and "llm-router" in done.stderr


def test_a_state_file_that_is_not_ours_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fleet.json").write_text(json.dumps({"nats": {"pid": 1}}))
    done = run(tmp_path, "status")
    assert done.returncode == 2
    assert "fleet.json is not a fleet state file" in done.stderr and "KeyError" in done.stderr


def test_outside_a_repository_the_cli_says_where_it_looked(tmp_path: Path) -> None:
    done = run(None, "status", cwd=tmp_path)
    assert done.returncode == 2
    assert f"no Vapora repository at or above {tmp_path.resolve()}" in done.stderr


def test_an_unknown_command_is_refused_with_the_usage(tmp_path: Path) -> None:
    done = run(tmp_path, "start")
    assert done.returncode == 2
    assert "invalid choice: 'start'" in done.stderr


def test_a_launched_fleet_is_seen_by_status_and_stopped_by_down(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path / "run").start(services=("agent-registry",))
    try:
        cli.State.of(fleet).save(fleet.run_dir)
        lines = run(fleet.run_dir, "status").stdout.splitlines()
        assert [line.split()[:2] for line in lines] == [["nats-server", "up"], ["agent-registry", "ready"]]
        assert fleet.nats_url in lines[0]
        done = run(fleet.run_dir, "down")
        assert "stopped 2 processes" in done.stdout, done.stderr
        assert fleet.procs["agent-registry"].wait(timeout=30) == 0  # a clean shutdown on SIGTERM
        assert fleet.nats is not None and fleet.nats.proc is not None
        assert fleet.nats.proc.wait(timeout=30) is not None
    finally:
        fleet.stop()


def test_up_takes_a_number_of_nats_nodes_and_refuses_anything_else(tmp_path: Path) -> None:
    for bad in ("0", "three", "-1"):
        done = run(tmp_path, "up", "--nats-nodes", bad)
        assert done.returncode == 2, bad
        assert "a number of nodes, at least 1" in done.stderr
    assert not (tmp_path / "fleet.json").exists()


def test_a_fleet_on_a_cluster_lists_every_node_and_down_stops_them_all(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path / "run", nats_nodes=3).start(services=("agent-registry",))
    try:
        cli.State.of(fleet).save(fleet.run_dir)
        lines = run(fleet.run_dir, "status").stdout.splitlines()
        assert [line.split()[:2] for line in lines] == [
            ["nats-n0", "up"],
            ["nats-n1", "up"],
            ["nats-n2", "up"],
            ["agent-registry", "ready"],
        ]
        assert fleet.cluster is not None
        for line, url in zip(lines, fleet.cluster.urls, strict=False):
            assert url in line
        done = run(fleet.run_dir, "down")
        assert "stopped 4 processes" in done.stdout, done.stderr
        assert all(node.proc is not None and node.proc.wait(timeout=30) is not None for node in fleet.cluster.nodes)
    finally:
        fleet.stop()
