"""The coordinator exports JetStream state as gauges, and only it: from its own setting."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from vapora_core.bus import Bus, subjects
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stats import STREAM_MESSAGES
from vapora_testing.polling import eventually


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_jetstream_gauges_are_exported_every_interval_and_not_at_all_when_off(
    bus: Bus, coordinator_settings: CoordinatorSettings
) -> None:
    for i in range(2):
        await bus.publish_raw(subjects.feedback("ws1"), b"feedback %d" % i)
    STREAM_MESSAGES.labels("FEEDBACK").set(-1)  # what no collection has written

    off = CoordinatorApp(coordinator_settings.model_copy(update={"jetstream_stats_s": 0}))
    await off.start()
    try:
        await asyncio.sleep(0.5)
    finally:
        await off.stop()
    assert gauge("vapora_jetstream_stream_messages", stream="FEEDBACK") == -1

    on = CoordinatorApp(coordinator_settings.model_copy(update={"jetstream_stats_s": 0.2}))
    await on.start()
    try:
        await eventually(
            lambda: gauge("vapora_jetstream_stream_messages", stream="FEEDBACK") == 2,
            timeout=5.0,
            what="the FEEDBACK stream gauge at 2",
        )
        pending = gauge("vapora_jetstream_consumer_pending", stream="TASKS", consumer="coordinator-tasks-low")
    finally:
        await on.stop()
    assert gauge("vapora_jetstream_stream_messages", stream="FEEDBACK") == 2
    assert pending == 0  # the coordinator's own task consumers are among those it reports
