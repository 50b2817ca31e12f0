"""ManualClock: the time is what the test last set, and nothing else moves it."""

from __future__ import annotations

import time

from vapora_testing.clock import ManualClock


def test_a_manual_clock_reads_what_the_test_set_and_stands_still_otherwise() -> None:
    clock = ManualClock(1000.0)
    assert clock() == 1000.0
    time.sleep(0.01)
    assert clock() == 1000.0
    clock.now += 60
    assert clock() == 1060.0
    assert ManualClock()() == 0.0
