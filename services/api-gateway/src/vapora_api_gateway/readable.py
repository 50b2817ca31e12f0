"""Reads that survive a stored string holding U+0000.

SurrealDB stores a string with U+0000 but cannot hand it back: the whole answer fails, so one
such value makes every list it is in unreadable. No new one can get in through the gateway (the
text rule of :mod:`text`, and the store's own guard), but one stored before must not break reads
either. So a read that fails is asked once more through :data:`DEFINE`'s ``fn::readable``, which
walks the answer inside the database and writes U+0000 as the six characters ``\\u0000`` (a regex
literal finds it: no U+0000 travels in the query or its parameters). It costs nothing while the
data is clean: the first answer is the one used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from vapora_core.errors import InvalidArgument
from vapora_core.store import Row, Store

log = logging.getLogger("vapora.gateway.store")

DEFINE = (
    "DEFINE FUNCTION OVERWRITE fn::readable($v: any) {"
    " RETURN IF type::is::string($v) { string::replace($v, /\\x00/, '\\\\u0000') }"
    " ELSE IF type::is::array($v) { array::map($v, |$x| fn::readable($x)) }"
    " ELSE IF type::is::object($v) { object::from_entries("
    "array::map(object::entries($v), |$e| [fn::readable($e[0]), fn::readable($e[1])])) }"
    " ELSE { $v }; }"
)


async def rows(store: Store, sql: str, vars: Mapping[str, Any]) -> list[Row]:
    """The rows of one SELECT ``sql``; a stored U+0000 comes back escaped instead of failing the read."""
    try:
        return await store.query(sql, vars)
    except InvalidArgument as exc:
        try:
            found = await store.query(f"RETURN fn::readable(({sql}))", vars)
        except InvalidArgument:
            raise exc from None
        log.warning("a stored value holds U+0000; read with it escaped: %s", sql[:80])
        return found


async def one(store: Store, sql: str, vars: Mapping[str, Any]) -> Row | None:
    found = await rows(store, sql, vars)
    return found[0] if found else None
