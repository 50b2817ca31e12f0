"""The board's order of tasks as one indexed string, so a column's page is a range scan.

A list of one state (a board column) reads ``WHERE workspace_id = $ws AND state = $state ORDER
BY created_ns DESC, tid DESC LIMIT n``. SurrealDB serves the filter from an index but not the
order: it reads every task of the workspace in that state and sorts them, so a column cost its
size (docs/performance.md). So each task carries ``board``, a string that sorts the way a column
lists:

    <workspace_id>/<state>/<INT64_MAX - created_ns, 19 digits>.<tid, each hex digit d as 15 - d>

Ascending ``board`` is newest first, and among tasks of the same instant, the higher ``tid``
first: the list's order. ``order_key`` (everything after the state) is written with the row and
never changes; ``board`` is a field the store computes on every write of a task (``DEFINE FIELD
… VALUE``), so whatever changes a task's state moves it in the index, in the same write. A
column's page is then ``board > <from> AND board < <to> ORDER BY board LIMIT n`` over the
``task_board`` index, which stops after n entries.
"""

from __future__ import annotations

from vapora_api_gateway.params import INT64_MAX

__all__ = ["DEFINE", "TID_LENGTH", "column_range", "order_key"]

DEFINE: tuple[str, ...] = (
    "DEFINE FIELD OVERWRITE board ON task VALUE string::concat(workspace_id, '/', state, '/', order_key)",
    "DEFINE INDEX IF NOT EXISTS task_board ON task FIELDS board",
)

TID_LENGTH = 32  # a task's tid: 32 hex digits (a new id, or a digest's first 32)
_DESCENDING = str.maketrans("0123456789abcdef", "fedcba9876543210")
_ABOVE_EVERY_KEY = "~"  # sorts after every digit


def order_key(created_ns: int, tid: str) -> str:
    """The part of ``board`` that orders a column: newest first, then the higher ``tid``."""
    return f"{INT64_MAX - created_ns:019d}.{tid.translate(_DESCENDING)}"


def column_range(workspace_id: str, state: str, cursor: tuple[int, str] | None) -> tuple[str, str]:
    """The exclusive bounds of ``board`` for a column's page: all of it, or what comes after
    ``cursor`` (created_ns, tid), exactly as ``created_ns < cns OR (created_ns = cns AND tid <
    cid)`` selects. A shorter ``cid`` is padded with zeros: among 32-digit ``tid``\\ s, ``tid <
    cid`` holds exactly when ``tid < cid + "0…"`` does, and same-length strings keep their order
    reversed under the digit-complement."""
    prefix = f"{workspace_id}/{state}/"
    start = prefix if cursor is None else prefix + order_key(cursor[0], cursor[1].ljust(TID_LENGTH, "0"))
    return start, prefix + _ABOVE_EVERY_KEY
