"""Protobuf codec for bus payloads; the schema (full message name) travels in a header."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError as PbDecodeError
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.unknown_fields import UnknownFieldSet

from vapora_core.errors import DecodeError

SCHEMA_HEADER = "vapora-schema"

M = TypeVar("M", bound=Message)


def timestamp(seconds: float) -> Timestamp:
    """A protobuf ``Timestamp`` for epoch ``seconds``."""
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def schema_of(message: Message | type[Message]) -> str:
    """``vapora.tasks.v1.TaskSubmitted``: the package carries the schema version."""
    return message.DESCRIPTOR.full_name


def encode(message: Message) -> tuple[bytes, dict[str, str]]:
    return message.SerializeToString(), {SCHEMA_HEADER: schema_of(message)}


def decode(cls: type[M], payload: bytes, headers: dict[str, str] | None = None) -> M:
    """Decode ``payload`` as ``cls``, or raise :class:`DecodeError` saying why not.

    Protobuf's wire format accepts many byte strings as "a message with unknown
    fields", so a payload with no schema header that decodes only into unknown
    fields is refused too.
    """
    want = schema_of(cls)
    got = (headers or {}).get(SCHEMA_HEADER, "")
    if got and got != want:
        raise DecodeError(f"schema header says {got!r}, this subject carries {want!r}")
    if not payload:
        raise DecodeError(f"empty payload; expected a {want}")
    message = cls()
    try:
        message.ParseFromString(payload)
    except (PbDecodeError, ValueError) as exc:
        raise DecodeError(f"payload does not decode as {want}: {exc}") from exc
    if len(UnknownFieldSet(message)) and not got:
        raise DecodeError(f"payload does not decode as {want}: only unknown fields")
    return message
