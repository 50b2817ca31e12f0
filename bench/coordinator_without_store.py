"""The swarm-coordinator with its assignment writes kept in a dict: a measuring device, never a
mode of the product.

    bench/bench_coordinator.py --without-store

runs this in place of ``python -m vapora_swarm_coordinator``. Everything else is the real service
(NATS consumers, scoring, publishes, acks, gRPC); only ``AssignmentRepository.write_each`` and
``get`` are replaced, so a task's first assignment and its finish cost no store round trip. What
the end to end bench measures this way is the most any change to the store could give: the
messaging, scoring and protobuf work of a task, with the store's share removed.

Nothing survives a restart here, so exactly-once assignment across a crash does not hold.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

from vapora_swarm_coordinator import repository
from vapora_swarm_coordinator.repository import ASSIGNED, Create, Holder, Write

_rows: dict[str, dict[str, Any]] = {}


async def _write_each(self: repository.AssignmentRepository, items: list[Write]) -> list[bool | Holder | None]:
    """What the store's transaction returns (see ``AssignmentRepository.write_each``), from a dict."""
    out: list[bool | Holder | None] = []
    for item in items:
        if isinstance(item, Create):
            task_id = str(item.row["task_id"])
            out.append(task_id not in _rows)
            _rows.setdefault(task_id, dict(item.row))
            continue
        row = _rows.get(item.task_id)
        if row is None or row["state"] != ASSIGNED or row["job_id"] != item.job_id:
            out.append(None)
            continue
        row.update(item.changes)
        out.append(Holder.of(row))
    return out


async def _get(self: repository.AssignmentRepository, task_id: str) -> dict[str, Any] | None:
    return _rows.get(task_id)


if __name__ == "__main__":
    repository.AssignmentRepository.write_each = _write_each  # type: ignore[method-assign]
    repository.AssignmentRepository.get = _get  # type: ignore[method-assign]
    sys.argv = ["vapora_swarm_coordinator"]
    runpy.run_module("vapora_swarm_coordinator", run_name="__main__")
