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


def test_on_a_cold_start_an_equal_load_goes_to_the_higher_declared_proficiency() -> None:
    ranked = rank([Candidate("developer", 0, None, 0.5), Candidate("tester", 0, None, 0.9)])
    assert [c.agent_id for c, _ in ranked] == ["tester", "developer"]
    assert [s.total for _, s in ranked] == [1.0, 1.0]  # the load alone scores; the declaration only breaks the tie
    ranked = rank([Candidate("developer", 0, None, 0.5), Candidate("tester", 1, None, 0.9)])
    assert [c.agent_id for c, _ in ranked] == ["developer", "tester"]  # but never outweighs load


def test_a_newcomer_starts_from_its_declared_proficiency_and_none_declared_is_neutral() -> None:
    known = Evidence(success_rate=0.6, expertise=0.6, confidence=1.0, executions=20)  # 0.18 + 0.3 + 0.2 = 0.68
    ranked = rank([Candidate("known", 0, known), Candidate("declared", 0, None, 0.95), Candidate("silent", 0, None, 0)])
    assert [c.agent_id for c, _ in ranked] == ["declared", "known", "silent"]
    declared, silent = ranked[0][1], ranked[2][1]
    assert declared.total == pytest.approx(0.3 * 0.95 + 0.5 * 0.95)  # 0.76
    assert (declared.success_rate, declared.expertise, declared.confidence) == (0.95, 0.95, 0.0)
    assert not declared.learning_data
    assert silent.total == pytest.approx(0.3 * 0.5 + 0.5 * 0.5)


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


def test_the_views_bounded_walk_picks_exactly_the_head_of_the_full_ranking() -> None:
    import random

    from vapora.agents.v1 import agents_pb2
    from vapora.kg.v1 import kg_pb2
    from vapora_swarm_coordinator.scoring import has_data
    from vapora_swarm_coordinator.state import FleetView

    rng = random.Random(5)
    compared = 0
    for trial in range(200):
        view = FleetView()
        n = rng.randrange(1, 80)
        view.set_agents(
            agents_pb2.Agent(
                id=f"a{i:03d}",
                status=agents_pb2.AGENT_STATUS_HEALTHY if rng.random() < 0.9 else agents_pb2.AGENT_STATUS_UNHEALTHY,
                max_concurrency=rng.choice([0, 1, 2, 3]),
                workspace_id=rng.choice(["", "", "ws1", "ws2"]),
                capabilities=[agents_pb2.Capability(task_type="coding", proficiency=rng.choice([0.0, 0.5, 0.9]))],
            )
            for i in range(n)
        )
        for i in range(n):
            view.add_load(f"a{i:03d}", rng.choice([0, 0, 1, 2, 3]))
            if trial % 4 and rng.random() < 0.6:
                view.set_profile(
                    kg_pb2.LearningProfile(
                        agent_id=f"a{i:03d}",
                        task_type="coding",
                        success_rate=rng.choice([0.25, 0.5, 0.75, 1.0]),
                        expertise=rng.choice([0.2, 0.5, 0.9]),
                        confidence=rng.choice([0.5, 1.0]),
                        executions=rng.choice([0, 10, 20]),
                    )
                )
        exclude = frozenset({f"a{rng.randrange(n):03d}"})
        cands = view.candidates(view.capable("coding", "ws1", exclude), "coding")
        every = view.capable("coding", "ws1") + view.capable("coding", "ws2")
        if any(has_data(c.evidence) for c in cands) != any(has_data(view.profiles.get((a, "coding"))) for a in every):
            continue  # learning mode is decided over all capable agents there, over those with room in rank()
        compared += 1
        for k in (1, 3, 10):
            assert view.best("coding", "ws1", k, exclude) == rank(cands)[:k]
    assert compared > 100


def test_the_views_lazy_heap_stays_exact_while_loads_and_profiles_change_between_picks() -> None:
    import random

    from vapora.agents.v1 import agents_pb2
    from vapora.kg.v1 import kg_pb2
    from vapora_swarm_coordinator.state import FleetView

    rng = random.Random(11)
    view = FleetView()
    n = 60
    view.set_agents(
        agents_pb2.Agent(
            id=f"a{i:03d}",
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            max_concurrency=rng.choice([0, 2, 4]),
            workspace_id=rng.choice(["", "", "ws1", "ws2"]),
            capabilities=[agents_pb2.Capability(task_type=t) for t in ("coding", "review")],
        )
        for i in range(n)
    )
    checked = 0
    for step in range(3000):
        agent = f"a{rng.randrange(n):03d}"
        action = rng.random()
        if action < 0.4:
            view.add_load(agent, 1)
        elif action < 0.7:
            view.add_load(agent, -1)
        elif action < 0.8 and step > 500:  # learning data arrives after a while: the mode switches once
            view.set_profile(
                kg_pb2.LearningProfile(
                    agent_id=agent,
                    task_type="coding",
                    success_rate=rng.choice([0.25, 0.5, 1.0]),
                    expertise=rng.choice([0.2, 0.9]),
                    confidence=rng.choice([0.5, 1.0]),
                    executions=rng.choice([5, 20]),
                )
            )
        else:
            exclude = frozenset({agent}) if rng.random() < 0.3 else frozenset()
            cands = view.candidates(view.capable("coding", "ws1", exclude), "coding")
            for k in (1, 10):
                assert view.best("coding", "ws1", k, exclude) == rank(cands)[:k], step
            checked += 1
    assert checked > 300
