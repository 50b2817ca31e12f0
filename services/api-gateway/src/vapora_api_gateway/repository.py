"""SurrealDB access for the ``gateway`` namespace only.

Every workspace-owned record carries ``workspace_id`` and every query of one names the
workspace(s) it may touch, so a caller can never read across tenants by id alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vapora_api_gateway import readable, task_order
from vapora_api_gateway.states import TERMINAL
from vapora_core.batching import Batcher
from vapora_core.errors import AlreadyExists, InvalidArgument
from vapora_core.store import Row, Store

__all__ = ["NAMESPACE", "SCHEMA", "Repository", "Row"]

NAMESPACE = "gateway"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS user SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS user_email ON user FIELDS email UNIQUE",
    "DEFINE TABLE IF NOT EXISTS workspace SCHEMALESS",
    "DEFINE TABLE IF NOT EXISTS membership SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS membership_user ON membership FIELDS user_id",
    "DEFINE INDEX IF NOT EXISTS membership_ws ON membership FIELDS workspace_id",
    "DEFINE TABLE IF NOT EXISTS project SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS project_ws ON project FIELDS workspace_id",
    "DEFINE TABLE IF NOT EXISTS task SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS task_ws ON task FIELDS workspace_id, created_ns",
    *task_order.DEFINE,
    "DEFINE TABLE IF NOT EXISTS refresh_token SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS refresh_family ON refresh_token FIELDS family",
    "DEFINE TABLE IF NOT EXISTS api_token SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS api_token_ws ON api_token FIELDS workspace_id",
    "DEFINE TABLE IF NOT EXISTS audit SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS audit_ws ON audit FIELDS workspace_id, at_ns",
    readable.DEFINE,
)


def _is_duplicate(exc: InvalidArgument) -> bool:
    text = str(exc).lower()
    return "already contains" in text or "already exists" in text


class Repository:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Under load many requests share one INSERT: the embedded store costs about the same per
        # statement whatever its size. Requests read in one turn of the loop join the same batch.
        self.task_writer: Batcher[dict[str, Any], None] = Batcher(self._insert_tasks, name="task", yield_first=True)

    async def _create(self, table: str, record_id: str, data: dict[str, Any], what: str) -> Row:
        content = {k: v for k, v in data.items() if k != "id"}
        try:
            row = await self.store.one(
                "CREATE type::thing($tb, $id) CONTENT $data", {"tb": table, "id": record_id, "data": content}
            )
        except InvalidArgument as exc:
            if _is_duplicate(exc):
                raise AlreadyExists(f"{what} already exists") from None
            raise
        assert row is not None
        return row

    # -- users -------------------------------------------------------------------------

    async def create_user(self, user: dict[str, Any]) -> Row:
        return await self._create("user", user["id"], user, f"a user with email {user['email']!r}")

    async def user_by_email(self, email: str) -> Row | None:
        return await readable.one(self.store, "SELECT * FROM user WHERE email = $email LIMIT 1", {"email": email})

    async def user(self, user_id: str) -> Row | None:
        return await readable.one(self.store, "SELECT * FROM ONLY type::thing('user', $id)", {"id": user_id})

    # -- workspaces and memberships ----------------------------------------------------

    async def create_workspace(self, ws: dict[str, Any], owner_id: str, at: str) -> Row:
        await self.store.execute(
            "BEGIN; CREATE type::thing('workspace', $id) CONTENT $ws; "
            "CREATE type::thing('membership', $mid) CONTENT $m; COMMIT;",
            {
                "id": ws["id"],
                "ws": {k: v for k, v in ws.items() if k != "id"},
                "mid": f"{ws['id']}_{owner_id}",
                "m": {"workspace_id": ws["id"], "user_id": owner_id, "role": "owner", "added_at": at},
            },
        )
        return ws

    async def workspace(self, workspace_id: str) -> Row | None:
        return await readable.one(self.store, "SELECT * FROM ONLY type::thing('workspace', $id)", {"id": workspace_id})

    async def workspaces(self, workspace_ids: Sequence[str]) -> list[Row]:
        return await readable.rows(
            self.store,
            "SELECT * FROM workspace WHERE record::id(id) IN $ids ORDER BY created_at",
            {"ids": list(workspace_ids)},
        )

    async def update_workspace(self, workspace_id: str, name: str) -> Row | None:
        return await self.store.one(
            "UPDATE ONLY type::thing('workspace', $id) MERGE {name: $name}", {"id": workspace_id, "name": name}
        )

    async def delete_workspace(self, workspace_id: str) -> None:
        await self.store.execute(
            "BEGIN; DELETE type::thing('workspace', $id); "
            "DELETE membership WHERE workspace_id = $id; DELETE project WHERE workspace_id = $id; "
            "DELETE task WHERE workspace_id = $id; DELETE api_token WHERE workspace_id = $id; COMMIT;",
            {"id": workspace_id},
        )

    async def roles_of(self, user_id: str) -> dict[str, str]:
        rows = await readable.rows(
            self.store,
            "SELECT workspace_id, role, added_at FROM membership WHERE user_id = $u ORDER BY added_at",
            {"u": user_id},
        )
        return {str(r["workspace_id"]): str(r["role"]) for r in rows}

    async def members(self, workspace_id: str) -> list[Row]:
        return await readable.rows(
            self.store,
            "SELECT user_id, role, added_at, user_id AS uid, "
            "(SELECT email, display_name FROM ONLY type::thing('user', $parent.user_id)) AS user "
            "FROM membership WHERE workspace_id = $ws ORDER BY added_at",
            {"ws": workspace_id},
        )

    async def member(self, workspace_id: str, user_id: str) -> Row | None:
        return await readable.one(
            self.store, "SELECT * FROM ONLY type::thing('membership', $id)", {"id": f"{workspace_id}_{user_id}"}
        )

    async def put_member(self, workspace_id: str, user_id: str, role: str, at: str) -> Row:
        row = await self.store.one(
            "UPSERT ONLY type::thing('membership', $id) MERGE {workspace_id: $ws, user_id: $u, role: $role, "
            "added_at: added_at ?? $at}",
            {"id": f"{workspace_id}_{user_id}", "ws": workspace_id, "u": user_id, "role": role, "at": at},
        )
        assert row is not None
        return row

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        await self.store.execute("DELETE type::thing('membership', $id)", {"id": f"{workspace_id}_{user_id}"})

    async def count_owners(self, workspace_id: str) -> int:
        row = await readable.one(
            self.store,
            "SELECT count() AS n FROM membership WHERE workspace_id = $ws AND role = 'owner' GROUP ALL",
            {"ws": workspace_id},
        )
        return int(row["n"]) if row else 0

    # -- projects ----------------------------------------------------------------------

    async def create_project(self, project: dict[str, Any]) -> Row:
        return await self._create("project", project["id"], project, "the project")

    async def project(self, workspace_ids: Sequence[str], project_id: str) -> Row | None:
        return await readable.one(
            self.store,
            "SELECT * FROM type::thing('project', $id) WHERE workspace_id IN $ws",
            {"id": project_id, "ws": list(workspace_ids)},
        )

    async def projects(self, workspace_id: str) -> list[Row]:
        return await readable.rows(
            self.store, "SELECT * FROM project WHERE workspace_id = $ws ORDER BY created_at", {"ws": workspace_id}
        )

    async def update_project(self, workspace_id: str, project_id: str, changes: dict[str, Any]) -> Row | None:
        return await self.store.one(
            "UPDATE type::thing('project', $id) MERGE $changes WHERE workspace_id = $ws",
            {"id": project_id, "ws": workspace_id, "changes": changes},
        )

    async def delete_project(self, workspace_id: str, project_id: str) -> None:
        await self.store.execute(
            "DELETE type::thing('project', $id) WHERE workspace_id = $ws", {"id": project_id, "ws": workspace_id}
        )

    # -- tasks (read model) ------------------------------------------------------------

    async def create_task(self, task: dict[str, Any]) -> None:
        """Store a new task (its ``id`` becomes the record id); concurrent submissions share one INSERT."""
        await self.task_writer.submit(task)

    async def _insert_tasks(self, rows: list[dict[str, Any]]) -> list[None]:
        try:
            await self.store.execute("INSERT INTO task $rows RETURN NONE", {"rows": rows})
        except InvalidArgument as exc:
            if _is_duplicate(exc):
                raise AlreadyExists("the task already exists") from None
            raise
        return [None] * len(rows)

    async def create_task_if_absent(self, task: dict[str, Any]) -> bool:
        """Store a task unless one with its id exists (a workflow stage's, made from the coordinator's
        event, which may come again); whether it was stored."""
        results = await self.store.execute("INSERT IGNORE INTO task $row RETURN VALUE record::id(id)", {"row": task})
        return bool(results and results[-1])

    async def task(self, workspace_ids: Sequence[str], task_id: str) -> Row | None:
        return await readable.one(
            self.store,
            "SELECT * FROM type::thing('task', $id) WHERE workspace_id IN $ws",
            {"id": task_id, "ws": list(workspace_ids)},
        )

    async def tasks(
        self, workspace_id: str, filters: dict[str, str], cursor: tuple[int, str] | None, limit: int
    ) -> list[Row]:
        """A page of a workspace's tasks, newest first (``created_ns DESC, tid DESC``). With a
        state (a board column) it is a range of the ``task_board`` index (see :mod:`task_order`);
        without one, the workspace's tasks sorted."""
        where = ["workspace_id = $ws"]
        params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
        for field in ("task_type", "priority", "project_id", "agent_id"):
            if filters.get(field):
                where.append(f"{field} = ${field}")
                params[field] = filters[field]
        if filters.get("state"):
            where[:0] = ["board > $from", "board < $to"]
            params["from"], params["to"] = task_order.column_range(workspace_id, filters["state"], cursor)
            order = "board"
        else:
            if cursor is not None:
                where.append("(created_ns < $cns OR (created_ns = $cns AND tid < $cid))")
                params["cns"], params["cid"] = cursor
            order = "created_ns DESC, tid DESC"
        sql = f"SELECT * FROM task WHERE {' AND '.join(where)} ORDER BY {order} LIMIT $limit"  # noqa: S608 - our names
        return await readable.rows(self.store, sql, params)

    async def apply_status(
        self,
        task_id: str,
        rank: int,
        at_ns: int,
        changes: dict[str, Any],
        entry: dict[str, Any],
        *,
        progress: bool = False,
    ) -> Row | None:
        """Apply a status change dated ``at_ns`` unless the task is final or already as far along:
        it applies when ``rank`` is above the task's, or the same and ``at_ns`` is later than the
        change it shows (so a redelivered event applies once). One conditional UPDATE, so the task
        ends at its latest state whatever order the events come in.

        ``entry`` joins the history, except for a ``progress`` event of a task already running (a
        later step): it changes the task's fields only (SET runs left to right, so the history is
        decided on the state before the change); an older one changes nothing, so the step shown
        never goes back.

        Returns the updated task, or None when the change was stale (or the task unknown).
        """
        changes = {**changes, "rank": rank, "status_ns": at_ns}
        sets = ", ".join(f"{k} = $changes.{k}" for k in changes if k.isidentifier())
        history = (
            "history = IF $progress AND state = $changes.state THEN history ELSE array::append(history, $entry) END"
        )
        return await self.store.one(
            f"UPDATE type::thing('task', $id) SET {history}, {sets} "  # noqa: S608 - our field names
            "WHERE state NOT IN $terminal "
            "AND (rank < $rank OR (rank = $rank AND (status_ns ?? created_ns ?? 0) < $at_ns))",
            {
                "id": task_id,
                "rank": rank,
                "at_ns": at_ns,
                "changes": changes,
                "entry": entry,
                "terminal": list(TERMINAL),
                "progress": progress,
            },
        )

    # -- refresh tokens ----------------------------------------------------------------

    async def add_refresh(self, jti: str, user_id: str, family: str, expires_at: float) -> None:
        await self._create(
            "refresh_token",
            jti,
            {"user_id": user_id, "family": family, "expires_at": expires_at, "used": False, "revoked": False},
            "the refresh token",
        )

    async def use_refresh(self, jti: str) -> Row | None:
        """Mark the token used if it was not; return its record as it was before, or None when this
        call did not mark it (used before, or unknown): one conditional UPDATE."""
        return await self.store.one(
            "UPDATE type::thing('refresh_token', $id) SET used = true WHERE used = false RETURN BEFORE", {"id": jti}
        )

    async def refresh_token(self, jti: str) -> Row | None:
        return await readable.one(self.store, "SELECT * FROM ONLY type::thing('refresh_token', $id)", {"id": jti})

    async def family_revoked(self, family: str) -> bool:
        row = await readable.one(
            self.store,
            "SELECT count() AS n FROM refresh_token WHERE family = $f AND revoked = true GROUP ALL",
            {"f": family},
        )
        return bool(row and row["n"])

    async def revoke_family(self, family: str) -> None:
        await self.store.execute("UPDATE refresh_token SET revoked = true WHERE family = $f", {"f": family})

    # -- API tokens --------------------------------------------------------------------

    async def add_api_token(self, token: dict[str, Any]) -> Row:
        return await self._create("api_token", token["id"], token, "the API token")

    async def api_token(self, token_id: str) -> Row | None:
        return await readable.one(self.store, "SELECT * FROM ONLY type::thing('api_token', $id)", {"id": token_id})

    async def api_tokens(self, workspace_id: str) -> list[Row]:
        return await readable.rows(
            self.store,
            "SELECT * OMIT secret_hash FROM api_token WHERE workspace_id = $ws ORDER BY created_at",
            {"ws": workspace_id},
        )

    async def revoke_api_token(self, workspace_id: str, token_id: str, at: str) -> Row | None:
        return await self.store.one(
            "UPDATE type::thing('api_token', $id) SET revoked_at = $at WHERE workspace_id = $ws RETURN AFTER",
            {"id": token_id, "ws": workspace_id, "at": at},
        )

    # -- audit log ---------------------------------------------------------------------

    async def insert_audit(self, entries: list[dict[str, Any]]) -> list[None]:
        await self.store.execute("INSERT INTO audit $rows RETURN NONE", {"rows": entries})
        return [None] * len(entries)

    async def audit(self, workspace_id: str, before_ns: int | None, limit: int) -> list[Row]:
        where = "workspace_id = $ws" + (" AND at_ns < $before" if before_ns is not None else "")
        return await readable.rows(
            self.store,
            f"SELECT * FROM audit WHERE {where} ORDER BY at_ns DESC LIMIT $limit",  # noqa: S608
            {"ws": workspace_id, "before": before_ns, "limit": limit},
        )
