"""Workflow templates: the shipped file validates against the shipped agents, and bad definitions
are refused with the workflow, the stage, the field and the reason named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from vapora.agents.v1 import agents_pb2
from vapora_core.errors import ConfigError, FailedPrecondition
from vapora_swarm_coordinator.workflows import definitions
from vapora_swarm_coordinator.workflows.catalogue import Catalogue

ROOT = Path(__file__).resolve().parents[3]


def shipped_agents() -> Catalogue:
    agents = []
    for path in sorted((ROOT / "config" / "agents").glob("*.toml")):
        m = tomllib.loads(path.read_text())
        caps = [agents_pb2.Capability(task_type=c["task_type"]) for c in m["capabilities"]]
        agents.append(agents_pb2.Agent(id=m["id"], role=m["role"], capabilities=caps))
    return Catalogue.of(agents)


def test_the_shipped_templates_validate_against_the_shipped_agents() -> None:
    found = definitions.parse_toml((ROOT / "config" / "workflows.toml").read_text())
    assert [d.name for d in found] == ["feature", "bugfix", "security-review"]
    feature = found[0]
    assert feature.stage("review").needs == feature.stage("test").needs == ("implement",)
    assert feature.stage("approve").is_gate and feature.stage("approve").approvers == ("admin", "owner")
    assert {s.id for s in feature.stages if s.needs == ("approve",)} == {"document", "deploy"}
    catalogue = shipped_agents()
    for d in found:
        definitions.check_catalogue(d, catalogue)


def stage(**fields: Any) -> dict[str, Any]:
    return {"id": "a", "task_type": "coding", **fields}


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "cycle",
        {"name": "w", "stages": [stage(id="a", needs=["c"]), stage(id="b", needs=["a"]), stage(id="c", needs=["b"])]},
        "workflow 'w', stage 'a': field needs: the stages form a cycle: a -> b -> c -> a",
    ),
    (
        "unknown need",
        {"name": "w", "stages": [stage(needs=["nope"])]},
        "workflow 'w', stage 'a': field needs: names no stage of the workflow: 'nope'",
    ),
    (
        "input not upstream",
        {"name": "w", "stages": [stage(id="a"), stage(id="b"), stage(id="c", needs=["a"], inputs=["b"])]},
        "workflow 'w', stage 'c': field inputs: 'b' is not upstream of it",
    ),
    (
        "gate without approvers",
        {"name": "w", "stages": [stage(), {"id": "g", "kind": "gate", "needs": ["a"]}]},
        "workflow 'w', stage 'g': field approvers: a gate needs at least one approver role",
    ),
    (
        "gate approver not a role",
        {"name": "w", "stages": [stage(), {"id": "g", "kind": "gate", "needs": ["a"], "approvers": ["boss"]}]},
        "workflow 'w', stage 'g': field approvers: 'boss': roles are owner, admin, member, viewer",
    ),
    (
        "on_reject downstream",
        {
            "name": "w",
            "stages": [
                stage(),
                {"id": "g", "kind": "gate", "needs": ["a"], "approvers": ["admin"], "on_reject": "b"},
                stage(id="b", needs=["g"]),
            ],
        },
        "workflow 'w', stage 'g': field on_reject: 'b' is not upstream of the gate",
    ),
    (
        "duplicate id",
        {"name": "w", "stages": [stage(), stage()]},
        "workflow 'w', stage 'a': field id: stage ids must be unique",
    ),
    (
        "no type nor role",
        {"name": "w", "stages": [{"id": "a"}]},
        "workflow 'w', stage 'a': field task_type: a task stage needs a task_type or a role",
    ),
    (
        "unknown placeholder",
        {"name": "w", "stages": [stage(title="Do {run.name}")]},
        "workflow 'w', stage 'a': field title: unknown placeholder {run.name}",
    ),
    (
        "placeholder of a stage not an input",
        {"name": "w", "stages": [stage(), stage(id="b", needs=["a"], description="{inputs.a.result}")]},
        "field description: {inputs.a.result} names 'a', which is not one of its inputs",
    ),
    (
        "wrong type",
        {"name": "w", "stages": [stage(retries="2")]},
        "workflow 'w', stage 'a': field retries: Input should be a valid integer",
    ),
    (
        "bad stage id",
        {"name": "w", "stages": [stage(id="Design")]},
        "workflow 'w', stage 'Design': field id: String should match pattern",
    ),
    (
        "unknown field",
        {"name": "w", "stages": [stage(retry=2)]},
        "workflow 'w', stage 'a': field retry: Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(("why", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_definition_is_refused_naming_the_workflow_stage_and_field(
    why: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        definitions.parse(data, "api")
    assert message in str(err.value), str(err.value)


def test_a_bad_file_is_refused_naming_the_file_and_the_workflow() -> None:
    text = '[[workflows]]\nname = "ok"\n[[workflows.stages]]\nid = "a"\ntask_type = "coding"\n'
    text += '[[workflows]]\nname = "broken"\n[[workflows.stages]]\nid = "a"\nkind = "gate"\n'
    with pytest.raises(ConfigError, match=r"workflows\.toml, workflow 'broken', stage 'a': field approvers"):
        definitions.parse_toml(text)
    with pytest.raises(ConfigError, match="not valid TOML"):
        definitions.parse_toml("[[workflows]\n")


def test_unknown_task_types_and_roles_are_refused_against_the_fleet() -> None:
    catalogue = shipped_agents()
    unknown_type = definitions.parse({"name": "w", "stages": [stage(task_type="juggling")]})
    with pytest.raises(FailedPrecondition, match="field task_type: no registered agent takes task type 'juggling'"):
        definitions.check_catalogue(unknown_type, catalogue)
    unknown_role = definitions.parse({"name": "w", "stages": [{"id": "a", "role": "wizard"}]})
    with pytest.raises(FailedPrecondition, match="field role: no registered agent has role 'wizard'"):
        definitions.check_catalogue(unknown_role, catalogue)
    mismatch = definitions.parse({"name": "w", "stages": [{"id": "a", "role": "documenter", "task_type": "coding"}]})
    with pytest.raises(FailedPrecondition, match="no agent of role 'documenter' takes 'coding'"):
        definitions.check_catalogue(mismatch, catalogue)


def test_a_role_only_stage_runs_the_roles_first_capability() -> None:
    d = definitions.parse({"name": "w", "stages": [{"id": "a", "role": "tester"}, {"id": "b", "role": "architect"}]})
    frozen = definitions.resolved(d, shipped_agents())
    assert [s.task_type for s in frozen.stages] == ["testing", "architecture"]
