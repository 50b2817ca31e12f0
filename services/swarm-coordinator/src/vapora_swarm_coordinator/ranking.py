"""How an assignment keeps its ranking: the best candidates, best first, each with its score breakdown.

One bytes value per assignment. Per candidate: its :class:`~vapora_swarm_coordinator.scoring.Score`
fields as fixed-size binary (the doubles exact), then its agent id (UTF-8, its length in the
fixed part). :func:`unpack` reads it back; anything else is refused with :class:`Internal` (the
store holds only what :func:`pack` wrote).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NamedTuple

from vapora_core.errors import Internal
from vapora_swarm_coordinator.scoring import Candidate, Score

# success_rate, load, load_score, expertise, confidence, total, learning_data, draw, alpha, beta;
# then the agent id's length
_ENTRY = struct.Struct("<dqdddd?dddH")
EMPTY = b""


class Standing(NamedTuple):
    """One candidate of a stored ranking."""

    agent_id: str
    score: Score


def pack(ranked: Iterable[tuple[Candidate, Score]]) -> bytes:
    parts: list[bytes] = []
    for candidate, score in ranked:
        agent_id = candidate.agent_id.encode()
        parts.append(_ENTRY.pack(*score, len(agent_id)))
        parts.append(agent_id)
    return b"".join(parts)


def unpack(value: object) -> list[Standing]:
    """The candidates :func:`pack` wrote, best first."""
    if not isinstance(value, bytes):
        raise Internal(f"an assignment's ranking is {type(value).__name__}, not the bytes ranking.pack writes")
    out: list[Standing] = []
    at = 0
    while at < len(value):
        if at + _ENTRY.size > len(value):
            raise Internal(f"an assignment's ranking ends inside a candidate ({len(value)} bytes)")
        *fields, size = _ENTRY.unpack_from(value, at)
        at += _ENTRY.size
        if at + size > len(value):
            raise Internal(f"an assignment's ranking ends inside an agent id ({len(value)} bytes)")
        try:
            agent_id = value[at : at + size].decode()
        except UnicodeDecodeError as exc:
            raise Internal(f"an assignment's ranking holds an agent id that is not UTF-8: {exc}") from None
        out.append(Standing(agent_id, Score(*fields)))
        at += size
    return out
