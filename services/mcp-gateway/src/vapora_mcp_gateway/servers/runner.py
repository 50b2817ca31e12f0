"""An MCP server over stdio that runs a project's configured commands in one work root.

    python -m vapora_mcp_gateway.servers.runner --root PATH [--commands runner.toml]
        [--project-commands PATH] [--timeout-s 600] [--max-output-bytes 65536] [--memory-mb 2048]
        [--cpu-s 600] [--bwrap bwrap] [--require-sandbox]

``--project-commands`` names the project's own commands (the repositories work writes them beside
each job's worktree, out of the agent's reach); when that file exists it is used instead of
``--commands``.

Tools:

- ``run_tests(timeout_s?)``: the configured ``test`` command; for pytest the result also has
  passed/failed counts (from a JUnit XML report the runner asks pytest for, or its summary line);
- ``run_check(name, timeout_s?)``: a command of ``[checks]`` (lint, typecheck, ...);
- ``run_shell(command, timeout_s?)``: ``sh -c command``; only agents whose manifest lists
  ``runner.run_shell`` may call it (the gateway's tool views), and only inside the sandbox.

Every command runs in the root, in the sandbox of :mod:`.isolation` (no network), under its
limits, with a clean environment, killed at its timeout. A result says what ran, its exit code
(None when killed), whether it timed out, how long it took, stdout and stderr (each cut to
``--max-output-bytes`` with a marker) and which sandbox it had.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from vapora_core.errors import ConfigError
from vapora_mcp_gateway.servers.commands import Commands, load_commands, split
from vapora_mcp_gateway.servers.execute import run
from vapora_mcp_gateway.servers.isolation import Isolation, Limits, detect
from vapora_mcp_gateway.servers.reports import counts_of, outcomes_from_junit

log = logging.getLogger("vapora.mcp.runner")
MAX_COMMAND_CHARS = 10_000


def _is_pytest(argv: list[str]) -> bool:
    names = [Path(a).name for a in argv[:3]]
    return "pytest" in names or "py.test" in names


@dataclass(frozen=True, slots=True)
class Ran:
    """A command's result as the tools return it, and, for a test run with a JUnit report, the
    outcome of each test (what verification compares; never sent to the model)."""

    result: dict[str, Any]
    outcomes: dict[str, str] | None = None


class Runner:
    def __init__(
        self,
        root: Path,
        commands: Commands,
        isolation: Isolation,
        *,
        limits: Limits,
        timeout_s: float,
        max_output_bytes: int,
    ) -> None:
        self.root = root.resolve()
        self.commands = commands
        self.isolation = isolation
        self.limits = limits
        self.timeout_s = timeout_s
        self.max_output_bytes = max_output_bytes

    def timeout_for(self, asked: float | None) -> float:
        if asked is None:
            return self.timeout_s
        if not 0 < asked <= self.timeout_s:
            raise ToolError(f"timeout_s must be more than 0 and at most {self.timeout_s:g}, got {asked:g}")
        return asked

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": "/tmp" if self.isolation.sandboxed else str(self.root),  # noqa: S108 - the sandbox's own tmpfs
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "CI": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    async def execute(self, label: str, argv: list[str], timeout_s: float, *, tests: bool = False) -> Ran:
        with tempfile.TemporaryDirectory(prefix="vapora-runner-") as scratch_dir:
            scratch = Path(scratch_dir)
            junit = scratch / "junit.xml" if tests and _is_pytest(argv) else None
            if junit is not None:
                argv = [*argv, f"--junitxml={junit}"]
            wrapped = self.isolation.argv(argv, root=self.root, scratch=scratch, limits=self.limits)
            done = await run(
                wrapped, cwd=self.root, env=self._env(), timeout_s=timeout_s, max_output_bytes=self.max_output_bytes
            )
            stdout, stderr = done.stdout.text(), done.stderr.text()
            result: dict[str, Any] = {
                "command": label,
                "exit_code": done.exit_code,
                "timed_out": done.timed_out,
                "duration_s": done.duration_s,
                "stdout": stdout,
                "stderr": stderr,
                "stdout_bytes": done.stdout.total,
                "stderr_bytes": done.stderr.total,
                "output_truncated": done.stdout.truncated or done.stderr.truncated,
                "sandbox": self.isolation.name,
            }
            if done.timed_out:
                result["error"] = f"killed after {timeout_s:g} s (the timeout)"
            outcomes = None
            if tests:
                counts = counts_of(junit, stdout)
                result["tests"] = counts.as_dict() if counts is not None else None
                outcomes = outcomes_from_junit(junit) if junit is not None else None
            return Ran(result, outcomes)


def build_server(runner: Runner) -> MCPServer:
    commands = runner.commands
    checks = ", ".join(sorted(commands.checks)) or "none configured"
    server: MCPServer = MCPServer(
        "runner",
        instructions="Run the project's tests and checks in its worktree, sandboxed, with a timeout.",
        log_level="WARNING",
    )

    @server.tool(description=f"Run the project's tests ({commands.test or 'no test command configured'}).")
    async def run_tests(timeout_s: float | None = None) -> dict[str, Any]:
        if not commands.test:
            raise ToolError("no test command is configured for this project")
        ran = await runner.execute(commands.test, split(commands.test), runner.timeout_for(timeout_s), tests=True)
        return ran.result

    @server.tool(description=f"Run one of the project's configured checks by name: {checks}.")
    async def run_check(name: str, timeout_s: float | None = None) -> dict[str, Any]:
        command = commands.checks.get(name)
        if command is None:
            raise ToolError(f"no check named {name!r}; configured: {checks}")
        return (await runner.execute(command, split(command), runner.timeout_for(timeout_s))).result

    @server.tool(description="Run a shell command (sh -c) in the worktree, sandboxed without network.")
    async def run_shell(command: str, timeout_s: float | None = None) -> dict[str, Any]:
        if not command.strip():
            raise ToolError("command must not be empty")
        if len(command) > MAX_COMMAND_CHARS:
            raise ToolError(f"command is longer than {MAX_COMMAND_CHARS} characters")
        if not runner.isolation.sandboxed:
            raise ToolError(f"run_shell needs the sandbox, which cannot run here ({runner.isolation.why_not})")
        return (await runner.execute(command, ["/bin/sh", "-c", command], runner.timeout_for(timeout_s))).result

    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--commands", type=Path, default=None)
    parser.add_argument(
        "--project-commands", type=Path, default=None, help="the project's commands; used instead when it exists"
    )
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--max-output-bytes", type=int, default=65_536)
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--cpu-s", type=int, default=600)
    parser.add_argument("--bwrap", default="bwrap", help="bubblewrap binary; '' runs without the sandbox")
    parser.add_argument("--require-sandbox", action="store_true", help="refuse to start without bubblewrap")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="runner: %(message)s")
    try:
        if not args.root.is_dir():
            raise ConfigError(f"--root {args.root} is not a directory")
        project = args.project_commands
        commands = load_commands(project if project is not None and project.is_file() else args.commands)
        isolation = detect(args.bwrap)
    except (ConfigError, RuntimeError) as exc:
        print(f"runner: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    if not isolation.sandboxed:
        if args.require_sandbox:
            print(f"runner: cannot start: --require-sandbox, and {isolation.why_not}", file=sys.stderr)
            raise SystemExit(1)
        log.warning("no sandbox (%s): commands run with limits and timeouts only; no run_shell", isolation.why_not)
    limits = Limits(memory_mb=args.memory_mb, cpu_s=args.cpu_s)
    runner = Runner(
        args.root, commands, isolation, limits=limits, timeout_s=args.timeout_s, max_output_bytes=args.max_output_bytes
    )
    build_server(runner).run("stdio")


if __name__ == "__main__":
    main()
