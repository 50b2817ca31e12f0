"""Task intake, the coordinator's policy: one durable consumer per priority on ``TASKS``.

The consumer is the bus's (:mod:`vapora_core.bus.consumer`): lanes in priority order, a lower one
taken only once every higher one is known to be empty, so under a backlog critical goes before
high before normal before low — even across pull requests and restarts. What is the
coordinator's own:

- the four specs, ``coordinator-tasks-<priority>`` on ``tasks.*.<priority>`` (a work-queue stream
  allows no overlapping consumers): redelivery is unlimited, so a task no agent can take yet waits
  in the stream (nak with a delay, :class:`~vapora_core.bus.Hold`), and the coordinator bounds the
  failures itself (``max_failures`` deliveries, then a dead letter);
- how many tasks each keeps buffered or requested (``VAPORA_BUFFER_PER_PRIORITY``, and the ack
  pending it allows), the ack wait (``VAPORA_ACK_WAIT_S``), the workers (``VAPORA_WORKERS``) and
  how many buffered tasks of one priority a worker takes at once (``VAPORA_INTAKE_BATCH``);
- the batch handler (:func:`vapora_swarm_coordinator.subscribers.subscribe_tasks`).
"""

from __future__ import annotations

from vapora_core.bus import PRIORITIES, ConsumerSpec

MAX_FAILURES = 10  # deliveries a task whose handling keeps failing gets before it is dead-lettered


def task_consumer(priority: str, *, buffer: int = 64, ack_wait_s: float = 30.0) -> ConsumerSpec:
    """The durable consumer of one priority (``tasks.*.<priority>``)."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    return ConsumerSpec(
        durable=f"coordinator-tasks-{priority}",
        stream="TASKS",
        filter_subjects=(f"tasks.*.{priority}",),
        ack_wait_s=ack_wait_s,
        max_deliver=-1,
        max_failures=MAX_FAILURES,
        max_ack_pending=max(1000, 4 * buffer),
        batch_size=buffer,
        description=f"swarm-coordinator: assigns {priority} tasks.",
    )


def task_consumers(*, buffer: int = 64, ack_wait_s: float = 30.0) -> tuple[ConsumerSpec, ...]:
    """The four task consumers, highest priority first: the lanes of the intake."""
    return tuple(task_consumer(p, buffer=buffer, ack_wait_s=ack_wait_s) for p in PRIORITIES)
