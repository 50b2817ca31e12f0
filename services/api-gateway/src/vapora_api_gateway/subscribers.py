"""Bus edges: task status events (GATEWAY_EVENTS) update the task read model; workflow run changes
(GATEWAY_WORKFLOW_EVENTS) put the tasks of workflow stages on the board when they start."""

from __future__ import annotations

import logging

from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.service import Tasks
from vapora_core.bus import Delivery

log = logging.getLogger("vapora.gateway.events")


class StatusEvents:
    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks

    async def on_status(self, event: tasks_pb2.TaskStatusChanged, delivery: Delivery) -> None:
        updated = await self.tasks.apply(event)
        if updated is None:
            log.debug("ignored a stale or unknown status event for task %s", event.task_id)

    async def on_workflow(self, event: coordinator_pb2.WorkflowRunChanged, delivery: Delivery) -> None:
        if await self.tasks.stage_started(event):
            log.debug("task %s of workflow run %s put on the board", event.stage.task_id, event.run_id)
