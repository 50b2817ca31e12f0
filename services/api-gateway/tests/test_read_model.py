"""The task read model converges to a task's latest state whatever order its events are applied in.

Issue 28, defect 9: with the coordinator killed mid-run, one task stayed ``assigned`` although its
DONE event had been applied: the gateway's consumer applied ASSIGNED and DONE at once (31 ms
apart, ``workers=4``), and the embedded store let both concurrent updates of the record
commit, the later (ASSIGNED) over the earlier.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.common.v1 import common_pb2, evidence_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.models import TaskIn
from vapora_api_gateway.repository import NAMESPACE, SCHEMA, Repository
from vapora_api_gateway.service import STATES, Tasks, public_task
from vapora_core.bus import Bus, subjects
from vapora_core.store import Store
from vapora_testing.polling import eventually

ASSIGNED, RUNNING, DONE = common_pb2.TASK_STATE_ASSIGNED, common_pb2.TASK_STATE_RUNNING, common_pb2.TASK_STATE_DONE
T0_NS = time.time_ns() - 60 * 10**9


def status(task_id: str, ws: str, state: int, ms: int, **fields: str) -> tasks_pb2.TaskStatusChanged:
    at = Timestamp()
    at.FromNanoseconds(T0_NS + ms * 1_000_000)
    return tasks_pb2.TaskStatusChanged(task_id=task_id, workspace_id=ws, state=state, at=at, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def tasks(store_url: str, bus: Bus) -> AsyncIterator[Tasks]:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    try:
        yield Tasks(Repository(store), bus)
    finally:
        await store.close()


async def _new_task(tasks: Tasks, ws: str = "ws-1") -> str:
    return str((await tasks.create(ws, "user-1", TaskIn(title="converge", task_type="coding")))["id"])


async def test_done_applied_at_once_with_the_events_before_it_ends_done_for_every_task(tasks: Tasks) -> None:
    """The interleaving of the issue: DONE handed to one worker first, ASSIGNED (and the task's
    RUNNING progress) to others at the same moment, for each of 100 tasks. Before the fix the
    store let a late lower state overwrite DONE for some of them (a race: a few in a hundred)."""
    ids = [await _new_task(tasks) for _ in range(100)]
    for tid in ids:
        done = status(tid, "ws-1", DONE, 31, agent_id="coder-1", execution_id=f"ex-{tid}", result="ok")
        before = [status(tid, "ws-1", ASSIGNED, 0, agent_id="coder-1")]
        before += [status(tid, "ws-1", RUNNING, 1 + n, agent_id="coder-1", detail=f"step {n}") for n in range(6)]
        await asyncio.gather(tasks.apply(done), *(tasks.apply(e) for e in before))
    for tid in ids:
        row = await tasks.get(["ws-1"], tid)
        assert (row["state"], row.get("execution_id"), row.get("result")) == ("done", f"ex-{tid}", "ok"), tid
        assert row["history"][-1]["state"] == "done"


async def test_an_older_event_of_the_same_state_does_not_overwrite_a_newer_one(tasks: Tasks) -> None:
    tid = await _new_task(tasks)
    assert await tasks.apply(status(tid, "ws-1", ASSIGNED, 20, agent_id="second")) is not None
    assert await tasks.apply(status(tid, "ws-1", ASSIGNED, 10, agent_id="first")) is None  # older: stale
    assert await tasks.apply(status(tid, "ws-1", ASSIGNED, 20, agent_id="second")) is None  # redelivered
    row = await tasks.get(["ws-1"], tid)
    assert row["agent_id"] == "second"
    assert [h["state"] for h in row["history"]] == ["submitted", "assigned"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(
        st.tuples(st.sampled_from([ASSIGNED, RUNNING, DONE, common_pb2.TASK_STATE_FAILED]), st.integers(0, 1000)),
        min_size=1,
        max_size=6,
        unique_by=lambda e: e[1],
    ),
    order=st.randoms(use_true_random=False),
)
async def test_any_order_of_delivery_ends_at_the_same_state(
    tasks: Tasks, events: list[tuple[int, int]], order: object
) -> None:
    tid = await _new_task(tasks)
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    await asyncio.gather(*(tasks.apply(status(tid, "ws-1", s, ms, detail=f"{ms}")) for s, ms in shuffled))
    final_states = [e for e in events if e[0] in (DONE, common_pb2.TASK_STATE_FAILED)]
    if final_states:  # the first final state to be applied stays; it is one of them
        assert (await tasks.get(["ws-1"], tid))["state"] in {STATES[s] for s, _ in final_states}
    else:  # the latest of the highest rank
        top = max(events, key=lambda e: (e[0], e[1]))
        row = await tasks.get(["ws-1"], tid)
        assert (row["state"], row["history"][-1]["detail"]) == (STATES[top[0]], f"{top[1]}")


async def test_through_the_gateways_consumer_every_task_ends_done(client: Any, bus: Bus) -> None:
    """The real consumer (four workers) takes each task's DONE and ASSIGNED from the EVENTS stream."""
    me = await client.register("converge@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    ids = []
    for n in range(40):
        status_code, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": f"t{n}"})
        assert status_code == 201
        ids.append(task["id"])
    for tid in ids:  # DONE published before ASSIGNED: the worst order the stream can hold
        await bus.publish(subjects.task_event(ws), status(tid, ws, DONE, 31, agent_id="coder-1", execution_id="x"))
        await bus.publish(subjects.task_event(ws), status(tid, ws, ASSIGNED, 0, agent_id="coder-1"))

    async def read_states() -> dict[str, str]:
        states: dict[str, str] = {}
        for tid in ids:
            _, row, _ = await client.call("GET", f"/api/v1/tasks/{tid}", token)
            states[tid] = row["state"]
        return states

    states = await eventually(
        read_states, timeout=20, interval=0.2, what="every task done", until=lambda s: set(s.values()) == {"done"}
    )
    assert set(states.values()) == {"done"}, states


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@dataclass
class Account:
    token: str
    workspace_id: str
    dead_letters: list[str] = field(default_factory=list)


@pytest.fixture
async def account(client: Any, bus: Bus) -> AsyncIterator[Account]:
    """One account for every example, and the dead letters of status events as they come."""
    me = await client.register("fuzz@example.com")
    acc = Account(me["access_token"], me["workspace"]["id"])

    async def on_dead(msg: Any) -> None:
        acc.dead_letters.append(msg.data.decode(errors="replace"))

    sub = await bus.nc.subscribe("dlq.events.>", cb=on_dead)
    yield acc
    await sub.unsubscribe()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    detail=st.text(st.characters(codec="utf-8"), max_size=40),
    agent=st.text(st.characters(codec="utf-8"), max_size=20),
    at_s=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
)
async def test_any_status_event_is_applied_or_dead_lettered_and_the_task_list_stays_readable(
    client: Any, bus: Bus, account: Account, detail: str, agent: str, at_s: int
) -> None:
    token, ws = account.token, account.workspace_id
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "fuzzed"})
    event = tasks_pb2.TaskStatusChanged(
        task_id=task["id"], workspace_id=ws, state=ASSIGNED, detail=detail, agent_id=agent, at=Timestamp(seconds=at_s)
    )
    await bus.publish(subjects.task_event(ws), event)

    async def applied_or_dead_lettered() -> bool:
        _, row, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}", token)
        return bool(row["state"] == "assigned" or any(task["id"] in d for d in account.dead_letters))

    await eventually(
        applied_or_dead_lettered, timeout=6.0, interval=0.02, what="the status event applied or dead-lettered"
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with client.session.get(f"{client.base}/api/v1/tasks?limit=100", headers=headers) as resp:
        assert resp.status == 200
        listed = _strict(await resp.text())
    assert all("\x00" not in (item["agent_id"] + str(item["history"])) for item in listed["items"])


async def test_a_settling_event_gives_the_task_its_executions_tokens_and_cost(tasks: Tasks) -> None:
    task_id = await _new_task(tasks)
    await tasks.apply(status(task_id, "ws-1", ASSIGNED, 10, agent_id="developer"))
    done = status(task_id, "ws-1", DONE, 20, agent_id="developer")
    done.input_tokens, done.output_tokens, done.cost_cents = 1200, 300, 4.25
    await tasks.apply(done)
    [row] = (await tasks.page("ws-1", {"state": "done"}, "", 10))["items"]
    assert (row["id"], row["input_tokens"], row["output_tokens"], row["cost_cents"]) == (task_id, 1200, 300, 4.25)
    fresh = public_task(await tasks.get(["ws-1"], await _new_task(tasks)))
    assert (fresh["input_tokens"], fresh["output_tokens"], fresh["cost_cents"]) == (0, 0, 0.0)


@pytest.mark.parametrize("cost, tokens", [(float("nan"), 10), (float("inf"), 10), (-1.0, 10), (2.0, -5)])
async def test_an_impossible_usage_is_left_out_and_the_state_still_applies(
    tasks: Tasks, cost: float, tokens: int
) -> None:
    task_id = await _new_task(tasks)
    done = status(task_id, "ws-1", DONE, 20, agent_id="developer")
    done.cost_cents, done.input_tokens = cost, tokens
    await tasks.apply(done)
    row = public_task(await tasks.get(["ws-1"], task_id))
    assert row["state"] == "done" and row["cost_cents"] == 0.0 and row["input_tokens"] == 0


async def test_a_finished_tasks_verification_and_artifacts_are_kept_and_shown(tasks: Tasks) -> None:
    tid, bare = await _new_task(tasks), await _new_task(tasks)
    assert public_task(await tasks.get(["ws-1"], tid))["verification"] is None  # none before it ends
    done = status(tid, "ws-1", DONE, 40, agent_id="coder-1", execution_id="ex-1")
    done.verification.CopyFrom(
        evidence_pb2.Verification(
            kind="tests", command="pytest -q", passed=True, tests_passed=3, base_failed=1, newly_passing=["t::x"]
        )
    )
    done.artifacts.CopyFrom(evidence_pb2.Artifacts(commit="c0ffee", branch=f"vapora/{tid}", insertions=2))
    await tasks.apply(done)
    await tasks.apply(status(bare, "ws-1", DONE, 40, agent_id="coder-1", execution_id="ex-2"))
    shown = public_task(await tasks.get(["ws-1"], tid))
    v, a = shown["verification"], shown["artifacts"]
    assert (v["kind"], v["command"], v["passed"], v["tests_passed"], v["base_failed"]) == (
        "tests",
        "pytest -q",
        True,
        3,
        1,
    )
    assert v["newly_passing"] == ["t::x"] and v["newly_failing"] == []
    assert (a["commit"], a["branch"], a["insertions"]) == ("c0ffee", f"vapora/{tid}", 2)
    other = public_task(await tasks.get(["ws-1"], bare))  # a task without evidence shows none
    assert (other["verification"], other["artifacts"]) == (None, None)
