"""The seed's score and the task-type rules, pinned to hand-computed values."""

from __future__ import annotations

import pytest
from vapora_swarm_coordinator.inference import infer_task_type
from vapora_swarm_coordinator.scoring import Candidate, Evidence, load_score, rank, score


def test_full_score_is_point_three_load_score_plus_point_five_expertise_plus_point_two_confidence() -> None:
    s = score(1, Evidence(success_rate=0.8, expertise=0.9, confidence=0.5, executions=10), learning=True)
    assert s.load_score == pytest.approx(0.4)  # 0.8 / (1 + 1)
    assert s.total == pytest.approx(0.3 * 0.4 + 0.5 * 0.9 + 0.2 * 0.5)  # 0.67
    assert s.total == pytest.approx(0.67)
    assert s.learning_data


def test_without_learning_data_the_load_decides_alone() -> None:
    ranked = rank([Candidate("busy", 2, None), Candidate("idle", 0, None)])
    assert [c.agent_id for c, _ in ranked] == ["idle", "busy"]
    assert ranked[0][1].total == pytest.approx(1.0)
    assert ranked[1][1].total == pytest.approx(load_score(1.0, 2)) == pytest.approx(1 / 3)
    assert not any(s.learning_data for _, s in ranked)


def test_an_expert_beats_an_idle_failing_agent_and_a_newcomer_gets_the_neutral_prior() -> None:
    good = Evidence(success_rate=1.0, expertise=1.0, confidence=0.5, executions=10)
    bad = Evidence(success_rate=0.0, expertise=0.0, confidence=0.5, executions=10)
    ranked = rank([Candidate("bad", 0, bad), Candidate("good", 1, good), Candidate("new", 0, None)])
    assert [c.agent_id for c, _ in ranked] == ["good", "new", "bad"]
    new = ranked[1][1]
    assert new.total == pytest.approx(0.3 * 0.5 + 0.5 * 0.5)


@pytest.mark.parametrize(
    ("title", "description", "expected"),
    [
        ("Write unit tests for the parser", "", "testing"),
        ("Review PR 42", "please review the change", "review"),
        ("Fix the login bug", "users cannot sign in", "coding"),
        ("Update the README", "document the new flags", "documentation"),
        ("Deploy to kubernetes", "helm chart", "devops"),
        ("Design the event system", "architecture for scalability", "architecture"),
        ("Check for SQL injection", "security audit of the API", "security"),
        ("Something vague", "", "coding"),
    ],
)
def test_task_type_is_inferred_by_the_documented_keyword_rules(title: str, description: str, expected: str) -> None:
    assert infer_task_type(title, description) == expected
