"""JetStream stream and consumer state as Prometheus gauges (queue depth, consumer lag).

NATS's own monitoring endpoint speaks JSON, not Prometheus; this polls JetStream's
stream and consumer info for the fleet's streams and exports:

- ``vapora_jetstream_stream_messages{stream}``                messages stored
- ``vapora_jetstream_stream_bytes{stream}``                   bytes stored
- ``vapora_jetstream_consumer_pending{stream,consumer}``      not yet delivered (lag)
- ``vapora_jetstream_consumer_ack_pending{stream,consumer}``  delivered, not yet acked
- ``vapora_jetstream_consumer_redelivered{stream,consumer}``  redelivered, not yet acked

The swarm-coordinator runs it every ``VAPORA_JETSTREAM_STATS_S`` seconds (0: off); no other
service does, so the gauges come from one process.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from prometheus_client import Gauge

from vapora_core.aio import Periodic
from vapora_core.bus.topology import STREAMS

log = logging.getLogger("vapora.coordinator.stats")

STREAM_MESSAGES = Gauge("vapora_jetstream_stream_messages", "Messages stored in a JetStream stream.", ["stream"])
STREAM_BYTES = Gauge("vapora_jetstream_stream_bytes", "Bytes stored in a JetStream stream.", ["stream"])
CONSUMER_PENDING = Gauge(
    "vapora_jetstream_consumer_pending", "Messages a consumer has not yet been delivered.", ["stream", "consumer"]
)
CONSUMER_ACK_PENDING = Gauge(
    "vapora_jetstream_consumer_ack_pending",
    "Messages delivered to a consumer, not yet acked.",
    ["stream", "consumer"],
)
CONSUMER_REDELIVERED = Gauge(
    "vapora_jetstream_consumer_redelivered",
    "Messages redelivered to a consumer, not yet acked.",
    ["stream", "consumer"],
)


async def collect_once(js: JetStreamContext) -> None:
    for spec in STREAMS:
        try:
            info = await js.stream_info(spec.name)
        except Exception as exc:  # a stream missing for a moment must not stop collection
            log.debug("stream_info %s failed: %s", spec.name, exc)
            continue
        STREAM_MESSAGES.labels(spec.name).set(info.state.messages)
        STREAM_BYTES.labels(spec.name).set(info.state.bytes)
        try:
            consumers = await js.consumers_info(spec.name)
        except Exception as exc:
            log.debug("consumers_info %s failed: %s", spec.name, exc)
            continue
        for c in consumers:
            name = c.name or ""
            CONSUMER_PENDING.labels(spec.name, name).set(c.num_pending or 0)
            CONSUMER_ACK_PENDING.labels(spec.name, name).set(c.num_ack_pending or 0)
            CONSUMER_REDELIVERED.labels(spec.name, name).set(c.num_redelivered or 0)


class JetStreamStats(Periodic):
    """Polls JetStream every ``interval`` seconds while running."""

    def __init__(self, js: JetStreamContext, interval: float) -> None:
        super().__init__("jetstream-stats", interval, lambda: collect_once(js))
