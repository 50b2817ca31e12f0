"""The CLI's side of the wire: its config file, an HTTP client of the gateway, and the SSE stream.

The CLI talks only to the gateway. Tokens live in ``$VAPORA_CLI_CONFIG`` (a JSON file) or
``~/.config/vapora/config.json``, readable by the user only. An expired access token is
renewed once with the refresh token (which rotates); a stream that drops is resumed with
``Last-Event-ID`` so no event is missed or repeated.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class CliError(Exception):
    """A failure to show the user as one line (HTTP problem details, connection errors)."""


def config_path() -> Path:
    explicit = os.environ.get("VAPORA_CLI_CONFIG")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "vapora" / "config.json"


@dataclass
class Config:
    url: str = DEFAULT_URL
    email: str = ""
    access_token: str = ""
    refresh_token: str = ""
    workspace_id: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the CLI config {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise CliError(f"the CLI config {path} is not a JSON object")
        known = {k: str(v) for k, v in raw.items() if k in cls.__dataclass_fields__ and v is not None}
        return cls(**known)

    def save(self, path: Path | None = None) -> Path:
        path = path or config_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=2)
        tmp.replace(path)
        return path


def _problem(resp: httpx.Response) -> CliError:
    try:
        body = resp.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    return CliError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {detail or resp.text[:200]}")


class Api:
    """JSON calls to the gateway with the stored credentials."""

    def __init__(self, config: Config, *, save: Callable[[Config], object] | None = None, timeout: float = 10.0):
        self.config = config
        self._save = save or (lambda c: c.save())
        self.http = httpx.Client(base_url=config.url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _headers(self) -> dict[str, str]:
        if not self.config.access_token:
            raise CliError("not logged in: run `vapora login` first")
        return {"Authorization": f"Bearer {self.config.access_token}"}

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the gateway at {self.config.url}: {exc}") from None

    def call(
        self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None, auth: bool = True
    ) -> Any:
        resp = self.request(method, path, json_body=json_body, params=params, auth=auth)
        return resp.json() if resp.content else None

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None, auth: bool = True
    ) -> httpx.Response:
        """The gateway's answer (after one refresh of an expired session); a problem raises :class:`CliError`."""
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        headers = self._headers() if auth else {}
        resp = self._send(method, path, json=json_body, params=params, headers=headers)
        if resp.status_code == 401 and auth and self.config.refresh_token:
            self.refresh()
            resp = self._send(method, path, json=json_body, params=params, headers=self._headers())
        if resp.status_code >= 400:
            raise _problem(resp)
        return resp

    def refresh(self) -> None:
        resp = self._send("POST", "/api/v1/auth/refresh", json={"refresh_token": self.config.refresh_token})
        if resp.status_code != 200:
            raise CliError(f"your session has ended ({_problem(resp)}); run `vapora login` again")
        self._store_tokens(resp.json())

    def _store_tokens(self, body: dict[str, Any]) -> None:
        self.config.access_token = str(body["access_token"])
        self.config.refresh_token = str(body["refresh_token"])
        self._save(self.config)

    def login(self, email: str, password: str, *, register: bool = False) -> dict[str, Any]:
        path = "/api/v1/auth/register" if register else "/api/v1/auth/login"
        body: dict[str, Any] = self.call("POST", path, json_body={"email": email, "password": password}, auth=False)
        self.config.email = str(body["user"]["email"])
        if register:
            self.config.workspace_id = str(body["workspace"]["id"])
        self._store_tokens(body)
        return body

    def workspace(self, explicit: str = "") -> str:
        """The workspace to act in: explicit, remembered, or the first the user belongs to."""
        if explicit:
            return explicit
        if self.config.workspace_id:
            return self.config.workspace_id
        items = self.call("GET", "/api/v1/workspaces")["items"]
        if not items:
            raise CliError("you are not a member of any workspace")
        self.config.workspace_id = str(items[0]["id"])
        self._save(self.config)
        return self.config.workspace_id

    def events(
        self,
        workspace_id: str,
        *,
        after: int | None = None,
        on_connect: Callable[[], bool] | None = None,
        on_idle: Callable[[], bool] | None = None,
        retry_s: float = 1.0,
        max_retries: int = 30,
        kinds: tuple[str, ...] = ("task",),
    ) -> Generator[dict[str, Any], None, None]:
        """Events of a workspace from the SSE stream, of the ``kinds`` asked for (``task``,
        ``workflow``), resumed with Last-Event-ID after a drop.

        ``on_connect`` is called each time the stream is (re)connected and ``on_idle`` on each
        keep-alive; either one returning True ends the stream (the caller has what it waited for)."""
        last = after
        failures = 0
        path = f"/api/v1/workspaces/{workspace_id}/events"
        timeout = httpx.Timeout(10.0, read=45.0)  # the gateway sends a keep-alive every 15 s
        while True:
            headers = self._headers()
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                with self.http.stream("GET", path, headers=headers, timeout=timeout) as resp:
                    if resp.status_code == 401 and self.config.refresh_token:
                        self.refresh()
                        continue
                    if resp.status_code >= 400:
                        resp.read()
                        raise _problem(resp)
                    failures = 0
                    data: list[str] = []
                    event_id: int | None = None
                    kind = "task"
                    for line in resp.iter_lines():
                        if line.startswith(": connected"):
                            if on_connect is not None and on_connect():
                                return
                        elif line.startswith(": keep-alive"):
                            if on_idle is not None and on_idle():
                                return
                        elif line.startswith("id:"):
                            event_id = int(line[3:].strip())
                        elif line.startswith("event:"):
                            kind = line[6:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif line == "" and data:
                            event = json.loads("\n".join(data))
                            data = []
                            if event_id is not None:
                                last = event_id
                            if kind in kinds:
                                yield event
                            kind = "task"
            except httpx.HTTPError:
                pass
            failures += 1
            if failures > max_retries:
                raise CliError(f"lost the event stream of workspace {workspace_id} and could not resume it")
            time.sleep(retry_s)
