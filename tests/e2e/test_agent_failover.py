"""An agent-runtime killed mid-job: its agent leaves the healthy set and the job moves to another agent.

Real processes: nats-server, agent-registry, swarm-coordinator, llm-router, knowledge-graph,
api-gateway, and two agent-runtimes, each hosting one agent that can take `coding` tasks. The
LLM provider is a local fake speaking OpenAI's wire format whose first call hangs, so the job is
in flight when its runtime is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import sign_up, submit, wait_terminal
from tests.e2e.test_skeleton_flow import wait_for_executions
from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_core.grpc import channel
from vapora_testing.fleet import Fleet
from vapora_testing.http import serve_http
from vapora_testing.polling import eventually_sync
from vapora_testing.repo import repo_root

pytestmark = pytest.mark.e2e

HEARTBEAT_TIMEOUT_S = 2.0

MANIFEST = """
id = "{id}"
role = "developer"
preferred_provider = "openai"
preferred_model = "gpt-4o-mini"
max_concurrency = 1
system_prompt = "You are a software developer."

[[capabilities]]
task_type = "coding"
proficiency = 0.8
"""


class SlowFirstOpenAI(BaseHTTPRequestHandler):
    """Chat Completions: the first call hangs (the job is in flight), later ones answer at once."""

    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        with SlowFirstOpenAI.lock:
            SlowFirstOpenAI.calls += 1
            first = SlowFirstOpenAI.calls == 1
        if first:
            time.sleep(20)
        body = json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Implemented the endpoint with tests."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27},
            }
        ).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_openai() -> Iterator[str]:
    SlowFirstOpenAI.calls = 0
    with serve_http(SlowFirstOpenAI) as url:
        yield url


def _config(tmp_path: Path, agent_id: str) -> Path:
    config = tmp_path / f"config-{agent_id}"
    shutil.copytree(repo_root() / "config", config, ignore=shutil.ignore_patterns("agents"))
    (config / "agents").mkdir()
    (config / "agents" / f"{agent_id}.toml").write_text(MANIFEST.format(id=agent_id))
    return config


async def _healthy(fleet: Fleet) -> set[str]:
    async with channel(fleet.grpc_addr("agent-registry")) as ch:
        reply = await agents_pb2_grpc.AgentRegistryStub(ch).ListAgents(
            agents_pb2.ListAgentsRequest(status=agents_pb2.AGENT_STATUS_HEALTHY)
        )
        return {a.id for a in reply.agents}


def test_a_killed_runtimes_job_is_reassigned_to_another_capable_agent_and_completes_once(
    fleet_factory: type[Fleet], fake_openai: str, tmp_path: Path
) -> None:
    fleet = fleet_factory(
        service_env={
            "agent-registry": {"VAPORA_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S), "VAPORA_REMOVE_AFTER_S": "60"},
            "llm-router": {"VAPORA_OPENAI_API_KEY": "sk-test-not-a-real-key", "VAPORA_OPENAI_BASE_URL": fake_openai},
        }
    )
    fleet.start(services=("agent-registry", "swarm-coordinator", "llm-router", "knowledge-graph", "api-gateway"))
    for agent_id in ("coder-a", "coder-b"):
        fleet.start_replica(
            "agent-runtime",
            f"runtime-{agent_id}",
            {"VAPORA_CONFIG_DIR": str(_config(tmp_path, agent_id)), "VAPORA_HEARTBEAT_INTERVAL_S": "0.5"},
        )
    eventually_sync(
        lambda: asyncio.run(_healthy(fleet)) == {"coder-a", "coder-b"},
        timeout=20,
        interval=0.2,
        what="both agents healthy",
    )

    with httpx.Client(base_url=fleet.http_url(), timeout=10) as client:
        sign_up(client, "fo")
        task = submit(client, title="Implement the export endpoint", task_type="coding", priority="high")

        # wait until the job is in flight at the first agent (its LLM call hangs)
        deadline = time.monotonic() + 20  # for both waits together
        first: str = eventually_sync(
            lambda: client.get(f"/api/v1/tasks/{task['id']}").json().get("agent_id", ""),
            timeout=20,
            interval=0.1,
            what="the task to be assigned",
        )
        eventually_sync(
            lambda: SlowFirstOpenAI.calls > 0,
            timeout=max(0.0, deadline - time.monotonic()),
            interval=0.1,
            what="the first agent to call the LLM",
        )
        other = "coder-b" if first == "coder-a" else "coder-a"

        killed_at = time.monotonic()
        fleet.procs[f"runtime-{first}"].send_signal(signal.SIGKILL)
        fleet.procs.pop(f"runtime-{first}").wait()

        # the dead runtime's agent leaves the healthy set within the configured timeout (+ sweep slack)
        eventually_sync(
            lambda: first not in asyncio.run(_healthy(fleet)),
            timeout=max(0.0, HEARTBEAT_TIMEOUT_S + 5 - (time.monotonic() - killed_at)),
            interval=0.2,
            what=f"{first} to leave the healthy set",
        )

        done = wait_terminal(client, task["id"], timeout=60)
        assert done["state"] == "done", done
        assert done["agent_id"] == other

    executions = wait_for_executions(fleet, done["workspace_id"], task["id"])
    assert [(e.agent_id, e.success) for e in executions] == [(other, True)]
    assert SlowFirstOpenAI.calls == 2
