"""The ``vapora.mcp.v1.Repositories`` gRPC service: decode, authenticate, call, encode.

``AttachRepository``, ``GetRepository`` and ``GetDiff`` are workspace-scoped calls of the
api-gateway (which did the Cedar check): another workspace's project or task is NOT_FOUND, as
one that does not exist. The worktree calls act for the job of the job token in the call's
metadata (``authorization: Bearer <job token>``): no or a bad token is UNAUTHENTICATED.
"""

from __future__ import annotations

from typing import Any

import grpc

from vapora.common.v1 import evidence_pb2
from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_core.errors import InvalidArgument, NotFound
from vapora_core.jobtoken import JobClaims
from vapora_mcp_gateway.grpc_server import authorization
from vapora_mcp_gateway.identity import Authenticator
from vapora_mcp_gateway.repos.attach import Attacher, AttachRequest
from vapora_mcp_gateway.repos.records import RepoRecord, RepoRecords, WorktreeRecord
from vapora_mcp_gateway.repos.verify import Verifier
from vapora_mcp_gateway.repos.worktrees import Worktrees

SERVICE_NAME = "vapora.mcp.v1.Repositories"
Ctx = grpc.aio.ServicerContext[Any, Any]


def artifacts(rec: WorktreeRecord) -> evidence_pb2.Artifacts:
    c = rec.committed
    return evidence_pb2.Artifacts(
        commit=c.commit,
        branch=rec.branch,
        base=rec.base,
        start_branch=rec.start_branch,
        files_changed=list(c.files_changed),
        insertions=c.insertions,
        deletions=c.deletions,
        advanced=c.advanced,
        merge_commit=c.merge_commit,
    )


class RepositoriesServicer(repositories_pb2_grpc.RepositoriesServicer):
    def __init__(
        self, attacher: Attacher, records: RepoRecords, worktrees: Worktrees, verifier: Verifier, auth: Authenticator
    ) -> None:
        self._attacher = attacher
        self._records = records
        self._worktrees = worktrees
        self._verifier = verifier
        self._auth = auth

    def _claims(self, context: Ctx) -> JobClaims:
        return self._auth.caller(authorization(context), via="grpc").claims

    async def _repository(self, rec: RepoRecord) -> repositories_pb2.Repository:
        out = repositories_pb2.Repository(
            workspace_id=rec.workspace_id,
            project_id=rec.project_id,
            kind=rec.kind,
            path=rec.path,
            url=rec.url,
            default_branch=rec.default_branch,
            test_command=rec.test_command,
            checks=rec.checks,
            head=await self._attacher.head(rec),
            attached_by=rec.attached_by,
        )
        out.attached_at.FromNanoseconds(int(rec.attached_at_s * 1e9))
        return out

    async def AttachRepository(
        self, request: repositories_pb2.AttachRepositoryRequest, context: Ctx
    ) -> repositories_pb2.Repository:
        rec = await self._attacher.attach(
            AttachRequest(
                workspace_id=request.workspace_id,
                project_id=request.project_id,
                kind=request.kind,
                path=request.path,
                url=request.url,
                test_command=request.test_command,
                checks=dict(request.checks),
                default_branch=request.default_branch,
                actor=request.actor,
            )
        )
        return await self._repository(rec)

    async def GetRepository(
        self, request: repositories_pb2.GetRepositoryRequest, context: Ctx
    ) -> repositories_pb2.Repository:
        if not request.workspace_id or not request.project_id:
            raise InvalidArgument("workspace_id and project_id are required")
        rec = await self._records.repository(request.workspace_id, request.project_id)
        if rec is None:
            raise NotFound(f"project {request.project_id!r} has no repository")
        return await self._repository(rec)

    async def PrepareWorktree(
        self, request: repositories_pb2.PrepareWorktreeRequest, context: Ctx
    ) -> repositories_pb2.Worktree:
        rec, reset = await self._worktrees.prepare(
            self._claims(context), start_branch=request.start_branch, attempt=request.attempt, run_id=request.run_id
        )
        return repositories_pb2.Worktree(
            workspace_id=rec.workspace_id,
            project_id=rec.project_id,
            task_id=rec.task_id,
            job_id=rec.job_id,
            path=rec.path,
            branch=rec.branch,
            base=rec.base,
            start_branch=rec.start_branch,
            reset=reset,
        )

    async def FinishWorktree(
        self, request: repositories_pb2.FinishWorktreeRequest, context: Ctx
    ) -> evidence_pb2.Artifacts:
        rec = await self._worktrees.finish(
            self._claims(context), subject=request.subject, attempt=request.attempt, run_id=request.run_id
        )
        return artifacts(rec)

    async def VerifyWorktree(
        self, request: repositories_pb2.VerifyWorktreeRequest, context: Ctx
    ) -> evidence_pb2.Verification:
        claims = self._claims(context)
        if request.kind == "tests":
            return await self._verifier.tests(claims)
        if request.kind == "review":
            return await self._verifier.review(claims, list(request.findings))
        raise InvalidArgument(f"kind {request.kind!r} is not 'tests' or 'review'")

    async def ReleaseWorktree(
        self, request: repositories_pb2.ReleaseWorktreeRequest, context: Ctx
    ) -> repositories_pb2.ReleaseWorktreeResponse:
        removed, path = await self._worktrees.release(self._claims(context))
        return repositories_pb2.ReleaseWorktreeResponse(removed=removed, path=path)

    async def GetDiff(self, request: repositories_pb2.GetDiffRequest, context: Ctx) -> repositories_pb2.Diff:
        rec, text, truncated = await self._worktrees.diff(request.workspace_id, request.task_id)
        return repositories_pb2.Diff(task_id=rec.task_id, artifacts=artifacts(rec), text=text, truncated=truncated)
