"""The room queue: who gets a freed slot while every capable agent is full."""

from __future__ import annotations

from vapora.common.v1 import common_pb2
from vapora_swarm_coordinator.waiting import RoomQueue

LOW, NORMAL, CRITICAL = common_pb2.PRIORITY_LOW, common_pb2.PRIORITY_NORMAL, common_pb2.PRIORITY_CRITICAL


def test_the_highest_priority_goes_first_then_the_first_come() -> None:
    q = RoomQueue()
    low = q.join("coding", "ws1", LOW)
    normal_1 = q.join("coding", "ws1", NORMAL)
    critical = q.join("coding", "ws1", CRITICAL)
    normal_2 = q.join("coding", "ws1", NORMAL)
    turns = []
    for _ in range(4):
        first = next(x for x in (low, normal_1, critical, normal_2) if q.first(x))
        turns.append(first)
        q.leave(first)
    assert turns == [critical, normal_1, normal_2, low]


def test_a_newcomer_queues_behind_a_waiter_of_its_priority_or_higher_only() -> None:
    q = RoomQueue()
    q.join("coding", "ws1", NORMAL)
    assert q.ahead("coding", "ws1", LOW)
    assert q.ahead("coding", "ws1", NORMAL)
    assert not q.ahead("coding", "ws1", CRITICAL)
    assert not q.ahead("review", "ws1", LOW)  # another task type
    assert not q.ahead("coding", "ws2", LOW)  # another workspace: other agents may serve it


def test_room_wakes_the_first_of_each_queue_and_leaving_wakes_the_next() -> None:
    q = RoomQueue()
    a = q.join("coding", "ws1", CRITICAL)
    b = q.join("coding", "ws1", LOW)
    c = q.join("review", "ws1", LOW)
    q.room_freed()
    assert a.woken.is_set() and c.woken.is_set() and not b.woken.is_set()
    q.leave(a)
    assert b.woken.is_set() and q.first(b)
    q.leave(b)
    q.leave(c)
    assert not q.ahead("coding", "ws1", LOW) and not q.ahead("review", "ws1", LOW)
