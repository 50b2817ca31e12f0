"""Replay a Dockerfile's build stage without Docker: its ARGs (with the build arguments given),
ENVs, COPYs (honouring .dockerignore) and RUN lines, in a temporary directory standing in for the
image's WORKDIR.

The only RUN line not replayed is the one installing uv itself (uv is already here). Two ENV
values that change how files land, not which ones, are overridden to keep the replay fast:
bytecode is not compiled (UV_COMPILE_BYTECODE=0) and files are linked from uv's cache (uv's default).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(dockerfile: Path) -> list[Stage]:
    """Stages of ``dockerfile`` as (INSTRUCTION, arguments) pairs, continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages: list[Stage] = [Stage("<global>")]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else words[0]
            stages.append(Stage(name))
        stages[-1].instructions.append((op, " ".join(args.split())))
    return stages


def substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], m[0]), value)


def parse_env(args: str, variables: dict[str, str]) -> dict[str, str]:
    out = {}
    for word in shlex.split(args):
        key, _, value = word.partition("=")
        out[key] = substitute(value, {**variables, **out})
    return out


class DockerIgnore:
    def __init__(self, path: Path) -> None:
        self.patterns = [
            line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
        ]

    @staticmethod
    def _match(pattern: str, rel: str) -> bool:
        if pattern.startswith("**/"):
            parts = rel.split("/")
            return any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern[3:]) for i in range(len(parts)))
        return fnmatch.fnmatchcase(rel, pattern)

    def ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            excluded = False
            for pattern in self.patterns:
                negate = pattern.startswith("!")
                if self._match(pattern.lstrip("!"), sub):
                    excluded = not negate
            if excluded and depth < len(parts):
                return True
            if depth == len(parts):
                return excluded
        return False


def copy_from_context(context: Path, src: str, dest: Path, ignore: DockerIgnore) -> None:
    source = context / src
    if source.is_file():
        if not ignore.ignored(src):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
        return
    if not source.is_dir():
        raise FileNotFoundError(f"COPY {src}: not in the build context")
    for path in source.rglob("*"):
        rel = path.relative_to(context).as_posix()
        if path.is_file() and not ignore.ignored(rel):
            target = dest / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


@dataclass
class Replay:
    """The result: the venv the build stage made, and the runtime stage's environment."""

    venv: Path
    runtime_env: dict[str, str]
    commands: list[str]

    @property
    def entry_module(self) -> str:
        """The module the image runs (``python -m``)."""
        return self.runtime_env["VAPORA_SERVICE_MODULE"]


def stage_variables(stages: list[Stage], stage: Stage, build_args: dict[str, str]) -> dict[str, str]:
    """The ARG values ``stage`` sees: global and its own ARGs, from ``build_args`` or their defaults."""
    variables: dict[str, str] = {}
    for op, args in stages[0].instructions + stage.instructions:
        if op == "ARG":
            key, _, default = args.partition("=")
            variables[key] = build_args.get(key, shlex.split(default)[0] if default else "")
    return variables


def runtime_env(dockerfile: Path, build_args: dict[str, str]) -> dict[str, str]:
    """The ENV of the image's last (runtime) stage, built with ``build_args``."""
    stages = parse(dockerfile)
    variables = stage_variables(stages, stages[-1], build_args)
    env: dict[str, str] = {}
    for op, args in stages[-1].instructions:
        if op == "ENV":
            env.update(parse_env(args, {**variables, **env}))
    return env


def replay_build(
    dockerfile: Path,
    context: Path,
    workdir: Path,
    *,
    build_args: dict[str, str] | None = None,
    image_venv: str = "/app/.venv",
) -> Replay:
    stages = parse(dockerfile)
    build = next(s for s in stages if s.name == "build")
    runtime = stages[-1]
    variables = stage_variables(stages, build, build_args or {})
    ignore = DockerIgnore(context / ".dockerignore")
    venv = workdir / "venv"
    src_dir = workdir / "src"
    src_dir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_", "PYTHON"))}
    commands = []
    for op, args in build.instructions:
        if op == "ENV":
            values = parse_env(args, variables)
            variables.update(values)
            env.update(values)
        elif op == "COPY":
            assert not args.startswith("--"), f"build stage COPY with flags is not replayed: {args}"
            *sources, dest = shlex.split(substitute(args, variables))
            for src in sources:
                target = src_dir / dest if dest not in ("./", ".") else src_dir / Path(src).name
                copy_from_context(context, src, target, ignore)
        elif op == "RUN":
            command = substitute(args, variables)
            if "pip install" in command and "uv==" in command:
                continue  # installs uv itself
            env["UV_PROJECT_ENVIRONMENT"] = str(venv)  # the image's /app/.venv
            env["UV_COMPILE_BYTECODE"] = "0"
            env.pop("UV_LINK_MODE", None)
            commands.append(command)
            proc = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=src_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise AssertionError(f"{dockerfile}: RUN {command} failed:\n{proc.stdout}\n{proc.stderr}")
    assert variables.get("UV_PROJECT_ENVIRONMENT") == image_venv, "the build stage must install into " + image_venv
    copies = [args for op, args in runtime.instructions if op == "COPY" and args.startswith("--from=build")]
    assert copies == [f"--from=build {image_venv} {image_venv}"], copies
    return Replay(venv, runtime_env(dockerfile, build_args or {}), commands)
