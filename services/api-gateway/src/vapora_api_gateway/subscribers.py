"""Bus edge: task status events (GATEWAY_EVENTS) update the task read model."""

from __future__ import annotations

import logging

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
