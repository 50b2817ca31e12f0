"""Real git repositories for tests: ``git`` run as a test author, and a committed repository.

The author (``Vapora Test <test@vapora.dev>``) is given on the command line, so a test needs no
git configuration of the machine it runs on.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

AUTHOR = ("-c", "user.name=Vapora Test", "-c", "user.email=test@vapora.dev")


def git(root: Path, *args: str) -> str:
    """Run ``git args`` in ``root`` as the test author; its output, stripped. A failing command
    raises :class:`subprocess.CalledProcessError` (with its stderr)."""
    done = subprocess.run(["git", *AUTHOR, *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(root: Path, files: Mapping[str, str], message: str = "initial commit") -> Path:
    """A repository at ``root`` (made, with its parents, if need be) holding ``files`` (relative
    path → text) and whatever ``root`` held before, all committed on ``main`` as one commit with
    ``message``; ``root`` resolved."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", message)
    return root.resolve()
