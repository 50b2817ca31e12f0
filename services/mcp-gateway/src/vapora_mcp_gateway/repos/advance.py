"""Moving a workflow run's branch on to a stage's commit (design-workflows, "Branch").

Stages of a run share ``vapora/run-<id>``: each stage's worktree starts from it, and once the
stage has committed on its own branch, the run branch moves to that commit — by fast-forward
when it has not moved since the stage started, else by a merge commit made without a worktree
(``git merge-tree --write-tree``, then ``commit-tree``), when two parallel stages both committed.
Every move is a compare-and-set of the ref (``update-ref <ref> <new> <old>``). A conflict moves
nothing and fails with the conflicting paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vapora_core.errors import FailedPrecondition
from vapora_mcp_gateway.repos.git import Git


@dataclass(frozen=True, slots=True)
class Advanced:
    head: str  # the branch's commit now
    merge_commit: str = ""  # set when a merge was needed


async def advance(git: Git, repo: Path, branch: str, commit: str, *, message: str) -> Advanced:
    ref = f"refs/heads/{branch}"
    head = await git.out("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repo)
    if head == commit or await git.ok("merge-base", "--is-ancestor", commit, head, cwd=repo):
        return Advanced(head)  # already contains the commit
    if await git.ok("merge-base", "--is-ancestor", head, commit, cwd=repo):
        await git.run("update-ref", ref, commit, head, cwd=repo)
        return Advanced(commit)
    merged = await git.run(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", head, commit, cwd=repo, check=False
    )
    lines = [line for line in merged.stdout.splitlines() if line]
    if merged.exit_code == 1:
        conflicts = ", ".join(sorted(set(lines[1:]))) or "(unknown paths)"
        raise FailedPrecondition(
            f"cannot move {branch} on to {commit[:12]}: it conflicts with {head[:12]} in {conflicts}"
        )
    if merged.exit_code != 0 or not lines:
        why = merged.stderr or "git merge-tree failed"
        raise FailedPrecondition(f"cannot merge {commit[:12]} into {branch}: {why}")
    tree = lines[0]
    merge = await git.out("commit-tree", tree, "-p", head, "-p", commit, "-m", message, cwd=repo)
    await git.run("update-ref", ref, merge, head, cwd=repo)
    return Advanced(merge, merge)
