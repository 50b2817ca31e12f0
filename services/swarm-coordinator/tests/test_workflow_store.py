"""The workflow records in the real embedded SurrealDB (workflows/repository.py): runs created
together, the frozen definition they share, runs stored before it was shared; and a workspace's
template, read from the store once (workflows/templates.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vapora_core.errors import NotFound
from vapora_core.store import Store
from vapora_swarm_coordinator.repository import NAMESPACE
from vapora_swarm_coordinator.workflows import definitions, transitions
from vapora_swarm_coordinator.workflows.catalogue import Catalogue
from vapora_swarm_coordinator.workflows.definitions import WorkflowDef
from vapora_swarm_coordinator.workflows.draft import Draft, Outcome
from vapora_swarm_coordinator.workflows.model import Run, Stage, branch_for
from vapora_swarm_coordinator.workflows.repository import SCHEMA, WorkflowRepository, Write
from vapora_swarm_coordinator.workflows.templates import Templates

TEMPLATE = definitions.parse(
    {
        "name": "pair",
        "stages": [
            {"id": "build", "task_type": "coding", "title": "Build {run.title}"},
            {"id": "check", "task_type": "testing", "needs": ["build"], "inputs": ["build"]},
        ],
    }
)


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[WorkflowRepository]:
    store = Store(f"surrealkv://{tmp_path / 'coordinator'}", NAMESPACE)
    await store.open(SCHEMA)
    try:
        yield WorkflowRepository(store)
    finally:
        await store.close()


def started(run_id: str, template: WorkflowDef = TEMPLATE, title: str = "the parser") -> Run:
    run = Run(
        id=run_id,
        workspace_id="ws1",
        workflow=template.name,
        template=template,
        title=title,
        branch=branch_for(run_id),
        created_s=1000.0 + int(run_id, 16),
        updated_s=1000.0,
        stages={s.id: Stage(s.id, kind=s.kind) for s in template.stages},
    )
    draft = Draft.of(run, 1000.0)
    transitions.advance(draft)
    return draft.run


async def frozen_records(repo: WorkflowRepository) -> list[dict[str, object]]:
    return await repo.store.query("SELECT * FROM workflow_frozen")


async def test_runs_created_together_are_each_created_once_and_share_one_frozen_definition(
    repo: WorkflowRepository,
) -> None:
    a, b, c = started("000000000000000a"), started("000000000000000b"), started("000000000000000c")
    assert await repo.create_many([a, b, a]) == [True, True, False]
    assert await repo.create_many([c, b]) == [True, False]
    assert len(await frozen_records(repo)) == 1
    other = TEMPLATE.model_copy(update={"description": "another definition"})
    assert await repo.create_many([started("000000000000000d", other)]) == [True]
    assert len(await frozen_records(repo)) == 2
    for run_id, template in (
        ("000000000000000a", TEMPLATE),
        ("000000000000000c", TEMPLATE),
        ("000000000000000d", other),
    ):
        got = await repo.read(run_id)
        assert got is not None
        assert got.template == template
        assert got.stages["build"].state == "running"
        assert got.stages["check"].state == "pending"
    stored = await repo.store.query("SELECT * FROM workflow_stage WHERE run_id = '000000000000000b'")
    assert sorted(str(s["stage_id"]) for s in stored) == ["build", "check"]


async def test_a_transition_leaves_the_frozen_definition_as_it_was(repo: WorkflowRepository) -> None:
    run = started("00000000000000aa")
    assert await repo.create(run)
    before = await frozen_records(repo)
    draft = Draft.of(run, 1001.0)
    task_id = run.stages["build"].task_id
    transitions.outcome(draft, Outcome(stage_id="build", task_id=task_id, success=True, result="built"))
    write = Write(run.version, draft.stamped(), draft.stage_changes, tuple(draft.decisions))
    assert await repo.write_many([write]) == [True]
    assert await repo.write_many([write]) == [False]  # planned on a version no longer stored
    got = await repo.read(run.id)
    assert got is not None
    assert got.template == TEMPLATE
    assert got.version == run.version + 1
    assert (got.stages["build"].state, got.stages["check"].state) == ("done", "running")
    assert got.stages["build"].result == "built"
    assert await frozen_records(repo) == before


async def test_a_workspaces_template_is_read_from_the_store_once_then_kept(repo: WorkflowRepository) -> None:
    catalogue = Catalogue(frozenset({"coding", "testing"}), {})
    made = Templates(repo, None, lambda: catalogue)
    await made.create("ws1", TEMPLATE, "ada", 1000.0)
    other = Templates(repo, None, lambda: catalogue)  # another process: the store is what it knows
    with pytest.raises(NotFound):
        await other.get("ws2", "pair")
    first = await other.get("ws1", "pair")
    assert (first.definition, first.created_by, first.workspace_id) == (TEMPLATE, "ada", "ws1")
    await repo.store.execute("DELETE workflow_template")  # templates are never changed nor removed …
    again = await other.get("ws1", "pair")  # … so what was read is not read again
    assert again == first
    assert (await made.get("ws1", "pair")).definition == TEMPLATE
    with pytest.raises(NotFound):
        await Templates(repo, None, lambda: catalogue).get("ws1", "pair")
