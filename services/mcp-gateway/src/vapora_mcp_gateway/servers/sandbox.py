"""File access confined to one root directory: every path is resolved and must stay inside it.

Only regular files are ever opened: a FIFO, socket or device in the tree (found by ``stat``,
which opens nothing) is skipped, and files are opened non-blocking and checked again once
open, so no call can hang on one. An entry that cannot be examined (a symlink loop, a path
longer than the system allows, a dangling link) is reported on its own as :class:`Skipped`;
it never fails the listing around it. A path argument has at most :data:`MAX_PATH_CHARS`
characters, and an error message quotes at most :data:`SHOWN_CHARS` of it.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

NOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SKIP_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules", ".mypy_cache", ".ruff_cache"})
MAX_PATH_CHARS = 4096
SHOWN_CHARS = 120
MAX_SKIPPED = 100


class SandboxError(Exception):
    """A request the sandbox refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Match:
    path: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry of the tree that was not listed, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Listing:
    files: list[str]
    skipped: list[Skipped]


def cut(path: str) -> str:
    """``path`` cut to :data:`SHOWN_CHARS` characters for a message (its end marked with …)."""
    return path if len(path) <= SHOWN_CHARS else f"{path[:SHOWN_CHARS]}…"


def shown(path: str) -> str:
    """``path`` quoted for a message, cut to :data:`SHOWN_CHARS` characters."""
    if len(path) <= SHOWN_CHARS:
        return repr(path)
    return f"{path[:SHOWN_CHARS]!r}… ({len(path):,} characters)"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop"
    if exc.errno == errno.ENAMETOOLONG:
        return "a path longer than the system allows"
    return exc.strerror or type(exc).__name__


class Sandbox:
    """Files under ``root``; a path that escapes it (``..``, absolute, symlink) is refused."""

    def __init__(self, root: Path, *, max_read_bytes: int = 256_000) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.max_read_bytes = max_read_bytes

    def resolve(self, path: str) -> Path:
        if len(path) > MAX_PATH_CHARS:
            raise SandboxError(f"path has {len(path):,} characters; at most {MAX_PATH_CHARS} are allowed")
        if "\x00" in path:
            raise SandboxError("path contains a NUL byte")
        if Path(path).is_absolute():
            raise SandboxError(f"path {shown(path)} is absolute; give a path relative to the workspace root")
        target = self._real(self.root / path, path)
        if not target.is_relative_to(self.root):
            raise SandboxError(f"path {shown(path)} escapes the workspace root")
        return target

    @staticmethod
    def _real(full: Path, path: str) -> Path:
        try:
            return full.resolve()
        except RuntimeError:  # pathlib's word for a symlink loop
            raise SandboxError(f"path {shown(path)} is a symlink loop") from None
        except OSError as exc:
            raise SandboxError(f"path {shown(path)} cannot be resolved: {_problem(exc)}") from None
        except ValueError:  # a lone surrogate: no file name holds one
            raise SandboxError(f"path {shown(path)} holds characters no file name can") from None

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def list_files(self, path: str = ".", pattern: str = "*", limit: int = 500) -> list[str]:
        return self.listing(path, pattern, limit).files

    def listing(self, path: str = ".", pattern: str = "*", limit: int = 500) -> Listing:
        """Regular files under ``path`` matching ``pattern`` (by name or relative path), and the
        entries that were skipped because they could not be examined or are not regular files."""
        base = self.resolve(path)
        if not base.is_dir():
            raise SandboxError(f"{shown(path)} is not a directory in the workspace")
        files: list[str] = []
        skipped: list[Skipped] = []

        def unlisted(exc: OSError) -> None:
            where = os.path.relpath(exc.filename, self.root) if exc.filename else path
            skipped.append(Skipped(where, f"cannot be listed: {_problem(exc)}"))

        for dirpath, dirnames, filenames in os.walk(base, onerror=unlisted):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = self.relative(full)
                if not (fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern)):
                    continue
                why = self._not_listable(full)
                if why is not None:
                    skipped.append(Skipped(rel, why))
                    continue
                files.append(rel)
                if len(files) >= limit:
                    return Listing(files, skipped[:MAX_SKIPPED])
        return Listing(files, skipped[:MAX_SKIPPED])

    def _not_listable(self, full: Path) -> str | None:
        """Why ``full`` is not listed (None: it is a regular file inside the root). Opens nothing."""
        try:
            real = full.resolve()
        except RuntimeError:
            return "a symlink loop"
        except OSError as exc:
            return _problem(exc)
        if not real.is_relative_to(self.root):
            return "a symlink pointing out of the workspace root"
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            return _problem(exc)
        return None if stat.S_ISREG(mode) else _kind(mode)

    def _read(self, target: Path, path: str) -> bytes:
        """The bytes of the regular file ``target``; never blocks on a FIFO or a device."""
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            raise SandboxError(f"{shown(path)} cannot be opened: {_problem(exc)}") from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SandboxError(f"{shown(path)} is {_kind(info.st_mode)}, not a regular file")
            if info.st_size > self.max_read_bytes:
                raise SandboxError(
                    f"{shown(path)} has {info.st_size} bytes, more than the limit of {self.max_read_bytes}"
                )
            return f.read(self.max_read_bytes + 1)

    def read_file(self, path: str) -> str:
        target = self.resolve(path)
        try:
            mode = os.stat(target).st_mode
        except OSError:
            mode = 0
        if not stat.S_ISREG(mode):
            raise SandboxError(f"{shown(path)} is not a file in the workspace")
        data = self._read(target, path)
        if b"\x00" in data[:8192]:
            raise SandboxError(f"{shown(path)} is a binary file")
        return data.decode("utf-8", errors="replace")

    def search_text(self, query: str, path: str = ".", max_results: int = 100) -> list[Match]:
        if not query:
            raise SandboxError("query must not be empty")
        matches: list[Match] = []
        for rel in self.list_files(path, "*", limit=10_000):
            try:
                data = self._read(self.root / rel, rel)
            except SandboxError:
                continue  # too large, or changed since it was listed
            if b"\x00" in data[:8192]:
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
                if query in line:
                    matches.append(Match(rel, number, line.strip()[:300]))
                    if len(matches) >= max_results:
                        return matches
        return matches

    def write_note(self, name: str, text: str) -> str:
        if not NOTE_NAME.match(name) or ".." in name:
            raise SandboxError(
                f"note name {shown(name)} is not allowed: use letters, digits, '.', '_' or '-' (at most 100)"
            )
        try:
            data = text.encode()
        except UnicodeEncodeError:
            raise SandboxError("note text holds a lone surrogate, which UTF-8 cannot encode") from None
        if len(data) > self.max_read_bytes:
            raise SandboxError(f"note is longer than the limit of {self.max_read_bytes} bytes")
        notes = self.resolve("notes")
        notes.mkdir(parents=True, exist_ok=True)
        target = self.resolve(f"notes/{name if name.endswith('.md') else name + '.md'}")
        target.write_bytes(data)
        return self.relative(target)
