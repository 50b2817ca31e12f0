"""SurrealDB through the official SDK: one namespace per service, schema applied at start.

The URL decides the engine: ``surrealkv://PATH`` (embedded, the local default),
``mem://`` (embedded, in memory) or ``ws://HOST:PORT/rpc`` (a server). The SDK does
not lock an embedded store, so :class:`Store` holds an exclusive lock file beside it:
a second process opening the same path fails with :class:`StoreLocked`.

Queries go through the SDK's public ``query_raw``, or, for an embedded engine, through
:mod:`vapora_core.surreal_engine` (the fast path; it gives None on an SDK it was not
verified on, and the SDK's path is used).

No query is ever abandoned mid-flight. An embedded query runs on the engine's own (tokio)
threads: if its caller is cancelled (a client hangs up, shutdown cancels a slow handler) the
query still runs, and if the interpreter exits while it does, the engine's thread calls
back into a finalized interpreter and the process dies with SIGABRT. So each request to the
engine is shielded from its caller's cancellation and tracked, and :meth:`Store.close`
refuses new queries, then waits (up to ``drain_s``) for the ones in flight.

Embedded SurrealDB has no client-side transactions: put ``BEGIN; ...; COMMIT;`` in
one query string.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import surrealdb
from surrealdb import RecordID

from vapora_core import surreal_engine
from vapora_core.errors import InvalidArgument, StoreLocked, Unavailable
from vapora_core.settings import ServiceSettings
from vapora_core.store_guard import check_params

log = logging.getLogger("vapora.store")

DATABASE = "vapora"
CONFLICT_ATTEMPTS = 8
Row = dict[str, Any]


def _plain(value: Any) -> Any:
    """Record ids become their plain id string; nested values are converted too."""
    if isinstance(value, RecordID):
        return str(value.id)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class StoreConflict(Unavailable):
    """A transaction lost a read/write conflict and was rolled back; running it again can succeed."""

    code = "store_conflict"


def _statement_error(namespace: str, detail: object) -> InvalidArgument | StoreConflict:
    text = f"store {namespace}: {detail}"
    lowered = text.lower()
    if "can be retried" in lowered or "read or write conflict" in lowered:
        return StoreConflict(text)
    return InvalidArgument(text)


class _LockFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise StoreLocked(str(self.path.with_suffix("")), holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class _Queries(Protocol):
    """How a store sends a query and reads its answer."""

    def send(self, sql: str, vars: dict[str, Any]) -> asyncio.Future[Any]: ...

    def answer(self, raw: Any) -> dict[str, Any]: ...


class _SdkQueries:
    """Through the SDK's public ``query_raw``: a server, or an embedded engine off the fast path."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def send(self, sql: str, vars: dict[str, Any]) -> asyncio.Future[Any]:
        query: Coroutine[Any, Any, dict[str, Any]] = self._db.query_raw(sql, vars)
        return asyncio.ensure_future(query)

    @staticmethod
    def answer(raw: Any) -> dict[str, Any]:
        return dict(raw)


class Store:
    """A service's SurrealDB namespace.

    ``fast_path=False`` sends every query through the SDK's ``query_raw`` even when embedded;
    ``drain_s`` is how long :meth:`close` waits for the queries in flight.
    """

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        user: str = "",
        password: str = "",
        fast_path: bool = True,
        drain_s: float = 10.0,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self._user = user
        self._password = password
        self._allow_fast_path = fast_path
        self._drain_s = drain_s
        self._db: Any = None
        self._queries: _Queries | None = None  # None while not open, and from the start of close
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._lock: _LockFile | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings, namespace: str) -> Store:
        """The store as a service's settings describe it: ``close`` waits for queries in flight
        for up to the shutdown grace."""
        return cls(
            settings.resolved_store_url(),
            namespace,
            user=settings.store_user,
            password=settings.store_password,
            fast_path=settings.store_fast_path,
            drain_s=settings.shutdown_grace_s,
        )

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def fast_path(self) -> bool:
        """Whether queries go to the embedded engine through :mod:`vapora_core.surreal_engine`."""
        return isinstance(self._queries, surreal_engine.EmbeddedEngine)

    @property
    def in_flight(self) -> int:
        """Requests sent to the engine whose answer has not come back (their callers may be gone)."""
        return len(self._in_flight)

    @property
    def embedded_path(self) -> Path | None:
        if self.url.startswith("surrealkv://"):
            return Path(self.url.removeprefix("surrealkv://"))
        return None

    async def open(self, schema: Sequence[str] = ()) -> None:
        path = self.embedded_path
        if path is not None:
            self._lock = _LockFile(path.with_name(path.name + ".lock"))
            self._lock.acquire()
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = surrealdb.AsyncSurreal(self.url)
            await self._db.connect()
            if self._user:
                # A namespace-level user (the RPC's NS/user/pass form): each service's
                # credentials reach its own namespace and nothing else.
                await self._db.signin({"NS": self.namespace, "user": self._user, "pass": self._password})
            await self._db.use(self.namespace, DATABASE)
            engine = surreal_engine.embedded_engine(self._db) if self._allow_fast_path else None
            self._queries = engine if engine is not None else _SdkQueries(self._db)
            for statement in schema:
                await self.execute(statement)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Refuse new queries, wait up to ``drain_s`` for those in flight, then close."""
        self._queries = None
        if self._in_flight:
            log.info("waiting for %d store queries in flight before closing", len(self._in_flight))
            _, pending = await asyncio.wait(set(self._in_flight), timeout=self._drain_s)
            if pending:
                log.error("%d store queries still running after %g s; closing anyway", len(pending), self._drain_s)
        if self._db is not None:
            try:
                await self._db.close()
            finally:
                self._db = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def execute(
        self, sql: str, vars: Mapping[str, Any] | None = None, *, retry_conflicts: bool = True
    ) -> list[Any]:
        """Run every statement in ``sql``; return each statement's result, in order.

        A statement that fails raises :class:`InvalidArgument` naming the error. SurrealDB's
        transactions are optimistic: a read/write conflict rolls the conflicting transaction
        back and says it can be retried. Those are retried here with a short jittered pause
        (``retry_conflicts``; pass False for a multi-statement query outside ``BEGIN … COMMIT``
        whose earlier statements must not run twice), then raised as :class:`StoreConflict`,
        which is retryable.
        """
        check_params(vars)  # a string the store cannot keep is refused before it is written
        for attempt in range(CONFLICT_ATTEMPTS if retry_conflicts else 1):
            try:
                return await self._execute_once(sql, vars)
            except StoreConflict:
                if attempt == CONFLICT_ATTEMPTS - 1 or not retry_conflicts:
                    raise
                await asyncio.sleep(0.002 * (attempt + 1) + random.random() * 0.005)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _execute_once(self, sql: str, vars: Mapping[str, Any] | None) -> list[Any]:
        queries = self._queries
        if queries is None:
            raise Unavailable(f"store {self.namespace} is not open")
        try:
            raw = await self._query(queries, sql, dict(vars or {}))
        except (ConnectionError, OSError) as exc:
            raise Unavailable(f"store {self.namespace}: {exc}") from exc
        except (RuntimeError, ValueError) as exc:  # the embedded engine: a query or a parameter it cannot read
            raise InvalidArgument(f"store {self.namespace}: {exc}") from exc
        if "error" in raw:
            raise _statement_error(self.namespace, raw["error"])
        results = []
        for item in raw.get("result", []):
            if item.get("status") != "OK":
                raise _statement_error(self.namespace, item.get("result"))
            results.append(_plain(item.get("result")))
        return results

    async def _query(self, queries: _Queries, sql: str, vars: dict[str, Any]) -> dict[str, Any]:
        """The engine's answer to one query request, which runs to its end even if the caller
        is cancelled (shielded; on the fast path the engine's own future is, with no Task made),
        and is counted in :attr:`in_flight` until its answer has come back. A cancelled caller's
        request that then fails is seen by the shield, not left unretrieved."""
        pending = queries.send(sql, vars)
        self._in_flight.add(pending)
        pending.add_done_callback(self._in_flight.discard)
        return queries.answer(await asyncio.shield(pending))

    async def query(self, sql: str, vars: Mapping[str, Any] | None = None) -> list[Row]:
        """The rows of the last statement in ``sql``."""
        results = await self.execute(sql, vars)
        last = results[-1] if results else []
        if last is None:
            return []
        return list(last) if isinstance(last, list) else [last]

    async def one(self, sql: str, vars: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.query(sql, vars)
        return rows[0] if rows else None
