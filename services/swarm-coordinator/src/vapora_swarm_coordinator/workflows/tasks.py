"""The task of a stage's attempt, as the coordinator submits it on ``tasks.<type>.<priority>``.

Its id is ``wf-<run_id>-<stage_id>-<attempt>`` (the JetStream msg id: a re-publish is the same
message), and the task is built from stored state only (its ``created_at`` is the attempt's
start), so publishing it again, after a crash or a replay, sends the same bytes. It carries the
run and stage, the run's branch and, for a role-constrained stage, the role. Its title and
description are the stage's templates with ``{run.title}``, ``{run.description}`` and
``{inputs.<stage>.result|verdict|commit|agent}`` filled in; the description then lists the
outcome of each input stage and, when a rejection or a failure sent the run back to this stage,
that comment.
"""

from __future__ import annotations

import re

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus.codec import timestamp
from vapora_swarm_coordinator.workflows.definitions import PLACEHOLDER, StageDef
from vapora_swarm_coordinator.workflows.model import Run, Stage

PRIORITY = {
    "critical": common_pb2.PRIORITY_CRITICAL,
    "high": common_pb2.PRIORITY_HIGH,
    "normal": common_pb2.PRIORITY_NORMAL,
    "low": common_pb2.PRIORITY_LOW,
}
TITLE_LIMIT = 500
INPUT_LIMIT = 4000  # characters of one input stage's result in a task's description


def _field(stage: Stage | None, name: str) -> str:
    if stage is None:
        return ""
    return stage.agent_id if name == "agent" else str(getattr(stage, name))


def render(text: str, run: Run, inputs: dict[str, Stage]) -> str:
    """``text`` with its placeholders filled in (the definition's checks allowed only known ones)."""

    def fill(m: re.Match[str]) -> str:
        parts = m.group(1).split(".")
        if parts[0] == "run":
            return run.title if parts[1] == "title" else run.description
        if parts[0] == "inputs" and len(parts) == 3:
            return _field(inputs.get(parts[1]), parts[2])
        return m.group(0)

    return PLACEHOLDER.sub(fill, text)


def _inputs_section(sdef: StageDef, inputs: dict[str, Stage]) -> str:
    blocks = []
    for sid in sdef.inputs:
        st = inputs[sid]
        head = f"### {sid} ({st.task_type or 'gate'}"
        head += f", by {st.agent_id})" if st.agent_id else ")"
        lines = [head, st.result[:INPUT_LIMIT] or "(no result text)"]
        if st.verdict:
            lines.append(f"Verdict: {st.verdict}")
        if st.commit:
            lines.append(f"Commit: {st.commit}")
        blocks.append("\n".join(lines))
    return "## Inputs from earlier stages\n\n" + "\n\n".join(blocks) if blocks else ""


def stage_task(run: Run, sdef: StageDef) -> tasks_pb2.Task:
    """The task of ``sdef``'s current attempt in ``run``."""
    st = run.stages[sdef.id]
    inputs = {sid: run.stages[sid] for sid in sdef.inputs}
    parts = [render(sdef.description, run, inputs).strip() or run.description.strip()]
    parts.append(_inputs_section(sdef, inputs))
    if st.input_comment:
        parts.append(f"## Sent back to this stage\n\n{st.input_comment}")
    return tasks_pb2.Task(
        id=st.task_id,
        workspace_id=run.workspace_id,
        project_id=run.project_id,
        title=render(sdef.title_template(), run, inputs).strip()[:TITLE_LIMIT] or sdef.id,
        description="\n\n".join(p for p in parts if p),
        task_type=st.task_type,
        priority=PRIORITY[sdef.priority],
        labels={"workflow": run.workflow, "workflow_run": run.id, "stage": sdef.id, "attempt": str(st.attempt)},
        submitted_by=run.created_by,
        created_at=timestamp(st.started_s),
        workflow_run_id=run.id,
        stage_id=sdef.id,
        branch=run.branch,
        required_role=sdef.role,
    )
