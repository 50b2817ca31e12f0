"""The web UI's shell and files as the gateway serves them, and the browser session (cookie) routes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.realtime import EventSource
from vapora_api_gateway.ui import pages
from vapora_api_gateway.ui.assets import STATIC_DIR, VENDOR
from vapora_core.bus import subjects

WEB = {"X-Vapora-Client": "web"}
PASSWORD = "correct horse battery"
IMPORT = re.compile(r"""(?:import|from)\s*\(?\s*["']([^"']+)["']""")


async def _get(
    client, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, aiohttp.typedefs.LooseHeaders]:
    async with client.session.get(client.base + path, headers=headers or {}, allow_redirects=False) as resp:
        return resp.status, await resp.read(), resp.headers


async def test_every_page_path_serves_the_shell_under_a_policy_that_allows_only_its_import_map(client):
    index = (STATIC_DIR / "index.html").read_text()
    import_map = re.search(r'<script type="importmap">(.*?)</script>', index, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    for path in ("/", "/signin", "/board", "/tasks/abc", "/workflow-runs/r1", "/agents/dev", "/audit"):
        status, body, headers = await _get(client, path)
        assert status == 200, path
        assert headers["Content-Type"].startswith("text/html")
        assert body.decode() == index
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert re.search(r"script-src 'self' '(sha256-[^']+)';", csp).group(1) == f"sha256-{digest}"
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, _ = await _get(client, "/no-such-page")
    assert status == 404


async def test_every_file_the_app_loads_is_served_with_its_content_type(client):
    """The shell's links, its import map, and every module import of our own files resolve."""
    index = (STATIC_DIR / "index.html").read_text()
    import_map = json.loads(re.search(r'<script type="importmap">(.*?)</script>', index, re.S).group(1))["imports"]
    wanted = set(re.findall(r'(?:href|src)="(/ui/[^"]+)"', index)) | set(import_map.values())
    for js in sorted((STATIC_DIR / "js").rglob("*.js")):
        url = "/ui/app/" + js.relative_to(STATIC_DIR).as_posix()
        for spec in IMPORT.findall(js.read_text()):
            if spec.startswith("."):
                resolved = (Path(url).parent / spec).as_posix()
                wanted.add(re.sub(r"/[^/]+/\.\./", "/", resolved.replace("/./", "/")))
            else:
                assert spec in import_map, f"{js.name} imports {spec!r}, which the import map does not name"
        wanted.add(url)
    for name in VENDOR:
        wanted.add(pages.VENDOR_PREFIX + name)
    types = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for url in sorted(wanted):
        status, body, headers = await _get(client, url)
        assert status == 200, url
        assert body, url
        assert headers["Content-Type"].startswith(types[Path(url).suffix]), url


async def test_the_shell_preloads_every_module_of_the_app_once_before_its_module_script(client):
    """So the browser asks for the whole module graph at once, not one level of imports at a time
    (index.html lists them: a module added without its line fails here)."""
    status, body, _ = await _get(client, "/board")
    assert status == 200
    shell = body.decode()
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', shell)
    ours = sorted("/ui/app/" + js.relative_to(STATIC_DIR).as_posix() for js in (STATIC_DIR / "js").rglob("*.js"))
    assert sorted(p for p in preloads if p.startswith("/ui/app/")) == ours
    assert len(preloads) == len(set(preloads))
    assert shell.rindex('rel="modulepreload"') < shell.index('<script type="module"')


async def test_a_file_is_revalidated_by_its_etag_and_nothing_outside_the_two_trees_is_served(client):
    status, _, headers = await _get(client, "/ui/app/js/main.js")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    status, body, _ = await _get(client, "/ui/app/js/main.js", {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    for path in (
        "/ui/app/../pages.py",
        "/ui/app/%2e%2e/pages.py",
        "/ui/app/..%2fpages.py",
        "/ui/vendor/../assets.py",
        "/ui/app/js/missing.js",
        "/ui/vendor/preact.mjs.map",
    ):
        status, body, _ = await _get(client, path)
        assert status == 404, path
        assert b"import" not in body


class Browser:
    """A browser's side of the session: the cookie kept and sent back by hand (aiohttp's jar, unlike
    a browser, never sends a Secure cookie to http://127.0.0.1)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base, self.cookie = session, base, ""

    async def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kw):
        sent = dict(headers if headers is not None else WEB)
        if self.cookie:
            sent["Cookie"] = f"vapora_refresh={self.cookie}"
        async with self.session.request(method, self.base + path, headers=sent, **kw) as resp:
            body = await resp.json(content_type=None) if resp.status != 204 else None
            if "vapora_refresh" in resp.cookies:
                self.cookie = resp.cookies["vapora_refresh"].value
            return resp, body

    async def sign_in(self, email: str):
        return await self.call("POST", "/api/v1/auth/session", json={"email": email, "password": PASSWORD})


@contextlib.asynccontextmanager
async def registered_browser(client, email: str) -> AsyncIterator[Browser]:
    """A browser of a newly registered ``email``, not signed in yet, with its own session."""
    await client.register(email)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        yield Browser(s, client.base)


async def test_a_session_keeps_the_refresh_token_in_an_httponly_strict_cookie_only(client):
    async with registered_browser(client, "web@example.com") as browser:
        resp, body = await browser.sign_in("web@example.com")
        assert resp.status == 200
        cookie = resp.cookies["vapora_refresh"]
        assert set(body) == {"access_token", "token_type", "expires_in", "user"}  # no refresh token in the body
        assert body["user"]["email"] == "web@example.com"
        assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
        assert cookie["path"] == "/api/v1/auth/session"
        assert int(cookie["max-age"]) > 0
        status, mine, _ = await client.call("GET", "/api/v1/workspaces", token=body["access_token"])
        assert status == 200 and len(mine["items"]) == 1

        # refresh: the cookie is rotated; a new access token comes back, with its user
        before = browser.cookie
        resp, fresh = await browser.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 200, fresh
        assert browser.cookie and browser.cookie != before
        assert fresh["user"]["email"] == "web@example.com"
        status, _, _ = await client.call("GET", "/api/v1/workspaces", token=fresh["access_token"])
        assert status == 200


async def test_session_routes_refuse_a_request_without_the_client_header(client):
    """The cookie is sent by the browser on its own; the header is what a cross-site page cannot add."""
    async with registered_browser(client, "csrf@example.com") as browser:
        resp, _ = await browser.sign_in("csrf@example.com")
        assert resp.status == 200
        kept = browser.cookie
        for method, path in (
            ("POST", "/api/v1/auth/session/refresh"),
            ("DELETE", "/api/v1/auth/session"),
            ("POST", "/api/v1/auth/session"),
        ):
            for headers in ({}, {"X-Vapora-Client": "evil"}):
                resp, problem = await browser.call(
                    method, path, headers=headers, json={"email": "csrf@example.com", "password": PASSWORD}
                )
                assert resp.status in (400, 403), (path, problem)
                assert resp.headers["Content-Type"].startswith("application/problem+json")
                assert "X-Vapora-Client" in problem["detail"]
        assert browser.cookie == kept
        # the session still works with the header: nothing was rotated or revoked by the refusals
        resp, _ = await browser.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 200


async def test_signing_out_revokes_the_session_and_a_replayed_cookie_revokes_its_family(client):
    async with registered_browser(client, "out@example.com") as browser:
        await browser.sign_in("out@example.com")
        first = browser.cookie
        resp, _ = await browser.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 200
        # a stolen copy of the first cookie, replayed: refused, and the whole session is revoked
        thief = Browser(browser.session, client.base)
        thief.cookie = first
        resp, problem = await thief.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 401 and "already used" in problem["detail"]
        resp, _ = await browser.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 401, "the legitimate cookie went with its family"

        # a new session, then sign out: the cookie is cleared and its token no longer refreshes
        await browser.sign_in("out@example.com")
        third = browser.cookie
        resp, _ = await browser.call("DELETE", "/api/v1/auth/session")
        assert resp.status == 204
        assert browser.cookie == ""
        assert "Max-Age=0" in resp.headers["Set-Cookie"]
        replay = Browser(browser.session, client.base)
        replay.cookie = third
        resp, problem = await replay.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 401 and "revoked" in problem["detail"]
        resp, problem = await browser.call("POST", "/api/v1/auth/session/refresh")
        assert resp.status == 401 and "sign in" in problem["detail"]


async def test_a_stream_says_it_is_subscribed_before_any_event_and_then_misses_none(client, bus):
    """The first item of a stream is None once its subscription exists (the SSE stream's
    ': connected'), so a page that reads the tasks after it misses no later change."""
    source = EventSource(bus)
    stream = source.stream("ws-connected", None, heartbeat_s=60)
    try:
        assert await asyncio.wait_for(anext(stream), 5) is None
        for n in range(3):
            event = tasks_pb2.TaskStatusChanged(
                task_id=f"t{n}",
                workspace_id="ws-connected",
                state=common_pb2.TASK_STATE_RUNNING,
                at=Timestamp(seconds=n + 1),
            )
            await bus.publish(subjects.task_event("ws-connected"), event)
        got = [await asyncio.wait_for(anext(stream), 5) for _ in range(3)]  # (kind, event) items
        assert {kind for kind, _ in got} == {"task"}
        assert [e["task_id"] for _, e in got] == ["t0", "t1", "t2"]
    finally:
        await stream.aclose()

    me = await client.register("connected@example.com")
    async with client.session.get(
        f"{client.base}/api/v1/workspaces/{me['workspace']['id']}/events",
        headers={"Authorization": f"Bearer {me['access_token']}"},
    ) as resp:
        assert await asyncio.wait_for(resp.content.readline(), 5) == b"retry: 1000\n"
        assert await asyncio.wait_for(resp.content.readline(), 5) == b": connected\n"
