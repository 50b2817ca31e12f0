"""mcp-gateway's Repositories service as a job uses it: its worktree around the tool loop.

``prepare`` before the loop (None when the job's project has no repository: the job works
without one), ``finish`` after it (the commit), ``verify`` (the evidence), ``release`` once the
execution is published. Every call carries the job's token; the gateway takes the job from it.
Prepare, finish and release are retried when the gateway is unavailable (each is idempotent for
one job); a verification can take as long as the project's tests, so its deadline is its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from vapora.common.v1 import evidence_pb2
from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_core.errors import NoRepository
from vapora_core.grpc import call, channel
from vapora_core.jobtoken import bearer_metadata


class WorktreeClient:
    def __init__(self, target: str, *, timeout: float = 60.0, verify_timeout: float = 1300.0) -> None:
        self.target = target
        self._verify_timeout = verify_timeout
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout)
        self._stub = repositories_pb2_grpc.RepositoriesStub(self._channel)

    async def prepare(
        self, *, token: str, start_branch: str = "", attempt: int = 0, run_id: str = ""
    ) -> repositories_pb2.Worktree | None:
        """The job's worktree, clean at its start point; None when its project has no repository."""
        request = repositories_pb2.PrepareWorktreeRequest(start_branch=start_branch, attempt=attempt, run_id=run_id)
        try:
            reply: repositories_pb2.Worktree = await call(
                self.target, lambda: self._stub.PrepareWorktree(request, metadata=bearer_metadata(token))
            )
        except NoRepository:
            return None
        return reply

    async def finish(self, *, token: str, subject: str, attempt: int, run_id: str) -> evidence_pb2.Artifacts:
        request = repositories_pb2.FinishWorktreeRequest(subject=subject, attempt=attempt, run_id=run_id)
        reply: evidence_pb2.Artifacts = await call(
            self.target, lambda: self._stub.FinishWorktree(request, metadata=bearer_metadata(token))
        )
        return reply

    async def verify(
        self, *, token: str, kind: str, findings: Sequence[evidence_pb2.Finding] = ()
    ) -> evidence_pb2.Verification:
        request = repositories_pb2.VerifyWorktreeRequest(kind=kind, findings=list(findings))
        reply: evidence_pb2.Verification = await call(
            self.target,
            lambda: self._stub.VerifyWorktree(request, metadata=bearer_metadata(token), timeout=self._verify_timeout),
        )
        return reply

    async def release(self, *, token: str) -> bool:
        request = repositories_pb2.ReleaseWorktreeRequest()
        reply: repositories_pb2.ReleaseWorktreeResponse = await call(
            self.target, lambda: self._stub.ReleaseWorktree(request, metadata=bearer_metadata(token))
        )
        return reply.removed

    async def close(self) -> None:
        await self._channel.close()
