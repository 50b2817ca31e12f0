"""An assignment's stored ranking: exact, in order, and readable in the older JSON form."""

from __future__ import annotations

import json

from vapora_swarm_coordinator import ranking
from vapora_swarm_coordinator.scoring import Candidate, Evidence, Score, rank


def test_a_packed_ranking_reads_back_exactly_best_first() -> None:
    known = Evidence(success_rate=0.8, expertise=0.7, confidence=0.35, executions=7)
    ranked = rank([Candidate("agent-é", 2, known), Candidate("b", 0, None, 0.9), Candidate("c", 11, None)])
    got = ranking.unpack(ranking.pack(ranked))
    assert got == [(c.agent_id, s) for c, s in ranked]
    assert [type(v) for v in got[0][1]] == [float, int, float, float, float, float, bool]
    assert ranking.unpack(ranking.EMPTY) == []


def test_records_written_before_keep_their_json_ranking() -> None:
    old = json.dumps([["a1", 0.9, 1, 0.45, 0.8, 1.0, 0.735, True], ["a2", 0.5, 0, 0.5, 0.5, 0.0, 0.4, False]])
    assert ranking.unpack(old) == [
        ("a1", Score(0.9, 1, 0.45, 0.8, 1.0, 0.735, True)),
        ("a2", Score(0.5, 0, 0.5, 0.5, 0.0, 0.4, False)),
    ]
    assert ranking.unpack("[]") == ranking.unpack(None) == []
