"""How an assignment keeps its ranking: the best candidates, best first, each with its score breakdown.

One bytes value per assignment. Per candidate: its :class:`~vapora_swarm_coordinator.scoring.Score`
fields as fixed-size binary (the doubles exact), then its agent id. The JSON text of the same
numbers spent most of its time formatting floats, on every assignment; packing them is several
times cheaper. Records written before hold the JSON form, ``[[agent_id, *Score fields], ...]``;
:func:`unpack` reads both.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable

from vapora_swarm_coordinator.scoring import Candidate, Score

# success_rate, load, load_score, expertise, confidence, total, learning_data; then the agent id's length
_ENTRY = struct.Struct("<dqdddd?H")
EMPTY = b""


def pack(ranked: Iterable[tuple[Candidate, Score]]) -> bytes:
    parts: list[bytes] = []
    for candidate, score in ranked:
        agent_id = candidate.agent_id.encode()
        parts.append(_ENTRY.pack(*score, len(agent_id)))
        parts.append(agent_id)
    return b"".join(parts)


def unpack(value: object) -> list[tuple[str, Score]]:
    """``(agent_id, score)`` per candidate, best first, from what :func:`pack` wrote or the older JSON."""
    if not isinstance(value, bytes):
        return [(str(agent_id), Score(*fields)) for agent_id, *fields in json.loads(str(value or "[]"))]
    out: list[tuple[str, Score]] = []
    at = 0
    while at < len(value):
        *fields, size = _ENTRY.unpack_from(value, at)
        at += _ENTRY.size
        out.append((value[at : at + size].decode(), Score(*fields)))
        at += size
    return out
