"""A task's states as the API names them: which are final, and how far along each is.

A status change applies only when its state ranks above the task's (or the same, later); the
read model, the service and the CLI's watch all order states by :data:`RANK`.
"""

from __future__ import annotations

TERMINAL = ("done", "failed", "cancelled")
RANK = {"submitted": 1, "assigned": 2, "running": 3, "done": 4, "failed": 4, "cancelled": 4}
