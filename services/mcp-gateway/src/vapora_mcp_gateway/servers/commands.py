"""The runner's configured commands (``config/runner.toml``), validated at load.

::

    test = "python -m pytest -q"        # run_tests
    [checks]                            # run_check(name)
    lint = "ruff check ."
    typecheck = "mypy src"

A command is split like a shell would split it (``shlex``) but never run by a shell; only
``run_shell`` runs ``sh -c``. Errors name the file and the field.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from vapora_core.errors import ConfigError

CHECK_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Commands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    test: str = ""
    checks: dict[str, str] = {}

    @field_validator("test")
    @classmethod
    def _test(cls, value: str) -> str:
        if value:
            split(value)
        return value

    @field_validator("checks")
    @classmethod
    def _checks(cls, value: dict[str, str]) -> dict[str, str]:
        for name, command in value.items():
            if not CHECK_NAME.match(name):
                raise ValueError(f"check name {name!r} must be lowercase letters, digits, '-' or '_'")
            if not command.strip():
                raise ValueError(f"check {name!r} has an empty command")
            split(command)
        return value


def split(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"cannot split {command!r}: {exc}") from exc
    if not argv:
        raise ValueError("the command is empty")
    return argv


def load_commands(path: Path | None) -> Commands:
    """The commands of ``path``; no file: no commands (run_tests and run_check say so)."""
    if path is None:
        return Commands()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc
    try:
        return Commands.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"].removeprefix("Value error, "), source=str(path), field=field) from exc
