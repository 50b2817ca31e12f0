"""Retention: the records of tasks that ended long ago are deleted, so the store does not grow without end.

Every ``retention_interval_s`` (and at start) the assignments of tasks that ended (done, failed,
cancelled) more than ``retention_days`` ago are deleted; an assigned task is never deleted,
however old. ExplainAssignment of such a task then answers NOT_FOUND, and a task cancelled
before it arrived could be assigned if it arrived after that.
"""

from __future__ import annotations

import logging

from vapora_swarm_coordinator import metrics
from vapora_swarm_coordinator.repository import AssignmentRepository

log = logging.getLogger("vapora.coordinator")

DAY_S = 86400.0


async def sweep(repo: AssignmentRepository, *, days: float, now_s: float) -> int:
    """Delete the assignments of tasks that ended more than ``days`` before ``now_s``; how many."""
    deleted = await repo.delete_finished_before(now_s - days * DAY_S)
    metrics.RETENTION_DELETED.inc(deleted)
    if deleted:
        log.info("retention removed %d assignments of tasks that ended over %.0f days ago", deleted, days)
    return deleted
