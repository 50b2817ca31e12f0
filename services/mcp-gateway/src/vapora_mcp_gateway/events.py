"""McpCall events on ``mcp.calls.<server>``; the call id is the message id."""

from __future__ import annotations

from vapora_core.bus import Bus, subjects
from vapora_core.retry import call_with_retry
from vapora_mcp_gateway.messages import call_message
from vapora_mcp_gateway.models import CallRecord


class CallPublisher:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def __call__(self, rec: CallRecord) -> None:
        message = call_message(rec)
        subject = subjects.mcp_call(rec.server)

        async def once() -> object:
            return await self._bus.publish(subject, message, msg_id=rec.id)

        await call_with_retry(once, attempts=3)
