"""Dashboards and alerts proven against real data.

The whole fleet runs as processes (vapora_testing.fleet), a real Prometheus (Debian's
`prometheus` binary) scrapes every service's /metrics every second and loads the alert rules,
tasks go through the fleet (register, submit, wait until done), a `feature` workflow run goes up
to its approval gate (stage durations, runs by state, a gate waiting), and one undecodable payload
is published so the dead-letter path has data too. The router gets an OpenAI key and a fake OpenAI
endpoint (the real Chat Completions wire format) that answers 503 "overloaded", so coding tasks,
which router.toml sends to OpenAI, fall back and the fallback and breaker panels have data. Then every dashboard panel's query and every
alert expression is evaluated through Prometheus's HTTP API; a query fails the test when it
names a metric the fleet does not export, or returns no series.

Alert expressions of the form `<expr> <op> <number>` are evaluated without the comparison: a
healthy fleet rightly returns nothing for `utilization > 0.8`, but `<expr>` must have series.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploy_support import MONITORING, require_tool

from tests.e2e.helpers import wait_terminal
from vapora_testing.fleet import SERVICES, Fleet
from vapora_testing.http import serve_http
from vapora_testing.polling import eventually_sync

pytestmark = pytest.mark.e2e

RULES = MONITORING / "rules" / "vapora-alerts.yml"
COMPARISON = re.compile(r"^(?P<expr>.*?)\s*(>=|<=|==|!=|>|<)\s*-?[0-9.]+\s*$", re.S)
METRIC = re.compile(r"\b(vapora_[a-z0-9_]+|up)\b")


class Failures(dict[str, str]):
    """Queries that show no data, by where they are used; printed as one line each."""

    def __repr__(self) -> str:
        return "".join(f"\n- {where}: {why}" for where, why in self.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prometheus_config(fleet: Fleet) -> dict[str, Any]:
    """What k8s/base/monitoring/prometheus.yml does in a cluster: `job` is the service name."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": spec.name, "static_configs": [{"targets": [f"127.0.0.1:{fleet.ports[spec.name][1]}"]}]}
            for spec in SERVICES
        ],
    }


class Prometheus:
    def __init__(self, binary: str, config: dict[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_file = workdir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, f"prometheus exited:\n{self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    return bool(resp.status == 200)
            except OSError:
                return False

        try:
            eventually_sync(ready, timeout=timeout, interval=0.2, what="prometheus's /-/ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log.read_text()[-3000:]}") from None

    def query(self, expr: str) -> list[Any]:
        return list(self.get("/api/v1/query", query=expr)["result"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class OverloadedOpenAI(BaseHTTPRequestHandler):
    """OpenAI's API answering every Chat Completions call with 503, as it does when overloaded."""

    calls = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        body = json.dumps(
            {
                "error": {
                    "message": "The server is overloaded or not ready yet.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        ).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_openai() -> Iterator[str]:
    OverloadedOpenAI.calls = 0
    with serve_http(OverloadedOpenAI) as url:
        yield url


@pytest.fixture
def fleet(fleet_factory: type[Fleet], fake_openai: str) -> Fleet:
    f = fleet_factory(
        service_env={
            # the coordinator exports the JetStream gauges (queue depth, consumer lag), every second here
            "swarm-coordinator": {"VAPORA_JETSTREAM_STATS_S": "1"},
            "llm-router": {"VAPORA_OPENAI_API_KEY": "sk-test-not-a-real-key", "VAPORA_OPENAI_BASE_URL": fake_openai},
        }
    )
    return f.start(timeout=120)


@pytest.fixture
def prometheus(fleet: Fleet, tmp_path: Path) -> Iterator[Prometheus]:
    binary = require_tool("prometheus", "apt-get install prometheus")
    prom = Prometheus(binary, prometheus_config(fleet), tmp_path / "prometheus")
    try:
        prom.wait_ready()
        yield prom
    finally:
        prom.stop()


def drive_tasks(fleet: Fleet, count: int = 4) -> None:
    with httpx.Client(base_url=fleet.http_url(), timeout=10) as client:
        email = f"dash-{uuid.uuid4().hex[:8]}@example.com"
        r = client.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        ids = []
        for i, task_type in zip(range(count), ["coding", "review", "testing", "documentation"] * count, strict=False):
            r = client.post(
                "/api/v1/tasks", json={"title": f"dashboard check {i}", "task_type": task_type, "priority": "normal"}
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for task_id in ids:
            task = wait_terminal(client, task_id, timeout=120)
            assert task["state"] == "done", f"task {task_id} did not reach done: {task}"
            # Self-reported outcomes teach the profiles nothing; a person's verdict is evidence.
            r = client.post(f"/api/v1/tasks/{task_id}/feedback", json={"success": True, "quality": 0.8})
            assert r.status_code == 202, r.text


def drive_workflow(fleet: Fleet) -> None:
    """A ``feature`` run through the fleet's own agents, up to its gate: it is left waiting there."""
    with httpx.Client(base_url=fleet.http_url(), timeout=10) as client:
        email = f"dash-wf-{uuid.uuid4().hex[:8]}@example.com"
        r = client.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = client.post("/api/v1/workflow-runs", json={"workflow": "feature", "title": "dashboard check"})
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]

        def read() -> dict[str, Any]:
            run = dict(client.get(f"/api/v1/workflow-runs/{run_id}").json())
            assert run["state"] in ("running", "waiting_approval"), f"run did not reach its gate: {run}"
            return run

        eventually_sync(
            read,
            until=lambda run: run["state"] == "waiting_approval",
            timeout=180,
            interval=0.5,
            what="the feature run to reach its gate",
        )


async def publish_garbage(nats_url: str) -> None:
    """An undecodable payload on a task subject: the coordinator must dead-letter it."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            "tasks.coding.normal", b"\xff not a protobuf \xff", headers={"Nats-Msg-Id": uuid.uuid4().hex}
        )
    finally:
        await nc.close()


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard panel target and every alert rule."""
    out = []
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            for target in panel["targets"]:
                out.append((f"{path.name} / {panel['title']} / {target['refId']}", target["expr"]))
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            expr = rule["expr"]
            m = COMPARISON.match(expr)
            out.append((f"alert {rule['alert']}", m["expr"] if m else expr))
    return out


def test_every_dashboard_panel_and_alert_shows_real_data_from_the_fleet(fleet: Fleet, prometheus: Prometheus) -> None:
    import asyncio

    drive_tasks(fleet)
    drive_workflow(fleet)
    assert OverloadedOpenAI.calls > 0, "no coding task was routed to OpenAI: the fallback path was not exercised"
    asyncio.run(publish_garbage(fleet.nats_url))

    # Prometheus loaded every alert rule
    groups = prometheus.get("/api/v1/rules")["groups"]
    loaded = {r["name"]: r for g in groups for r in g["rules"]}
    assert len(loaded) == 7, sorted(loaded)
    assert all(r["health"] != "err" for r in loaded.values()), [r for r in loaded.values() if r["health"] == "err"]

    checks = expressions()

    def without_data() -> Failures:
        exported = set(prometheus.get("/api/v1/label/__name__/values"))
        failures = Failures()
        for where, expr in checks:
            missing = sorted(set(METRIC.findall(expr)) - exported)
            if missing:
                failures[where] = f"not exported by the fleet: {', '.join(missing)}  ({expr})"
            elif not prometheus.query(expr):
                failures[where] = f"no series  ({expr})"
        return failures

    failures = eventually_sync(  # rates need a few scrapes; the dead letter needs its retries
        without_data, timeout=45, interval=2, what=f"data for all {len(checks)} queries", until=lambda f: not f
    )
    report = "\n".join(f"- {where}: {why}" for where, why in failures.items())
    assert not failures, f"{len(failures)} of {len(checks)} queries show no data:\n{report}"


def test_the_comparison_stripping_keeps_the_selector() -> None:
    assert COMPARISON.match("max by (role) (x) > 0.8")["expr"] == "max by (role) (x)"
    assert COMPARISON.match('up{job=~"a|b"} == 0')["expr"] == 'up{job=~"a|b"}'
    assert COMPARISON.match("rate(x[5m])") is None
