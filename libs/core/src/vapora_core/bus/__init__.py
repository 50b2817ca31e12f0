"""The event bus: NATS JetStream through nats-py, protobuf payloads, one way to consume, dead-lettering."""

from vapora_core.bus.bus import Bus
from vapora_core.bus.codec import SCHEMA_HEADER, decode, encode
from vapora_core.bus.consumer import Consumer
from vapora_core.bus.delivery import BatchHandler, Delivery, Handler, Hold
from vapora_core.bus.headers import DLQ_CONSUMER, DLQ_KIND, DLQ_REASON, DLQ_SUBJECT
from vapora_core.bus.topology import CONSUMERS, PRIORITIES, STREAMS, ConsumerSpec, StreamSpec, subjects

__all__ = [
    "CONSUMERS",
    "DLQ_CONSUMER",
    "DLQ_KIND",
    "DLQ_REASON",
    "DLQ_SUBJECT",
    "PRIORITIES",
    "SCHEMA_HEADER",
    "STREAMS",
    "BatchHandler",
    "Bus",
    "Consumer",
    "ConsumerSpec",
    "Delivery",
    "Handler",
    "Hold",
    "StreamSpec",
    "decode",
    "encode",
    "subjects",
]
