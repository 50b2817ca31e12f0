"""The store guard against the real embedded SurrealDB engine: no string can poison a table."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora_core.errors import InvalidArgument
from vapora_core.store import Store
from vapora_core.store_guard import check_params, text_problem

# every Unicode category, control characters and lone surrogates included
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


async def test_a_nul_in_a_nested_row_is_refused_naming_its_path_and_the_table_stays_readable(store: Store) -> None:
    await store.execute("CREATE note:keep CONTENT $row", {"row": {"title": "kept"}})
    rows = [{"title": f"t{i}"} for i in range(5)]
    rows[3]["title"] = "bad\x00title"
    with pytest.raises(InvalidArgument, match=r"rows\[3\]\.title holds a NUL character"):
        await store.execute("INSERT INTO note $rows", {"rows": rows})
    # nothing of the refused query was written, and every read still works
    assert await store.query("SELECT title FROM note ORDER BY title") == [{"title": "kept"}]


async def test_a_lone_surrogate_and_a_nul_in_a_key_are_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match=r"row\.labels\.k holds a lone surrogate \(U\+D800\)"):
        await store.execute("CREATE note CONTENT $row", {"row": {"labels": {"k": "x\ud800"}}})
    with pytest.raises(InvalidArgument, match=r"a key of row\.labels holds a NUL"):
        await store.execute("CREATE note CONTENT $row", {"row": {"labels": {"k\x00": "v"}}})
    with pytest.raises(InvalidArgument, match=r"ids\[1\] holds a NUL"):
        await store.execute("SELECT * FROM note WHERE id IN $ids", {"ids": ["a", "\x00"]})
    assert await store.query("SELECT * FROM note") == []


def test_text_that_can_be_stored_passes() -> None:
    check_params({"a": "plain", "b": "Grüße, 東京 🚀", "c": [1, 2.5, None, b"\x00bytes", {"d": ("e", "f")}]})
    assert text_problem("tab\tand newline\n are fine") is None
    assert text_problem("\U0010ffff") is None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=ANY_TEXT, label=ANY_TEXT)
async def test_any_text_is_stored_and_read_back_or_refused_and_the_table_stays_readable(
    store: Store, title: str, label: str
) -> None:
    row: dict[str, Any] = {"title": title, "labels": {label or "k": label}}
    try:
        created = await store.one("CREATE note CONTENT $row", {"row": row})
    except InvalidArgument as exc:
        assert text_problem(title) or text_problem(label), exc
        assert "cannot be stored" in str(exc)
    else:
        assert created is not None
        assert created["title"] == title
        assert created["labels"] == {label or "k": label}
    await store.query("SELECT * FROM note")  # a read of the whole table never fails
