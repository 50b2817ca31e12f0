"""File access confined to one root directory: every path is resolved and must stay inside it."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

NOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SKIP_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules", ".mypy_cache", ".ruff_cache"})


class SandboxError(Exception):
    """A request the sandbox refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Match:
    path: str
    line: int
    text: str


class Sandbox:
    """Files under ``root``; a path that escapes it (``..``, absolute, symlink) is refused."""

    def __init__(self, root: Path, *, max_read_bytes: int = 256_000) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.max_read_bytes = max_read_bytes

    def resolve(self, path: str) -> Path:
        if "\x00" in path:
            raise SandboxError("path contains a NUL byte")
        if Path(path).is_absolute():
            raise SandboxError(f"path {path!r} is absolute; give a path relative to the workspace root")
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            raise SandboxError(f"path {path!r} escapes the workspace root")
        return target

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def list_files(self, path: str = ".", pattern: str = "*", limit: int = 500) -> list[str]:
        base = self.resolve(path)
        if not base.is_dir():
            raise SandboxError(f"{path!r} is not a directory in the workspace")
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = self.relative(full)
                if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern):
                    if not full.resolve().is_relative_to(self.root):
                        continue  # a symlink pointing out of the root
                    found.append(rel)
                    if len(found) >= limit:
                        return found
        return found

    def read_file(self, path: str) -> str:
        target = self.resolve(path)
        if not target.is_file():
            raise SandboxError(f"{path!r} is not a file in the workspace")
        size = target.stat().st_size
        if size > self.max_read_bytes:
            raise SandboxError(f"{path!r} has {size} bytes, more than the limit of {self.max_read_bytes}")
        data = target.read_bytes()
        if b"\x00" in data[:8192]:
            raise SandboxError(f"{path!r} is a binary file")
        return data.decode("utf-8", errors="replace")

    def search_text(self, query: str, path: str = ".", max_results: int = 100) -> list[Match]:
        if not query:
            raise SandboxError("query must not be empty")
        matches: list[Match] = []
        for rel in self.list_files(path, "*", limit=10_000):
            full = self.root / rel
            try:
                if full.stat().st_size > self.max_read_bytes:
                    continue
                data = full.read_bytes()
            except OSError:
                continue
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
            raise SandboxError(f"note name {name!r} is not allowed: use letters, digits, '.', '_' or '-' (at most 100)")
        if len(text.encode()) > self.max_read_bytes:
            raise SandboxError(f"note is longer than the limit of {self.max_read_bytes} bytes")
        notes = self.resolve("notes")
        notes.mkdir(parents=True, exist_ok=True)
        target = self.resolve(f"notes/{name if name.endswith('.md') else name + '.md'}")
        target.write_text(text, encoding="utf-8")
        return self.relative(target)
