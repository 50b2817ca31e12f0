"""An assignment's stored ranking: exact, in order; anything else is refused, saying what it is."""

from __future__ import annotations

import pytest

from vapora_core.errors import Internal
from vapora_swarm_coordinator import ranking
from vapora_swarm_coordinator.scoring import Candidate, Evidence, rank


def test_a_packed_ranking_reads_back_exactly_best_first() -> None:
    known = Evidence(success_rate=0.8, expertise=0.7, confidence=0.35, executions=7)
    ranked = rank([Candidate("agent-é", 2, known), Candidate("b", 0, None, 0.9), Candidate("c", 11, None)])
    got = ranking.unpack(ranking.pack(ranked))
    assert got == [(c.agent_id, s) for c, s in ranked]
    assert [type(v) for v in got[0][1]] == [float, int, float, float, float, float, bool, float, float, float]
    assert ranking.unpack(ranking.EMPTY) == []


def test_a_thompson_ranking_keeps_each_draw_and_its_beta_parameters_exactly() -> None:
    import random

    from vapora_swarm_coordinator import thompson

    known = Evidence(success_rate=0.8, expertise=0.7, confidence=0.35, executions=7)
    ranked = thompson.rank(random.Random(5), [Candidate("a", 1, known), Candidate("b", 0, None)], {"a": (4.2, 1.3)})
    got = ranking.unpack(ranking.pack(ranked))
    assert got == [(c.agent_id, s) for c, s in ranked]
    assert all(s.policy == "thompson" and s.alpha > 1 and s.beta > 1 and s.draw > 0 for _, s in got)


def test_a_ranking_that_is_not_what_pack_wrote_is_refused_naming_what_is_wrong() -> None:
    packed = ranking.pack(rank([Candidate("agent-1", 0, None), Candidate("agent-2", 1, None)]))
    with pytest.raises(Internal, match="ranking is str, not the bytes"):
        ranking.unpack("[]")
    with pytest.raises(Internal, match="ranking is NoneType"):
        ranking.unpack(None)
    with pytest.raises(Internal, match="ends inside an agent id"):
        ranking.unpack(packed[:-3])
    with pytest.raises(Internal, match="ends inside a candidate"):
        ranking.unpack(packed + b"\x00\x01")
    broken = bytearray(packed)
    broken[-1] = 0xFF  # the last agent id's last byte
    with pytest.raises(Internal, match="not UTF-8"):
        ranking.unpack(bytes(broken))
