"""Events of one workspace, live and replayed, for the WebSocket and SSE streams: task status
changes (``events.task.<ws>``, kind ``task``) and workflow run changes (``events.workflow.<ws>``,
kind ``workflow``), read through one filter, ``events.*.<ws>``.

Event ids are the sequence numbers of the JetStream ``EVENTS`` stream, so a client that
reconnects with the last id it saw gets every later event of its workspace, of both kinds, in
stream order, exactly once, for as long as the stream keeps them (its retention window).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from nats.js import api as js_api

from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway import workflow_client
from vapora_api_gateway.clock import iso
from vapora_api_gateway.params import INT64_MAX
from vapora_api_gateway.service import NO_USAGE, usage_of
from vapora_core.bus import Bus, decode, subjects
from vapora_core.errors import DecodeError, InvalidArgument

_STATES = {1: "submitted", 2: "assigned", 3: "running", 4: "done", 5: "failed", 6: "cancelled"}


def event_json(seq: int, e: tasks_pb2.TaskStatusChanged) -> dict[str, Any]:
    return {
        "id": seq,
        "task_id": e.task_id,
        "workspace_id": e.workspace_id,
        "state": _STATES.get(e.state, "unknown"),
        "agent_id": e.agent_id,
        "detail": e.detail,
        "provider": e.provider,
        "model": e.model,
        "execution_id": e.execution_id,
        "task_type": e.task_type,
        "result": e.result,
        "at": iso(e.at.ToNanoseconds()) if e.HasField("at") else "",
        "step": e.step,
        "tool": e.tool,
        **NO_USAGE,
        **usage_of(e),
    }


def _decoded(seq: int, subject: str, data: bytes, headers: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    """An event of the stream as (kind, JSON); None for a kind this API does not stream."""
    kind = subject.split(".")[1]
    if kind == "task":
        return "task", event_json(seq, decode(tasks_pb2.TaskStatusChanged, data, headers))
    if kind == "workflow":
        return "workflow", workflow_client.event(seq, decode(coordinator_pb2.WorkflowRunChanged, data, headers))
    return None


def resume_token(workspace_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{workspace_id}:{seq}".encode()).decode().rstrip("=")


def parse_resume_token(token: str, workspace_id: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        ws, _, seq = raw.rpartition(":")
        value = int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(f"resume_token {token!r} is not a token this API gave out") from None
    if ws != workspace_id:
        raise InvalidArgument("resume_token belongs to another stream")
    if not 0 <= value <= INT64_MAX:
        raise InvalidArgument(f"resume_token {token!r} is not a token this API gave out")
    return value


class EventSource:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._closing = asyncio.Event()

    def close(self) -> None:
        """End every stream now (at shutdown); clients resume with their last event id."""
        self._closing.set()

    async def stream(
        self, workspace_id: str, after: int | None, *, heartbeat_s: float = 15.0
    ) -> AsyncIterator[tuple[str, dict[str, Any]] | None]:
        """(kind, event) after sequence ``after`` (None: only new ones).

        The first item is None, once the subscription exists: a client told so (the SSE stream's
        ``: connected``) can read the tasks as they are and miss no later change. Later None items
        are idle heartbeats.
        """
        js = self.bus.js
        if after is None:
            config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.NEW)
        else:
            config = js_api.ConsumerConfig(
                deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
            )
        sub = await js.subscribe(
            subjects.workspace_events(workspace_id),
            stream="EVENTS",
            ordered_consumer=True,
            config=config,
            idle_heartbeat=5.0,
        )
        try:
            yield None
            # The pending read is never cancelled by an idle timeout (so no message can be lost
            # to one); it only stops when the stream ends or the gateway shuts down.
            closing = asyncio.ensure_future(self._closing.wait())
            getter: asyncio.Future[Any] | None = None
            try:
                while True:
                    if getter is None:
                        getter = asyncio.ensure_future(sub.next_msg(timeout=None))
                    done, _ = await asyncio.wait(
                        {getter, closing}, timeout=heartbeat_s, return_when=asyncio.FIRST_COMPLETED
                    )
                    if closing in done:
                        return
                    if getter not in done:
                        yield None
                        continue
                    msg, getter = getter.result(), None
                    seq = msg.metadata.sequence.stream
                    if after is not None and seq <= after:
                        continue
                    try:
                        decoded = _decoded(seq, msg.subject, msg.data, dict(msg.headers or {}))
                    except DecodeError:
                        continue
                    if decoded is not None:
                        yield decoded
            finally:
                for pending in (getter, closing):
                    if pending is not None:
                        pending.cancel()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
