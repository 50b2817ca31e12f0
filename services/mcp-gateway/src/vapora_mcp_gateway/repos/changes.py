"""What a commit changed against its start point: numbers (``git diff --numstat``) and the
unified diff (``git diff``), both without external diff drivers or text conversion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vapora_mcp_gateway.repos.git import Git

DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv", "--find-renames")


@dataclass(frozen=True, slots=True)
class Stats:
    files: tuple[str, ...]
    insertions: int
    deletions: int


async def stats(git: Git, repo: Path, base: str, commit: str) -> Stats:
    """Files changed (sorted), lines inserted and deleted (binary files count no lines)."""
    out = await git.out("diff", "--numstat", "-z", *DIFF_FLAGS, base, commit, cwd=repo)
    files: set[str] = set()
    insertions = deletions = 0
    fields = out.split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        added, removed, path = fields[i].split("\t", 2)
        if path == "":  # a rename: the old and the new path follow
            path = fields[i + 2]
            i += 2
        files.add(path)
        insertions += int(added) if added.isdigit() else 0
        deletions += int(removed) if removed.isdigit() else 0
        i += 1
    return Stats(tuple(sorted(files)), insertions, deletions)


async def unified(git: Git, repo: Path, base: str, commit: str, *, max_bytes: int) -> tuple[str, bool]:
    """The unified diff of ``base..commit``, cut at ``max_bytes`` with a marker saying so."""
    result = await git.run("diff", *DIFF_FLAGS, base, commit, cwd=repo, max_bytes=max_bytes)
    text = result.stdout
    if result.truncated:
        text = text[: text.rfind("\n") + 1] + f"[diff cut by mcp-gateway at {max_bytes} bytes]\n"
    return text, result.truncated
