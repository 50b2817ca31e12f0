"""The event bus: NATS JetStream through FastStream, protobuf payloads, dead-lettering."""

from vapora_core.bus.bus import Bus, Delivery, Hold
from vapora_core.bus.codec import SCHEMA_HEADER, decode, encode
from vapora_core.bus.topology import CONSUMERS, STREAMS, ConsumerSpec, StreamSpec, subjects

__all__ = [
    "CONSUMERS",
    "SCHEMA_HEADER",
    "STREAMS",
    "Bus",
    "ConsumerSpec",
    "Delivery",
    "Hold",
    "StreamSpec",
    "decode",
    "encode",
    "subjects",
]
