"""How the runner confines a command: bubblewrap for the filesystem and network, prlimit for limits.

With bubblewrap (Debian's ``bubblewrap``) a command sees the machine read-only, its root (the
worktree) and a scratch directory writable, a fresh ``/tmp``, its own PID namespace and **no
network** (``--unshare-net``: only a loopback of its own). prlimit (util-linux) caps its address
space, CPU seconds, file size and open files, for the command and everything it starts.

Where bubblewrap cannot run (not installed, or no user namespaces, as in many containers), the
fallback is logged at start and named in every result (``sandbox = "none: <why>"``): commands
then run with the limits and the timeout but share the machine's filesystem and network, and
``run_shell`` is refused. ``--require-sandbox`` makes the runner refuse to start instead.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Limits:
    memory_mb: int = 2048
    cpu_s: int = 600
    file_mb: int = 1024
    open_files: int = 1024

    def prlimit(self, prlimit: str) -> list[str]:
        return [
            prlimit,
            f"--as={self.memory_mb * 1024 * 1024}",
            f"--cpu={self.cpu_s}",
            f"--fsize={self.file_mb * 1024 * 1024}",
            f"--nofile={self.open_files}",
            "--",
        ]


@dataclass(frozen=True, slots=True)
class Isolation:
    """The wrapper of every command: ``bwrap`` (when it works) and ``prlimit``."""

    bwrap: str | None
    prlimit: str
    why_not: str = ""

    @property
    def sandboxed(self) -> bool:
        return self.bwrap is not None

    @property
    def name(self) -> str:
        return "bwrap" if self.sandboxed else f"none: {self.why_not}"

    def argv(self, argv: list[str], *, root: Path, scratch: Path, limits: Limits) -> list[str]:
        wrapped = [*limits.prlimit(self.prlimit), *argv]
        if self.bwrap is None:
            return wrapped
        return [
            self.bwrap,
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",  # noqa: S108 - a fresh tmpfs inside the sandbox, not the host's /tmp
            "--bind", str(root), str(root),
            "--bind", str(scratch), str(scratch),
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--new-session",
            "--chdir", str(root),
            "--",
            *wrapped,
        ]  # fmt: skip


def detect(bwrap: str = "bwrap", prlimit: str = "prlimit") -> Isolation:
    """Find the tools and check that bubblewrap can make a namespace without a network here."""
    limiter = shutil.which(prlimit)
    if limiter is None:
        raise RuntimeError(f"{prlimit} (util-linux) is not on PATH: the runner cannot limit commands")
    if not bwrap:
        return Isolation(None, limiter, "bubblewrap is turned off (--bwrap '')")
    found = shutil.which(bwrap)
    if found is None:
        return Isolation(None, limiter, f"{bwrap} is not installed")
    try:
        probe = subprocess.run(
            [found, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net", "--die-with-parent", "true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(None, limiter, f"{found} does not run: {exc}")
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"
        return Isolation(None, limiter, f"{found} cannot make a sandbox here: {reason}")
    return Isolation(found, limiter)
