"""Attaching a project's repository: an existing local one, a bare one Vapora creates, or a clone.

- ``local``: the top of an existing git repository on the gateway's machine (bare or not),
  used in place: the jobs' branches ``vapora/<task-id>`` appear in it.
- ``bare``: ``<repos_dir>/<workspace>/<project>.git``, created with one empty commit on
  ``main`` so jobs have a start point.
- ``remote``: the URL cloned (``git clone --bare``) into the same place, within
  ``clone_timeout_s``, with the credentials :class:`~.locations.Credentials` has for it; the
  default branch is fetched again before each job starts from it.

Refused with a clear error and nothing created. Input that is wrong in itself is
``InvalidArgument``: an unknown kind, a relative path, a URL of another scheme or with a password,
commands that do not parse. What the world says no to is ``FailedPrecondition``: a path that does
not exist or is not the top of a git repository, one with no commit on its default branch, a URL
git cannot clone (git's reason, never a secret); a path outside ``VAPORA_REPO_LOCAL_ROOTS`` is
``PermissionDenied``, and a repository another project already has ``AlreadyExists`` (another
workspace's is not named). Attaching again
replaces the record (e.g. new commands); a repository Vapora made before is kept on disk.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from vapora_core.errors import AlreadyExists, DeadlineExceeded, FailedPrecondition, InvalidArgument
from vapora_mcp_gateway.repos import locations
from vapora_mcp_gateway.repos.git import Git, GitFailed
from vapora_mcp_gateway.repos.locations import GIT_CONFIG, Credentials
from vapora_mcp_gateway.repos.records import RepoRecord, RepoRecords
from vapora_mcp_gateway.servers.commands import Commands

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True, slots=True)
class AttachRequest:
    workspace_id: str
    project_id: str
    kind: str
    path: str = ""
    url: str = ""
    test_command: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    default_branch: str = ""
    actor: str = ""


def check_commands(test_command: str, checks: dict[str, str]) -> Commands:
    try:
        return Commands.model_validate({"test": test_command, "checks": checks})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("test", "test_command", 1)
        raise InvalidArgument(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


class Attacher:
    def __init__(
        self,
        git: Git,
        records: RepoRecords,
        *,
        repos_dir: Path,
        credentials: Credentials,
        local_roots: Sequence[Path] = (),
        clone_timeout_s: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._git = git
        self._records = records
        self._repos_dir = repos_dir
        self._credentials = credentials
        self._local_roots = tuple(local_roots)
        self._clone_timeout_s = clone_timeout_s
        self._clock = clock
        self._lock = asyncio.Lock()  # one attach at a time: location checks and creation together

    async def attach(self, req: AttachRequest) -> RepoRecord:
        locations.check_ident("workspace_id", req.workspace_id)
        locations.check_ident("project_id", req.project_id)
        check_commands(req.test_command, req.checks)
        if req.kind not in locations.KINDS:
            raise InvalidArgument(f"kind {req.kind!r} is not one of {', '.join(locations.KINDS)}")
        if req.default_branch and not await self._git.ok("check-ref-format", f"refs/heads/{req.default_branch}"):
            raise InvalidArgument(f"default_branch {req.default_branch!r} is not a valid branch name")
        async with self._lock:
            if req.kind == "local":
                record = await self._local(req)
            elif req.kind == "bare":
                record = await self._bare(req)
            else:
                record = await self._remote(req)
            if not await self._records.save_repository(record):
                raise AlreadyExists(f"the repository {self._shown(record)} is attached to another project")
        return record

    def _shown(self, record: RepoRecord) -> str:
        return record.url or record.path

    def _record(self, req: AttachRequest, *, path: Path, location: str, default_branch: str) -> RepoRecord:
        return RepoRecord(
            workspace_id=req.workspace_id,
            project_id=req.project_id,
            kind=req.kind,
            path=str(path),
            location=location,
            default_branch=default_branch,
            url=req.url if req.kind == "remote" else "",
            test_command=req.test_command,
            checks=dict(req.checks),
            attached_at_s=self._clock(),
            attached_by=req.actor,
        )

    async def _owned_elsewhere(self, location: str, req: AttachRequest, shown: str) -> None:
        other = await self._records.by_location(location)
        if other is None or (other.workspace_id, other.project_id) == (req.workspace_id, req.project_id):
            return
        if other.workspace_id != req.workspace_id:
            raise AlreadyExists(f"the repository {shown} is attached to another workspace")
        raise AlreadyExists(f"the repository {shown} is already attached to project {other.project_id!r}")

    async def _branch_with_commit(self, git_dir: Path, wanted: str, shown: str) -> str:
        branch = wanted or (await self._git.run("symbolic-ref", "--short", "HEAD", cwd=git_dir, check=False)).stdout
        branch = branch.strip() or "main"
        if not await self._git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", cwd=git_dir):
            raise FailedPrecondition(
                f"the repository {shown} has no commit on branch {branch!r}: jobs need a start point"
            )
        return branch

    # -- kinds -------------------------------------------------------------------------

    async def _local(self, req: AttachRequest) -> RepoRecord:
        if req.url:
            raise InvalidArgument("a local repository is given by path, not url")
        path = locations.check_local_path(req.path, self._local_roots)
        if not await asyncio.to_thread(path.is_dir):
            raise FailedPrecondition(f"path {req.path!r} does not exist or is not a directory")
        probe = await self._git.run("rev-parse", "--is-bare-repository", "--git-common-dir", cwd=path, check=False)
        if probe.exit_code != 0:
            raise FailedPrecondition(f"path {req.path!r} is not a git repository")
        bare, common = probe.stdout.split("\n")[:2]
        git_dir = (path / common).resolve()
        if bare != "true":
            top = (await self._git.out("rev-parse", "--show-toplevel", cwd=path)).strip()
            if not await asyncio.to_thread(Path(top).samefile, path):
                raise FailedPrecondition(f"path {req.path!r} is inside the git repository {top}: attach its top")
        location = locations.path_key(git_dir)
        await self._owned_elsewhere(location, req, req.path)
        branch = await self._branch_with_commit(path, req.default_branch, req.path)
        return self._record(req, path=path.resolve(), location=location, default_branch=branch)

    def _managed(self, req: AttachRequest) -> Path:
        return self._repos_dir / req.workspace_id / f"{req.project_id}.git"

    async def _bare(self, req: AttachRequest) -> RepoRecord:
        if req.path or req.url:
            raise InvalidArgument("a bare repository is made by Vapora: give neither path nor url")
        target = self._managed(req).resolve()
        location = locations.path_key(target)
        await self._owned_elsewhere(location, req, str(target))
        branch = req.default_branch or "main"
        if not await asyncio.to_thread((target / "HEAD").is_file):
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            await self._git.run("init", "--quiet", "--bare", f"--initial-branch={branch}", str(target))
            first = await self._git.out("commit-tree", EMPTY_TREE, "-m", "Vapora: the project's repository", cwd=target)
            await self._git.run("update-ref", f"refs/heads/{branch}", first, cwd=target)
        branch = await self._branch_with_commit(target, branch, str(target))
        return self._record(req, path=target, location=location, default_branch=branch)

    async def _remote(self, req: AttachRequest) -> RepoRecord:
        if req.path:
            raise InvalidArgument("a remote repository is given by url, not path")
        url = locations.check_url(req.url)
        location = locations.url_key(url)
        await self._owned_elsewhere(location, req, url)
        target = self._managed(req).resolve()
        existing = await self._records.repository(req.workspace_id, req.project_id)
        if existing is None or existing.location != location or not await asyncio.to_thread(target.is_dir):
            await self._clone(url, target)
        branch = await self._branch_with_commit(target, req.default_branch, url)
        return self._record(req, path=target, location=location, default_branch=branch)

    async def _clone(self, url: str, target: Path) -> None:
        """Clone ``url`` beside ``target`` and move it there once complete: a failed clone leaves nothing."""
        scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        cred = self._credentials.for_url(url)
        try:
            await self._git.run(
                "clone",
                "--bare",
                "--quiet",
                "--",
                url,
                str(scratch),
                timeout_s=self._clone_timeout_s,
                env=cred.git_env() if cred else None,
                config=GIT_CONFIG if cred else (),
                secrets=cred.secrets if cred else (),
            )
        except GitFailed as exc:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
            raise FailedPrecondition(f"cannot clone {url}: {exc.stderr or 'git gave no reason'}") from None
        except DeadlineExceeded:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
            raise FailedPrecondition(f"cannot clone {url}: no answer within {self._clone_timeout_s:g} s") from None
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
            raise
        await asyncio.to_thread(shutil.rmtree, target, True)
        await asyncio.to_thread(scratch.rename, target)

    async def head(self, record: RepoRecord) -> str:
        """The default branch's commit now ("" when it cannot be read)."""
        found = await self._git.run(
            "rev-parse",
            "--verify",
            "-q",
            f"refs/heads/{record.default_branch}^{{commit}}",
            cwd=Path(record.path),
            check=False,
        )
        return found.stdout.strip() if found.exit_code == 0 else ""

    async def fetch(self, record: RepoRecord) -> bool:
        """Bring a remote repository's default branch up to date; False (logged by the caller) when
        the remote cannot be reached: jobs then start from what was fetched last."""
        if record.kind != "remote":
            return True
        cred = self._credentials.for_url(record.url)
        refspec = f"+refs/heads/{record.default_branch}:refs/heads/{record.default_branch}"
        try:
            result = await self._git.run(
                "fetch",
                "--quiet",
                record.url,
                refspec,
                cwd=Path(record.path),
                check=False,
                timeout_s=self._clone_timeout_s,
                env=cred.git_env() if cred else None,
                config=GIT_CONFIG if cred else (),
                secrets=cred.secrets if cred else (),
            )
        except DeadlineExceeded:
            return False
        return result.exit_code == 0
