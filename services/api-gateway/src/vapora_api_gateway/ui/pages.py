"""HTTP routes of the web UI: the page shell at ``/`` (and at every path the app routes in the
browser), our own files under ``/ui/app/``, the front-end packages' under ``/ui/vendor/``.

The shell holds no data and no secret: the app signs in and reads everything through the REST
API, with the same authentication and Cedar checks as any client. Every page carries a strict
Content-Security-Policy: scripts, styles and connections from this origin only (the one inline
script, the import map, is allowed by its hash).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

from aiohttp import hdrs, web

from vapora_api_gateway.ui.assets import STATIC_DIR, VENDOR_DIR, Asset, missing_vendor, scan

log = logging.getLogger("vapora.gateway.ui")

# Paths the app routes in the browser (static/js/routes.js has the same list): each serves the shell.
PAGES = (
    "/",
    "/signin",
    "/signup",
    "/board",
    "/tasks/{task_id}",
    "/workflows",
    "/workflow-runs/{run_id}",
    "/agents",
    "/agents/{agent_id}",
    "/budgets",
    "/audit",
)
APP_PREFIX = "/ui/app/"
VENDOR_PREFIX = "/ui/vendor/"
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def _hash_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def content_security_policy(index_html: str) -> str:
    scripts = " ".join(_hash_source(m) for m in _IMPORT_MAP.findall(index_html))
    return (
        "default-src 'none'; "
        f"script-src 'self' {scripts}; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class UiFiles:
    """What the UI serves, found once at start; a name not found then is a 404."""

    def __init__(self, static_dir: Path = STATIC_DIR, vendor_dir: Path = VENDOR_DIR) -> None:
        self.app = scan(static_dir)
        self.vendor = scan(vendor_dir)
        self.index = (static_dir / "index.html").read_text(encoding="utf-8")
        self.headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(self.index)}
        absent = missing_vendor(vendor_dir)
        self.problem = (
            f"the web UI's front-end packages are not installed ({', '.join(absent)}); run `just setup`"
            if absent
            else ""
        )
        if self.problem:
            log.warning("%s", self.problem)

    async def shell(self, _: web.Request) -> web.Response:
        if self.problem:
            return web.Response(status=503, text=self.problem, content_type="text/plain", headers=self.headers)
        return web.Response(
            text=self.index, content_type="text/html", headers={**self.headers, hdrs.CACHE_CONTROL: "no-cache"}
        )

    async def app_file(self, request: web.Request) -> web.StreamResponse:
        return _serve(request, self.app.get(request.match_info["name"]), self.headers)

    async def vendor_file(self, request: web.Request) -> web.StreamResponse:
        return _serve(request, self.vendor.get(request.match_info["name"]), self.headers)


def _serve(request: web.Request, asset: Asset | None, headers: dict[str, str]) -> web.StreamResponse:
    if asset is None:
        raise web.HTTPNotFound(text=f"no file {request.path}")
    etag = f'"{asset.etag}"'
    common = {**headers, hdrs.ETAG: etag, hdrs.CACHE_CONTROL: "no-cache"}
    if request.headers.get(hdrs.IF_NONE_MATCH) == etag:
        return web.Response(status=304, headers=common)
    return web.Response(body=asset.body, content_type=asset.content_type, headers=common)


def add_routes(app: web.Application, files: UiFiles | None = None) -> UiFiles:
    """Serve the UI on ``app``: the shell at every page path, then the two file trees."""
    files = files or UiFiles()
    for path in PAGES:
        app.router.add_get(path, files.shell)
    app.router.add_get(APP_PREFIX + "{name:.+}", files.app_file)
    app.router.add_get(VENDOR_PREFIX + "{name:.+}", files.vendor_file)
    return files
