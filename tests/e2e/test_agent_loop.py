"""Agents that act, through the public API: every limit of the tool loop ends a task with its reason,
a cancel stops a loop within one step, and a runtime SIGKILLed mid-loop loses nothing.

Real processes: nats-server and the seven services. The LLM is the local fake speaking the
Anthropic Messages wire format (vapora_testing.fake_providers, in a thread of this process), its
turns scripted per test; tools are the real workspace and sysinfo MCP servers behind mcp-gateway.
Each test's agent takes a task type of its own and has its own [limits].
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import submit, wait_terminal
from tests.e2e.test_skeleton_flow import query_executions
from vapora_testing.fake_providers import KEY, Call, FakeProviders, Turn
from vapora_testing.fleet import Fleet
from vapora_testing.polling import eventually_sync
from vapora_testing.repo import repo_root

pytestmark = pytest.mark.e2e

AGENTS = {
    "capped": ("loop-cap", "max_steps = 3"),
    "repeater": ("loop-repeat", "loop_repeats = 3"),
    "clocked": ("loop-clock", "max_wall_clock_s = 2"),
    "spender": ("loop-cost", "max_steps = 8\nmax_cost_cents = 10"),
    "cancelled": ("loop-cancel", ""),
    "survivor": ("loop-kill", ""),
}
MANIFEST = """
id = "{id}"
role = "developer"
preferred_provider = "anthropic"
preferred_model = "claude-sonnet-4-5"
max_concurrency = 1
allowed_tools = ["workspace.*", "sysinfo.*"]
system_prompt = "You are a developer who reads before answering."
capabilities = ["{task_type}"]

[limits]
{limits}
"""


class Fakes:
    """The fake providers on an event loop of their own thread, for synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeProviders(slow_s=60.0)
        self.url = self._do(self.fake.start())

    def _do(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def script(self, turns: list[Turn], modes: list[str] | None = None) -> None:
        async def set_() -> None:
            self.fake.turns["anthropic"] = list(turns)
            self.fake.script["anthropic"] = list(modes or [])

        self._do(set_())

    @property
    def hits(self) -> int:
        return self.fake.hits["anthropic"]

    def stop(self) -> None:
        async def stop_all() -> None:
            await self.fake.stop()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:  # handlers of requests still waiting on a scripted slow answer
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        self._do(stop_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    f = Fakes()
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> Iterator[Fleet]:
    """This module's fleet (conftest's ``client`` signs up on it): the fake Anthropic keyed, the
    test agents added to config/agents, a README in the workspace MCP server's root."""
    root = tmp_path_factory.mktemp("loop-fleet")
    config = root / "config"
    shutil.copytree(repo_root() / "config", config)
    for agent_id, (task_type, limits) in AGENTS.items():
        (config / "agents" / f"{agent_id}.toml").write_text(
            MANIFEST.format(id=agent_id, task_type=task_type, limits=limits)
        )
    run = root / "run"
    (run / "data" / "workspace").mkdir(parents=True)
    (run / "data" / "workspace" / "README.md").write_text("# Demo\nA workspace for the loop's e2e tests.\n")
    f = Fleet(
        run_dir=run,
        config_dir=config,
        service_env={
            "llm-router": {"VAPORA_ANTHROPIC_API_KEY": KEY, "VAPORA_ANTHROPIC_BASE_URL": fakes.url},
            "agent-runtime": {"VAPORA_JOB_ACK_WAIT_S": "3"},
            "mcp-gateway": {"VAPORA_MCP_TOOLS_DIR": str(repo_root() / "tools")},  # config/ is a copy, tools/ is not
        },
    )
    try:
        f.start(timeout=120)
        yield f
    finally:
        f.stop()


def read(path: str) -> Call:
    return Call(name="workspace__read_file", arguments={"path": path})


def steps_of(client: httpx.Client, task_id: str, *, finished: bool = True, timeout: float = 20) -> dict[str, Any]:
    """GET .../steps; with ``finished``, once the run's summary is there."""

    def get() -> dict[str, Any]:
        r = client.get(f"/api/v1/tasks/{task_id}/steps")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    if not finished:
        return get()
    return eventually_sync(
        get,
        timeout=timeout,
        interval=0.1,
        what=f"task {task_id}'s run summary",
        until=lambda b: b["summary"] is not None,
    )


def ended(
    client: httpx.Client, fakes: Fakes, task_type: str, turns: list[Turn]
) -> tuple[dict[str, Any], dict[str, Any]]:
    fakes.script(turns)
    task = submit(client, title=f"Work on {task_type}", task_type=task_type)
    final = wait_terminal(client, task["id"], timeout=90)
    return final, steps_of(client, task["id"])


def test_a_model_that_never_stops_ends_at_the_step_cap(client: httpx.Client, fakes: Fakes) -> None:
    task, body = ended(client, fakes, "loop-cap", [Turn(calls=(read(f"f{i}.md"),)) for i in range(10)])
    assert task["state"] == "failed" and task["history"][-1]["detail"].startswith("max_steps:"), task
    assert body["summary"]["stop_reason"] == "max_steps" and not body["summary"]["success"]
    assert [s["kind"] for s in body["items"]] == ["model", "tool", "model", "tool", "model"]
    assert body["summary"]["steps"] == 5 and body["summary"]["tool_calls"] == 2


def test_a_repeated_identical_call_is_stopped_as_a_loop(client: httpx.Client, fakes: Fakes) -> None:
    task, body = ended(client, fakes, "loop-repeat", [Turn(calls=(read("README.md"),))] * 6)
    assert task["state"] == "failed" and "workspace.read_file was asked for 3 times" in task["history"][-1]["detail"]
    assert body["summary"]["stop_reason"] == "loop" and body["summary"]["tool_calls"] == 2
    assert all("A workspace for the loop" in s["result"] for s in body["items"] if s["kind"] == "tool")


def test_a_run_past_its_wall_clock_is_stopped_with_its_call_in_flight(client: httpx.Client, fakes: Fakes) -> None:
    sleeps = [Turn(calls=(Call(name="sysinfo__sleep", arguments={"seconds": 1.5 + i / 100}),)) for i in range(5)]
    started = time.monotonic()
    task, body = ended(client, fakes, "loop-clock", sleeps)
    assert task["state"] == "failed" and task["history"][-1]["detail"].startswith("wall_clock:"), task
    assert body["summary"]["stop_reason"] == "wall_clock"
    assert body["summary"]["tool_calls"] == 1  # the second sleep was aborted at 2 s, unrecorded
    assert time.monotonic() - started < 30


def test_a_run_that_keeps_spending_ends_at_the_cost_cap_over_it_by_at_most_one_reservation(
    client: httpx.Client, fakes: Fakes
) -> None:
    # claude-sonnet-4-5 at $3/$15 per Mtok: 10,000 in + 1,000 out = 4.5 cents a turn; cap 10 cents
    turns = [Turn(calls=(read(f"f{i}.md"),), input_tokens=10_000, output_tokens=1_000) for i in range(8)]
    task, body = ended(client, fakes, "loop-cost", turns)
    assert body["summary"]["stop_reason"] == "cost_cap", body["summary"]
    reservation = (10_000 * 3 + 2048 * 15) / 1e6 * 100  # input + max_tokens output, in cents
    assert body["task_cost_cents"] <= 10 + reservation
    assert task["state"] == "failed" and task["history"][-1]["detail"].startswith("cost_cap:")


def test_a_cancel_mid_loop_stops_it_within_one_step(client: httpx.Client, fakes: Fakes) -> None:
    fakes.script([Turn(calls=(Call(name="sysinfo__sleep", arguments={"seconds": 0.4 + i / 100}),)) for i in range(40)])
    task = submit(client, title="A long exploration", task_type="loop-cancel")
    eventually_sync(
        lambda: client.get(f"/api/v1/tasks/{task['id']}").json(),
        timeout=60,
        what="the loop at its 4th step",
        until=lambda t: t.get("step", 0) >= 4,
    )
    at_cancel = len(steps_of(client, task["id"], finished=False)["items"])
    hits = fakes.hits
    r = client.post(f"/api/v1/tasks/{task['id']}/cancel", json={"reason": "enough"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    time.sleep(3)  # a loop that went on would make 3+ steps in this time
    body = steps_of(client, task["id"], finished=False)
    assert len(body["items"]) <= at_cancel + 1, (at_cancel, [s["kind"] for s in body["items"]])
    assert fakes.hits <= hits + 1
    assert body["summary"] is None  # a stopped job records no execution
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "cancelled"


def test_a_runtime_killed_mid_loop_redelivers_the_job_which_completes_once_with_a_whole_transcript(
    fleet: Fleet, client: httpx.Client, fakes: Fakes
) -> None:
    """Runs last: it kills and restarts the fleet's agent-runtime. The fake stalls on the second
    model turn, so the kill lands mid-loop, after the first turn and its tool call."""
    fakes.script(
        [
            Turn(calls=(Call(name="workspace__list_files", arguments={"path": "."}),)),
            Turn(calls=(read("README.md"),)),
            Turn(text="The README is a demo."),
        ],
        ["ok", "slow", "ok", "ok"],
    )
    task = submit(client, title="Read what is there", task_type="loop-kill")
    eventually_sync(
        lambda: fakes.hits >= 2 and len(steps_of(client, task["id"], finished=False)["items"]) >= 2,
        timeout=60,
        what="the loop at its stalled second turn",
    )
    lost = steps_of(client, task["id"], finished=False)
    assert [s["kind"] for s in lost["items"]] == ["model", "tool"]

    fleet.kill_service("agent-runtime")
    fleet.start_service("agent-runtime", timeout=60)
    done = wait_terminal(client, task["id"], timeout=90)
    assert done["state"] == "done", done

    body = steps_of(client, task["id"])
    assert body["run_id"] != lost["run_id"] and body["run_id"].endswith(".2"), (lost["run_id"], body["run_id"])
    assert [(s["index"], s["kind"]) for s in body["items"]] == [(1, "model"), (2, "tool"), (3, "model")]
    assert body["items"][1]["tool"] == "workspace.read_file" and "# Demo" in body["items"][1]["result"]
    assert body["summary"] == {
        **body["summary"],
        "stop_reason": "final_answer",
        "steps": 3,
        "tool_calls": 1,
        "success": True,
    }
    paid = (
        body["summary"]["cost_cents"] * 3 / 2
    )  # the final run's 2 turns, and the lost run's first (usage comes apart)
    body = eventually_sync(
        lambda: steps_of(client, task["id"]),
        timeout=15,
        interval=0.2,
        what="the lost run's cost linked too",
        until=lambda b: b["execution_cost_cents"] >= paid - 1e-9,
    )
    assert body["execution_cost_cents"] == pytest.approx(paid)  # the lost run was paid for too
    executions = asyncio.run(query_executions(fleet, done["workspace_id"], task["id"]))
    assert [e.execution_id for e in executions] == [body["execution_id"]]
