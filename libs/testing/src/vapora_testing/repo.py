"""Where the Vapora repository is: found from where you stand, not from where this file is.

The root is the nearest folder, at or above ``VAPORA_ROOT`` (when set) or the current
directory, whose ``pyproject.toml`` declares the uv workspace (``[tool.uv.workspace]``). The
fleet launcher takes its config directory from it; the operator's scripts (``scripts/fleet.py``,
``scripts/demo.py``) their run directory, :func:`run_dir`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


class NotInRepository(RuntimeError):
    """No workspace ``pyproject.toml`` at or above ``start``."""

    def __init__(self, start: Path) -> None:
        super().__init__(
            f"no Vapora repository at or above {start} (looked for a pyproject.toml with "
            "[tool.uv.workspace]): run from inside the repository or set VAPORA_ROOT"
        )
        self.start = start


def is_workspace_root(folder: Path) -> bool:
    """Whether ``folder`` holds a ``pyproject.toml`` with a ``[tool.uv.workspace]`` table."""
    try:
        with (folder / "pyproject.toml").open("rb") as f:
            project = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(project.get("tool", {}).get("uv", {}).get("workspace"), dict)


def repo_root(start: Path | None = None) -> Path:
    """The repository's root folder, walking up from ``start`` (default: ``VAPORA_ROOT`` or the
    current directory). Raises :class:`NotInRepository` when no folder on the way qualifies."""
    if start is None:
        start = Path(os.environ.get("VAPORA_ROOT") or Path.cwd())
    start = start.resolve()
    for folder in (start, *start.parents):
        if is_workspace_root(folder):
            return folder
    raise NotInRepository(start)


def run_dir() -> Path:
    """Where ``just up`` keeps the local fleet's logs, data and state: ``VAPORA_RUN_DIR``, else
    ``.run/`` in the repository root."""
    explicit = os.environ.get("VAPORA_RUN_DIR")
    return Path(explicit) if explicit else repo_root() / ".run"
