"""SurrealDB tables of the repositories work, in namespace ``mcp``.

- ``repository:[workspace, project]``: a project's repository; its ``location`` (see
  :mod:`.locations`) is unique, so one repository belongs to one project of one workspace;
- ``worktree:[workspace, task]``: the task's worktree and branch, the job holding it, its
  state (``active`` while a job may work in it, ``released`` once removed: the branch stays)
  and the artifacts of its last commit;
- ``test_run:[location, commit, command]``: a test command's outcome on one commit, per test,
  so a start point shared by many jobs is tested once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vapora_core.errors import InvalidArgument
from vapora_core.store import Row, Store

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS repository SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS repository_location ON repository FIELDS location UNIQUE",
    "DEFINE TABLE IF NOT EXISTS worktree SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS worktree_state ON worktree FIELDS state, updated_s",
    "DEFINE TABLE IF NOT EXISTS test_run SCHEMALESS",
)
ACTIVE, RELEASED = "active", "released"


@dataclass(frozen=True, slots=True)
class RepoRecord:
    workspace_id: str
    project_id: str
    kind: str
    path: str
    location: str
    default_branch: str
    url: str = ""
    test_command: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    attached_at_s: float = 0.0
    attached_by: str = ""


@dataclass(frozen=True, slots=True)
class Committed:
    """What a job's commit changed (empty ``commit``: nothing)."""

    commit: str = ""
    files_changed: tuple[str, ...] = ()
    insertions: int = 0
    deletions: int = 0
    advanced: bool = False
    merge_commit: str = ""


@dataclass(frozen=True, slots=True)
class WorktreeRecord:
    workspace_id: str
    project_id: str
    task_id: str
    job_id: str
    agent_id: str
    repo_path: str
    path: str
    branch: str
    base: str
    start_branch: str
    advances: bool = False  # a workflow run's branch: moved on to the job's commit
    state: str = ACTIVE
    attempt: int = 0
    run_id: str = ""
    committed: Committed = field(default_factory=Committed)
    created_s: float = 0.0
    updated_s: float = 0.0


def _repo(row: Row) -> RepoRecord:
    return RepoRecord(
        workspace_id=row["workspace_id"],
        project_id=row["project_id"],
        kind=row["kind"],
        path=row["path"],
        location=row["location"],
        default_branch=row["default_branch"],
        url=row.get("url") or "",
        test_command=row.get("test_command") or "",
        checks=dict(row.get("checks") or {}),
        attached_at_s=float(row.get("attached_at_s") or 0.0),
        attached_by=row.get("attached_by") or "",
    )


def _worktree(row: Row) -> WorktreeRecord:
    committed = row.get("committed") or {}
    return WorktreeRecord(
        workspace_id=row["workspace_id"],
        project_id=row["project_id"],
        task_id=row["task_id"],
        job_id=row["job_id"],
        agent_id=row.get("agent_id") or "",
        repo_path=row["repo_path"],
        path=row["path"],
        branch=row["branch"],
        base=row["base"],
        start_branch=row.get("start_branch") or "",
        advances=bool(row.get("advances")),
        state=row.get("state") or ACTIVE,
        attempt=int(row.get("attempt") or 0),
        run_id=row.get("run_id") or "",
        committed=Committed(
            commit=committed.get("commit") or "",
            files_changed=tuple(committed.get("files_changed") or ()),
            insertions=int(committed.get("insertions") or 0),
            deletions=int(committed.get("deletions") or 0),
            advanced=bool(committed.get("advanced")),
            merge_commit=committed.get("merge_commit") or "",
        ),
        created_s=float(row.get("created_s") or 0.0),
        updated_s=float(row.get("updated_s") or 0.0),
    )


def _row(record: RepoRecord | WorktreeRecord) -> dict[str, Any]:
    row = asdict(record)
    if isinstance(record, WorktreeRecord):
        row["committed"]["files_changed"] = list(record.committed.files_changed)
    return row


class RepoRecords:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- repositories ------------------------------------------------------------------

    async def repository(self, workspace_id: str, project_id: str) -> RepoRecord | None:
        row = await self._store.one(
            "SELECT * FROM ONLY type::thing('repository', [$ws, $project])", {"ws": workspace_id, "project": project_id}
        )
        return _repo(row) if row else None

    async def by_location(self, location: str) -> RepoRecord | None:
        row = await self._store.one("SELECT * FROM repository WHERE location = $l LIMIT 1", {"l": location})
        return _repo(row) if row else None

    async def save_repository(self, record: RepoRecord) -> bool:
        """Create or replace the project's repository; False when its location became another
        project's meanwhile (the unique index refused it)."""
        try:
            await self._store.execute(
                "UPSERT type::thing('repository', [$r.workspace_id, $r.project_id]) CONTENT $r", {"r": _row(record)}
            )
        except InvalidArgument as exc:
            if "repository_location" in exc.message:
                return False
            raise
        return True

    # -- worktrees ---------------------------------------------------------------------

    async def worktree(self, workspace_id: str, task_id: str) -> WorktreeRecord | None:
        row = await self._store.one(
            "SELECT * FROM ONLY type::thing('worktree', [$ws, $task])", {"ws": workspace_id, "task": task_id}
        )
        return _worktree(row) if row else None

    async def save_worktree(self, record: WorktreeRecord) -> None:
        await self._store.execute(
            "UPSERT type::thing('worktree', [$w.workspace_id, $w.task_id]) CONTENT $w", {"w": _row(record)}
        )

    async def active_worktrees(self, *, updated_before_s: float | None = None) -> list[WorktreeRecord]:
        rows = await self._store.query(
            "SELECT * FROM worktree WHERE state = $active AND ($before = NONE OR updated_s < $before)",
            {"active": ACTIVE, "before": updated_before_s},
        )
        return [_worktree(r) for r in rows]

    # -- test runs ---------------------------------------------------------------------

    async def test_run(self, location: str, commit: str, command: str) -> Row | None:
        return await self._store.one(
            "SELECT * FROM ONLY type::thing('test_run', [$l, $c, $cmd])", {"l": location, "c": commit, "cmd": command}
        )

    async def save_test_run(self, location: str, commit: str, command: str, outcome: dict[str, Any]) -> None:
        await self._store.execute(
            "UPSERT type::thing('test_run', [$l, $c, $cmd]) CONTENT $o",
            {"l": location, "c": commit, "cmd": command, "o": {**outcome, "location": location, "commit": commit}},
        )
