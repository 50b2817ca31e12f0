"""Running git for the gateway: one way, with its safety settings.

Every command runs with a clean environment (``PATH``, ``LANG=C``, a ``HOME`` of the gateway's
own so no user's ``~/.gitconfig`` applies, ``GIT_TERMINAL_PROMPT=0`` so nothing waits for a
password), a timeout (the process is killed past it), and ``-c`` settings that turn off what
could run code or change behaviour behind our back: hooks (``core.hooksPath=/dev/null``), the
fsmonitor, and pagers. Vapora is the committer; a job's commit names its agent as author.

Secrets never travel in arguments: a remote's credentials are handed to git through its
credential helper protocol from environment variables of that one process (see
:mod:`.locations`), and :meth:`Git.run` removes them from any text it reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vapora_core.errors import DeadlineExceeded, Internal

SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "safe.directory=*",
    "advice.detachedHead=false",
    "init.defaultBranch=main",
    "gc.auto=0",
    "user.name=Vapora",
    "user.email=vapora@agents.vapora.local",
)
MAX_ERROR_CHARS = 2000


class GitFailed(Internal):
    """A git command exited with an error; ``stderr`` is git's own reason (secrets removed)."""

    code = "git_failed"

    def __init__(self, command: str, exit_code: int, stderr: str) -> None:
        self.command = command
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(f"git {command} failed ({exit_code}): {stderr or 'no message'}")


@dataclass(frozen=True, slots=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str
    truncated: bool = False


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True, slots=True)
class Git:
    """``git`` with the settings above; ``home`` is the gateway's own HOME for git."""

    home: Path
    binary: str = "git"
    timeout_s: float = 120.0
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C",
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_OPTIONAL_LOCKS": "0",
        }
        return {**base, **self.extra_env, **(env or {})}

    async def run(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        max_bytes: int | None = None,
        secrets: Sequence[str] = (),
        config: Sequence[str] = (),
    ) -> Result:
        """Run ``git args`` and wait for it; :class:`GitFailed` on a non-zero exit when ``check``,
        :class:`DeadlineExceeded` past the timeout. ``max_bytes`` caps what stdout keeps (the
        rest is read and dropped, ``truncated`` says so)."""
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [self.binary]
        for setting in (*SAFE_CONFIG, *config):
            argv += ["-c", setting]
        argv += list(args)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=self.environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            out, err, truncated = await asyncio.wait_for(_collect(proc, max_bytes), limit)
        except TimeoutError:
            _kill(proc.pid)
            await proc.wait()
            raise DeadlineExceeded(f"git {args[0] if args else ''} did not finish within {limit:g} s") from None
        except asyncio.CancelledError:
            _kill(proc.pid)
            raise
        code = proc.returncode if proc.returncode is not None else -1
        stdout = _redact(out.decode("utf-8", errors="replace"), secrets)
        stderr = _redact(err.decode("utf-8", errors="replace"), secrets).strip()
        if check and code != 0:
            raise GitFailed(" ".join(args[:2]), code, stderr[-MAX_ERROR_CHARS:])
        return Result(code, stdout, stderr, truncated)

    async def out(self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
        """stdout of a command that must succeed, without its trailing newline."""
        return (await self.run(*args, cwd=cwd, env=env)).stdout.rstrip("\n")

    async def ok(self, *args: str, cwd: Path | None = None) -> bool:
        """Whether the command exits 0 (for questions git answers with its exit code)."""
        return (await self.run(*args, cwd=cwd, check=False)).exit_code == 0


async def _collect(proc: asyncio.subprocess.Process, max_bytes: int | None) -> tuple[bytes, bytes, bool]:
    async def read_out() -> tuple[bytes, bool]:
        assert proc.stdout is not None
        kept = bytearray()
        truncated = False
        while chunk := await proc.stdout.read(65_536):
            if max_bytes is None or len(kept) < max_bytes:
                room = len(chunk) if max_bytes is None else max_bytes - len(kept)
                kept += chunk[:room]
                truncated = truncated or room < len(chunk)
            else:
                truncated = True
        return bytes(kept), truncated

    assert proc.stderr is not None
    (out, truncated), err = await asyncio.gather(read_out(), proc.stderr.read())
    await proc.wait()
    return out, err, truncated


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
