"""Executing a job without I/O: prompt, tools, the loop's router calls, the event and its summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted import RecordingSender, ScriptedGateway, ScriptedRouter, answer, call  # type: ignore[import-not-found]

from vapora.coordinator.v1 import coordinator_pb2
from vapora.llm.v1 import llm_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_agent_runtime.manifest import load_manifest
from vapora_agent_runtime.service import JobExecutor, execution_id
from vapora_core.bus.validate import EventRules
from vapora_core.errors import InvalidArgument, Unavailable

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

    async def __call__(self, request: llm_pb2.CompleteRequest, *, token: str = "") -> llm_pb2.CompleteResponse:
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


FILES = [
    mcp_pb2.Tool(server="files", name="read_text_file", input_schema_json='{"type": "object"}'),
    mcp_pb2.Tool(server="files", name="delete_everything", input_schema_json='{"type": "object"}'),
]


def executor(
    router: object, gateway: ScriptedGateway | None = None, sender: RecordingSender | None = None
) -> JobExecutor:
    return JobExecutor(
        complete=router,  # type: ignore[arg-type]
        gateway=gateway or ScriptedGateway(catalogue=list(FILES)),
        sender=sender or RecordingSender(),
    )


async def test_job_becomes_a_router_call_with_the_role_prompt_and_a_recorded_execution() -> None:
    router = Router("Here is the login endpoint implementation: POST /login issues a JWT ...")
    event = await executor(router).execute(DEVELOPER, job())
    [request] = router.requests
    assert request.system.startswith("You are a senior software developer")
    assert [t.name for t in request.tools] == ["files__read_text_file"]  # allowed by the manifest, and listed
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
    assert event.execution_id == execution_id("j-1", 1)
    assert request.request_id == f"{event.run_id}.1" == f"{execution_id('j-1', 1)}.1.1"
    assert (event.workspace_id, event.task_id, event.job_id, event.agent_id) == ("ws-1", "t-1", "j-1", "developer")
    assert (event.provider, event.model, event.input_tokens, event.output_tokens, event.latency_ms) == (
        "offline",
        "offline-1",
        120,
        80,
        12,
    )
    assert event.result.startswith("Here is the login endpoint")


async def test_a_missing_task_type_falls_back_to_the_agents_first_capability() -> None:
    router = Router("Implement the login endpoint like so")
    event = await executor(router).execute(DEVELOPER, job(task_type=""))
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
        await executor(router).execute(DEVELOPER, bad)
    assert router.requests == []


def test_execution_id_is_stable_per_job_attempt() -> None:
    assert execution_id("j-1", 1) == execution_id("j-1", 1)
    assert execution_id("j-1", 1) != execution_id("j-1", 2) != execution_id("j-2", 1)


async def test_the_execution_summarises_its_run_and_a_self_report_is_not_verified() -> None:
    router = ScriptedRouter(
        [answer("reading", call("files__read_text_file", {"path": "a"})), answer("Done, tests pass.")]
    )
    sender = RecordingSender()
    event = await executor(router, sender=sender).execute(DEVELOPER, job(), delivery=3)
    assert event.run_id == f"{execution_id('j-1', 1)}.3"
    assert (event.stop_reason, event.steps, event.tool_calls) == ("final_answer", 3, 1)
    # no repository to verify in: the model's word is all there is, a self-report (design-act §4)
    assert event.success and not event.verified and event.quality == 1.0
    assert event.verification.kind == "self_report" and not event.HasField("artifacts")
    assert (event.input_tokens, event.output_tokens, event.result) == (20, 10, "Done, tests pass.")
    assert {m.run_id for m in sender.steps()} == {event.run_id}


async def test_an_offline_answer_succeeds_but_is_unverified() -> None:
    event = await executor(Router("Deterministic answer")).execute(DEVELOPER, job())
    assert event.provider == "offline" and event.success and not event.verified


async def test_a_run_that_hits_a_limit_is_a_failed_execution_naming_its_stop_reason() -> None:
    looping = ScriptedRouter([answer("", call("files__read_text_file", {"path": "same"}))])
    event = await executor(looping).execute(DEVELOPER, job())
    assert (event.stop_reason, event.success, event.verified, event.quality) == ("loop", False, False, 0.0)
    assert "files.read_text_file was asked for 3 times" in event.error


async def test_an_agent_without_allowed_tools_never_asks_the_gateway() -> None:
    gateway = ScriptedGateway()
    no_tools = DEVELOPER.model_copy(update={"allowed_tools": []})
    router = Router("An answer")
    await executor(router, gateway).execute(no_tools, job())
    assert gateway.listed == [] and list(router.requests[0].tools) == []


async def test_an_unreachable_gateway_hands_the_job_back() -> None:
    class Down(ScriptedGateway):
        async def list_tools(self, *, workspace_id: str, agent_id: str, token: str) -> list[mcp_pb2.Tool]:
            raise Unavailable("mcp-gateway: connection refused")

    router = Router("never asked")
    with pytest.raises(Unavailable):
        await executor(router, Down()).execute(DEVELOPER, job())
    assert router.requests == []


async def test_a_nul_in_the_models_answer_is_replaced_so_the_execution_is_not_dead_lettered() -> None:
    text = "Here is the login endpoint implementation:\x00 POST /login issues a JWT"
    event = await executor(Router(text)).execute(DEVELOPER, job())
    assert event.result == text.replace("\x00", "\ufffd")
    EventRules().check(event)  # what every consumer of executions checks: it passes


class RecordingWorktrees:
    """A worktree client that records what it is asked; the project has no repository."""

    def __init__(self) -> None:
        self.prepared: list[str] = []

    async def prepare(self, *, token: str, start_branch: str = "", attempt: int = 0, run_id: str = "") -> None:
        self.prepared.append(token)

    async def release(self, *, token: str) -> bool:
        return False


@pytest.mark.parametrize(
    ("project_id", "tools", "asked"),
    [("p-1", True, True), ("", True, False), ("p-1", False, False)],
    ids=["a project's task", "no project", "an agent without tools"],
)
async def test_a_worktree_is_asked_for_only_where_an_agent_could_work_on_one(
    project_id: str, tools: bool, asked: bool
) -> None:
    worktrees = RecordingWorktrees()
    run = executor(Router("An answer"))
    run.worktrees = worktrees  # type: ignore[assignment]
    manifest = DEVELOPER if tools else DEVELOPER.model_copy(update={"allowed_tools": []})
    assigned = job(project_id=project_id)
    assigned.token = "job-token"
    await run.execute(manifest, assigned)
    assert worktrees.prepared == (["job-token"] if asked else [])
