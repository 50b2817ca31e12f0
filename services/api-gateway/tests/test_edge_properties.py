"""Property tests of the HTTP edge (hypothesis) against a real gateway (real nats-server, embedded
SurrealDB, loopback HTTP): strings of every Unicode category (control characters, NUL, lone
surrogates escaped in JSON), numbers JSON cannot carry or should not (NaN, ±Infinity, huge,
negative), and sizes around every limit. No answer is a 5xx, every refusal is a problem, and the
lists read afterwards still read."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora_api_gateway.app import GatewayApp
from vapora_api_gateway.settings import GatewaySettings
from vapora_testing.nats import NatsServer

from .conftest import settings_for_tests

PROFILE = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every category hypothesis knows, surrogates (Cs) included, plus the characters that break things.
CHARS = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\u3000", "\U0010ffff"]),
)
TEXT = st.one_of(
    st.text(CHARS, max_size=40),
    st.text(st.characters(codec="utf-8") | st.just("\x00"), max_size=40),  # storable text, but for NUL
    st.integers(0, 120_000).map(lambda n: "x" * n),  # sizes around every length limit
    st.sampled_from(["", " ", "\t\n", "\u3000\x1c"]),  # blank in Python's sense
)
NUMBER = st.one_of(
    st.integers().map(str),
    st.integers(1, 20_000).map(lambda n: "9" * n),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "-0", "1E+2", "0.1e-400", "-1"]),
)


class LiveGateway:
    """A gateway running on its own event loop in a thread, for a synchronous hypothesis test."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.app = GatewayApp(settings)

    def __enter__(self) -> LiveGateway:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.app.start(), self._loop).result(60)
        self.app.readiness.set(True)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.app.stop(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.app.port}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("edge-properties")
    nats = NatsServer(tmp / "jetstream", log_file=tmp / "nats.log").start()
    settings = settings_for_tests(
        tmp, nats.url, f"surrealkv://{tmp / 'store'}", rate_limit_user=1_000_000, rate_limit_ip=1_000_000
    )
    try:
        with LiveGateway(settings) as gw, httpx.Client(base_url=gw.base, timeout=30) as http:
            me = http.post("/api/v1/auth/register", json={"email": "prop@example.com", "password": "p" * 12}).json()
            http.headers["Authorization"] = f"Bearer {me['access_token']}"
            ws = me["workspace"]["id"]
            project = http.post(f"/api/v1/workspaces/{ws}/projects", json={"name": "p"}).json()
            task = http.post("/api/v1/tasks", json={"title": "t"}).json()
            yield http, {"ws": ws, "project": project["id"], "task": task["id"]}
    finally:
        nats.stop()


def _json(value: Any) -> bytes:
    """JSON as a client writes it: lone surrogates travel as \\u escapes (ensure_ascii)."""
    return json.dumps(value).encode("ascii")


def _answered(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.request.method, resp.request.url, resp.status_code, resp.text[:500])
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.text[:200]
        assert resp.json()["detail"]


def _lists_still_read(http: httpx.Client, ids: dict[str, Any]) -> None:
    for path in (
        "/api/v1/tasks?limit=100",
        f"/api/v1/tasks/{ids['task']}",
        f"/api/v1/workspaces/{ids['ws']}/projects",
        f"/api/v1/projects/{ids['project']}",
        "/api/v1/workspaces",
        f"/api/v1/workspaces/{ids['ws']}/members",
        f"/api/v1/workspaces/{ids['ws']}/api-tokens",
        f"/api/v1/workspaces/{ids['ws']}/audit?limit=500",
    ):
        resp = http.get(path)
        assert resp.status_code == 200, (path, resp.text[:500])


def _post(http: httpx.Client, path: str, raw: bytes, method: str = "POST") -> None:
    _answered(http.request(method, path, content=raw, headers={"Content-Type": "application/json"}))


@PROFILE
@given(title=TEXT, description=TEXT, task_type=TEXT, label=st.tuples(TEXT, TEXT))
def test_any_task_body_is_answered_and_leaves_every_list_readable(live, title, description, task_type, label):
    http, ids = live
    body = {"title": title, "description": description, "labels": {label[0]: label[1]}}
    _post(http, "/api/v1/tasks", _json(body))
    _post(http, "/api/v1/tasks", _json({"title": "typed", "task_type": task_type}))
    _lists_still_read(http, ids)


@PROFILE
@given(name=TEXT, description=TEXT, display_name=TEXT, email=TEXT)
def test_any_project_workspace_or_account_text_is_answered_and_leaves_lists_readable(
    live, name, description, display_name, email
):
    http, ids = live
    _post(http, f"/api/v1/workspaces/{ids['ws']}/projects", _json({"name": name, "description": description}))
    _post(http, f"/api/v1/projects/{ids['project']}", _json({"description": description}), "PATCH")
    _post(http, "/api/v1/workspaces", _json({"name": name}))
    _post(http, "/api/v1/auth/register", _json({"email": email, "password": "p" * 12, "display_name": display_name}))
    _post(http, "/api/v1/auth/login", _json({"email": email, "password": display_name or "x"}))
    _lists_still_read(http, ids)


@PROFILE
@given(quality=NUMBER, success=st.sampled_from(["true", "1", '"true"', "null", "NaN"]), depth=st.integers(0, 200))
def test_any_number_or_nesting_is_answered(live, quality, success, depth):
    http, ids = live
    raw = f'{{"success": {success}, "quality": {quality}, "comment": "c"}}'.encode()
    _post(http, f"/api/v1/tasks/{ids['task']}/feedback", raw)
    nested = b'{"title": "t", "labels": ' + b'{"k": ' * depth + b'"v"' + b"}" * depth + b"}"
    _post(http, "/api/v1/tasks", nested)
    _lists_still_read(http, ids)


@PROFILE
@given(
    value=st.one_of(TEXT.filter(lambda s: len(s) < 5000), NUMBER),
    name=st.sampled_from(["limit", "cursor", "state", "task_type", "project_id", "agent_id", "workspace_id"]),
)
def test_any_query_or_path_parameter_is_answered(live, value, name):
    http, ids = live
    encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
    _answered(http.get(f"/api/v1/tasks?{name}={encoded}"))
    _answered(http.get(f"/api/v1/workspaces/{ids['ws']}/audit?limit={encoded}&cursor={encoded}"))
    with http.stream("GET", f"/api/v1/workspaces/{ids['ws']}/events?after={encoded}") as stream:
        if stream.status_code != 200:  # 200 is an open event stream: closed here unread
            stream.read()
            _answered(stream)
    _answered(http.post(f"/api/v1/tasks/{encoded}/cancel", json={}))
    _answered(http.delete(f"/api/v1/workspaces/{ids['ws']}/members/{encoded}"))
    _lists_still_read(http, ids)
