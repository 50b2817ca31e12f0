"""Repositories and worktrees (issue 24): a project's git repository, one worktree per job on
``vapora/<task-id>``, the job's commit, the evidence of its outcome, and its diff.

- :mod:`.git`: running git (no hooks, no prompts, a timeout, secrets never in arguments);
- :mod:`.locations`: what may be attached (local paths, URLs) and the credentials of remotes;
- :mod:`.records`: the ``repository``, ``worktree`` and ``test_run`` tables of namespace ``mcp``;
- :mod:`.attach`: attaching local, bare and remote repositories;
- :mod:`.worktrees`: prepare, finish, release, sweep, diff; and the root resolver of the
  worktree MCP servers;
- :mod:`.advance`: moving a workflow run's branch on to a stage's commit;
- :mod:`.verify`: the test command on the commit and on its start point; reviewers' findings;
- :mod:`.servicer`: the ``vapora.mcp.v1.Repositories`` gRPC service.
"""
