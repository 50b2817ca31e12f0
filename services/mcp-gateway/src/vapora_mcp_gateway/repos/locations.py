"""What may be attached, and the credentials of remote repositories.

- Ids that end up in paths and branch names (workspace, project, task) must match
  :data:`IDENT`: nothing else can reach the file system or a ref name.
- A local path must be absolute and, when ``VAPORA_REPO_LOCAL_ROOTS`` names directories, lie
  under one of them.
- A URL is ``https``, ``http``, ``ssh``, ``git`` or ``file``, with no password in it and no user
  but for ``ssh`` (where the user is not a secret):
  credentials come from ``VAPORA_REPO_CREDENTIALS`` (a JSON object from a host, or a URL
  prefix, to ``"user:password"`` or a bare token), never from the URL, so they are never stored
  or logged. Git gets them through its credential-helper protocol from environment variables of
  the one git process that needs them.
- Each repository has a *location key* (``path:<real path of its git directory>`` or
  ``url:<normalised URL>``): one location belongs to one project of one workspace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vapora_core.errors import ConfigError, FailedPrecondition, InvalidArgument, PermissionDenied
from vapora_core.jobtoken import read_key

IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
KINDS = ("local", "bare", "remote")
URL_SCHEMES = ("https", "http", "ssh", "git", "file")
CREDENTIALS_SETTING = "VAPORA_REPO_CREDENTIALS"
_HELPER = (
    'credential.helper=!f() { test "$1" = get && '
    'printf \'username=%s\\npassword=%s\\n\' "$VAPORA_GIT_USERNAME" "$VAPORA_GIT_PASSWORD"; }; f'
)


def check_ident(field: str, value: str) -> str:
    """``value`` when it can name a directory and a branch; InvalidArgument naming ``field``."""
    if not value:
        raise InvalidArgument(f"{field} is required")
    if not IDENT.match(value) or ".." in value or value.endswith((".", ".lock")):
        raise InvalidArgument(
            f"{field} {value[:64]!r} cannot name a worktree or branch: use letters, digits, '.', '_' or '-'"
        )
    return value


NAME_MAX = 255  # Linux's longest file name and path (longer: ENAMETOOLONG)
PATH_MAX = 4096


def check_local_path(path: str, roots: Sequence[Path]) -> Path:
    """The absolute path given, if it may be attached (it may not exist: the caller checks that)."""
    if not path:
        raise InvalidArgument("path is required for a local repository")
    if "\x00" in path or not path.startswith("/"):
        raise InvalidArgument(f"path {path[:200]!r} must be an absolute path on the gateway's machine")
    given = Path(path)
    if len(path.encode()) >= PATH_MAX or any(len(part.encode()) > NAME_MAX for part in given.parts):
        # well-formed, and no such path can exist: as for any path that does not
        raise FailedPrecondition(
            f"path {path[:200]!r}... does not exist: longer than {PATH_MAX - 1} bytes or a name in it longer than"
            f" {NAME_MAX}"
        )
    if roots:
        real = given.resolve()
        if not any(real == r or r in real.parents for r in (root.resolve() for root in roots)):
            allowed = ", ".join(str(r) for r in roots)
            raise PermissionDenied(f"path {path!r} is not under a directory local repositories may be in ({allowed})")
    return given


def check_url(url: str) -> str:
    """``url`` if git may clone it: a known scheme, a host (but for file://), no credentials."""
    if not url:
        raise InvalidArgument("url is required for a remote repository")
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidArgument("url must be one line of at most 2000 characters without spaces")
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise InvalidArgument(f"url scheme {parts.scheme or '(none)'!r} is not one of {', '.join(URL_SCHEMES)}")
    if parts.password is not None or (parts.username is not None and parts.scheme != "ssh"):
        raise InvalidArgument(
            f"url must not carry a user or password; put credentials in {CREDENTIALS_SETTING} (they are never stored)"
        )
    try:
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises here
    except ValueError:
        raise InvalidArgument(f"url {url!r} has a port that is not a number from 1 to 65535") from None
    if parts.scheme != "file" and not parts.hostname:
        raise InvalidArgument(f"url {url!r} has no host")
    if parts.scheme == "file" and not parts.path.startswith("/"):
        raise InvalidArgument(f"url {url!r}: a file:// URL needs an absolute path")
    return url


def url_key(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/").removesuffix(".git")
    return f"url:{parts.scheme}://{host}{port}{path}"


def path_key(git_dir: Path) -> str:
    return f"path:{git_dir.resolve()}"


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str = ""

    def git_env(self) -> dict[str, str]:
        return {"VAPORA_GIT_USERNAME": self.username, "VAPORA_GIT_PASSWORD": self.password}

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password,) if s)


GIT_CONFIG = ("credential.helper=", _HELPER)  # the first empties the list of helpers


class Credentials:
    """Credentials for remotes, by host or URL prefix (the longest match wins)."""

    def __init__(self, entries: dict[str, Credential] | None = None) -> None:
        self._entries = dict(entries or {})

    @classmethod
    def from_setting(cls, value: str) -> Credentials:
        """The JSON object of ``VAPORA_REPO_CREDENTIALS`` (or ``@path`` of a file holding it)."""
        if not value.strip():
            return cls()
        text = read_key(value, setting=CREDENTIALS_SETTING)
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not a JSON object: {exc.msg} at {exc.pos}", field=CREDENTIALS_SETTING) from None
        if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise ConfigError('must be a JSON object of strings: {"host": "user:password"}', field=CREDENTIALS_SETTING)
        entries: dict[str, Credential] = {}
        for where, secret in raw.items():
            user, sep, password = secret.partition(":")
            cred = Credential(user, password) if sep else Credential("x-access-token", secret)
            entries[where.lower().rstrip("/")] = cred
        return cls(entries)

    def for_url(self, url: str) -> Credential | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        full = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}".lower()
        best: tuple[int, Credential] | None = None
        for where, cred in self._entries.items():
            matches = full.startswith(where) if "://" in where else where in (host, f"{host}:{parts.port}")
            if matches and (best is None or len(where) > best[0]):
                best = (len(where), cred)
        return best[1] if best else None

    def __repr__(self) -> str:  # never the secrets
        return f"Credentials({sorted(self._entries)})"
