"""Bus edge of the registry: heartbeats on ``agents.heartbeat.<id>``."""

from __future__ import annotations

import logging

from vapora.agents.v1 import agents_pb2
from vapora_agent_registry.directory import AgentDirectory
from vapora_core.bus import Delivery
from vapora_core.errors import NotFound

log = logging.getLogger("vapora.registry")


class HeartbeatSubscriber:
    def __init__(self, directory: AgentDirectory) -> None:
        self._directory = directory

    async def __call__(self, beat: agents_pb2.AgentHeartbeat, delivery: Delivery) -> None:
        try:
            await self._directory.heartbeat(beat)
        except NotFound:
            # Not an error of the message: the runtime re-registers when its periodic
            # gRPC Heartbeat check answers NOT_FOUND.
            log.debug("heartbeat from unregistered agent %s ignored", beat.agent_id)
