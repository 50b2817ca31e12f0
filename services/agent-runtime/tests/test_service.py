"""Executing a job without I/O: prompt, router call, the agent's own check, the event."""

from __future__ import annotations

from pathlib import Path

import pytest

from vapora.coordinator.v1 import coordinator_pb2
from vapora.llm.v1 import llm_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_agent_runtime.check import check_result
from vapora_agent_runtime.manifest import load_manifest
from vapora_agent_runtime.service import JobExecutor, execution_id
from vapora_core.bus.validate import EventRules
from vapora_core.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[3]
DEVELOPER = load_manifest(ROOT / "config" / "agents" / "developer.toml")


def job(**task: str) -> coordinator_pb2.JobAssigned:
    fields = {
        "id": "t-1",
        "workspace_id": "ws-1",
        "title": "Implement the login endpoint",
        "description": "POST /login with JWT",
        "task_type": "coding",
        "complexity": "medium",
    }
    fields.update(task)
    return coordinator_pb2.JobAssigned(job_id="j-1", agent_id="developer", attempt=1, task=tasks_pb2.Task(**fields))


class Router:
    def __init__(self, text: str, finish: str = "stop") -> None:
        self.text = text
        self.finish = finish
        self.requests: list[llm_pb2.CompleteRequest] = []

    async def __call__(self, request: llm_pb2.CompleteRequest) -> llm_pb2.CompleteResponse:
        self.requests.append(request)
        return llm_pb2.CompleteResponse(
            text=self.text,
            provider="offline",
            model="offline-1",
            input_tokens=120,
            output_tokens=80,
            cost_cents=0.0,
            latency_ms=12,
            finish_reason=self.finish,
        )


async def test_job_becomes_a_router_call_with_the_role_prompt_and_a_recorded_execution() -> None:
    router = Router("Here is the login endpoint implementation: POST /login issues a JWT ...")
    event = await JobExecutor(router).execute(DEVELOPER, job())
    [request] = router.requests
    assert request.system.startswith("You are a senior software developer")
    assert "files.read_text_file" in request.system
    assert "Title: Implement the login endpoint" in request.messages[0].content
    assert "POST /login with JWT" in request.messages[0].content
    assert (request.role, request.agent_id, request.workspace_id, request.task_id) == (
        "developer",
        "developer",
        "ws-1",
        "t-1",
    )
    assert (request.task_type, request.complexity) == ("coding", "medium")
    assert (request.preferred_provider, request.preferred_model) == ("anthropic", "claude-sonnet-4-5")

    assert event.success and 0.5 < event.quality <= 1.0
    assert event.execution_id == execution_id("j-1", 1) == request.request_id
    assert (event.workspace_id, event.task_id, event.job_id, event.agent_id) == ("ws-1", "t-1", "j-1", "developer")
    assert (event.provider, event.model, event.input_tokens, event.output_tokens, event.latency_ms) == (
        "offline",
        "offline-1",
        120,
        80,
        12,
    )
    assert event.result.startswith("Here is the login endpoint")


async def test_a_refusal_is_recorded_as_an_unsuccessful_execution() -> None:
    event = await JobExecutor(Router("I'm sorry, but I can't help with that.")).execute(DEVELOPER, job())
    assert not event.success and event.quality < 0.5 and "refused" in event.error


async def test_a_missing_task_type_falls_back_to_the_agents_first_capability() -> None:
    router = Router("Implement the login endpoint like so")
    event = await JobExecutor(router).execute(DEVELOPER, job(task_type=""))
    assert event.task_type == "coding" == router.requests[0].task_type


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda j: setattr(j, "agent_id", "architect"), "is for agent 'architect'"),
        (lambda j: j.ClearField("task"), "task.id is required"),
        (lambda j: setattr(j.task, "workspace_id", ""), "task.workspace_id is required"),
        (lambda j: setattr(j, "job_id", ""), "job_id is required"),
    ],
)
async def test_a_job_this_agent_cannot_run_is_invalid(mutate: object, message: str) -> None:
    bad = job()
    mutate(bad)  # type: ignore[operator]
    router = Router("x")
    with pytest.raises(InvalidArgument, match=message):
        await JobExecutor(router).execute(DEVELOPER, bad)
    assert router.requests == []


def test_execution_id_is_stable_per_job_attempt() -> None:
    assert execution_id("j-1", 1) == execution_id("j-1", 1)
    assert execution_id("j-1", 1) != execution_id("j-1", 2) != execution_id("j-2", 1)


def test_quality_rewards_answers_that_address_the_task() -> None:
    on_topic = check_result("Implement the login endpoint", "", "The login endpoint implementation " * 20)
    off_topic = check_result("Implement the login endpoint", "", "Bananas are yellow. " * 20)
    truncated = check_result("Implement the login endpoint", "", "The login endpoint implementation " * 20, "length")
    assert on_topic.success and off_topic.success
    assert on_topic.quality > truncated.quality > off_topic.quality
    assert not check_result("t", "", "   ").success


async def test_a_nul_in_the_models_answer_is_replaced_so_the_execution_is_not_dead_lettered() -> None:
    text = "Here is the login endpoint implementation:\x00 POST /login issues a JWT"
    event = await JobExecutor(Router(text)).execute(DEVELOPER, job())
    assert event.result == text.replace("\x00", "\ufffd")
    EventRules().check(event)  # what every consumer of executions checks: it passes
