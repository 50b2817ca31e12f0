"""Attaching a project's repository through the real gateway's Repositories service: local
repositories used in place, bare ones Vapora makes, remotes cloned (file:// and smart HTTP with
credentials), and every bad input refused with a clear error and nothing created."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from repokit import WS, attach_local, make_calc_repo, repositories_stub, rpc_error, start_app

from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_core.http_site import start_site
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing.git import git
from vapora_testing.ports import free_port

Stub = repositories_pb2_grpc.RepositoriesStub


def get(ws: str = WS, project: str = "proj-1") -> repositories_pb2.GetRepositoryRequest:
    return repositories_pb2.GetRepositoryRequest(workspace_id=ws, project_id=project)


async def test_a_local_repository_is_attached_in_place_and_read_back(repos: Stub, tmp_path: Path) -> None:
    root = make_calc_repo(tmp_path / "calc")
    head = git(root, "rev-parse", "HEAD")
    attached = await repos.AttachRepository(
        attach_local(root, test_command="python -m pytest -q", checks={"lint": "ruff check ."}, actor="ada")
    )
    assert (attached.kind, attached.path, attached.default_branch, attached.head) == ("local", str(root), "main", head)
    assert attached.test_command == "python -m pytest -q" and dict(attached.checks) == {"lint": "ruff check ."}
    assert attached.attached_by == "ada" and attached.attached_at.seconds > 0
    again = await repos.GetRepository(get())
    assert (again.path, again.head, again.test_command) == (str(root), head, "python -m pytest -q")

    for request in (get(ws="ws-other"), get(project="proj-2")):
        err = await rpc_error(repos.GetRepository(request))
        assert err.code() == grpc.StatusCode.NOT_FOUND
        assert "has no repository" in (err.details() or "")

    # attaching again replaces the commands
    changed = await repos.AttachRepository(attach_local(root, test_command="pytest -x"))
    assert changed.test_command == "pytest -x" and (await repos.GetRepository(get())).test_command == "pytest -x"


async def test_a_path_that_is_not_a_repository_is_refused_and_nothing_is_attached(repos: Stub, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    root = make_calc_repo(tmp_path / "calc")
    (root / "sub").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    cases = {
        str(plain): (grpc.StatusCode.FAILED_PRECONDITION, "is not a git repository"),
        str(tmp_path / "missing"): (grpc.StatusCode.FAILED_PRECONDITION, "does not exist or is not a directory"),
        "relative/path": (grpc.StatusCode.INVALID_ARGUMENT, "must be an absolute path"),
        "/" + "0" * 300: (grpc.StatusCode.FAILED_PRECONDITION, "or a name in it longer than 255"),
        "/a" * 2048: (grpc.StatusCode.FAILED_PRECONDITION, "does not exist: longer than 4095 bytes"),
        str(root / "sub"): (
            grpc.StatusCode.FAILED_PRECONDITION,
            f"is inside the git repository {root}: attach its top",
        ),
        str(empty): (grpc.StatusCode.FAILED_PRECONDITION, "has no commit on branch 'main'"),
    }
    for path, (code, reason) in cases.items():
        err = await rpc_error(repos.AttachRepository(attach_local(path)))
        assert err.code() == code, path
        assert reason in (err.details() or ""), (path, err.details())
    err = await rpc_error(repos.AttachRepository(attach_local(root, default_branch="nope")))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "has no commit on branch 'nope'" in (err.details() or "")
    err = await rpc_error(repos.AttachRepository(attach_local(root, default_branch="a..b")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a valid branch name" in (err.details() or "")
    err = await rpc_error(repos.AttachRepository(attach_local(root, kind="svn")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "kind 'svn' is not one of local, bare, remote" in (
        err.details() or ""
    )
    err = await rpc_error(repos.AttachRepository(attach_local(root, test_command="pytest 'unclosed")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "test_command" in (err.details() or "")
    err = await rpc_error(repos.AttachRepository(attach_local(root, checks={"Bad Name": "ruff"})))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "check name 'Bad Name'" in (err.details() or "")
    err = await rpc_error(repos.AttachRepository(attach_local(root, project="../escape")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "project_id '../escape'" in (err.details() or "")
    assert (await rpc_error(repos.GetRepository(get()))).code() == grpc.StatusCode.NOT_FOUND


async def test_a_repository_belongs_to_one_project_and_another_workspace_is_not_named(
    repos: Stub, tmp_path: Path
) -> None:
    root = make_calc_repo(tmp_path / "calc")
    await repos.AttachRepository(attach_local(root))
    err = await rpc_error(repos.AttachRepository(attach_local(root, ws="ws-rival")))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert f"the repository {root} is attached to another workspace" in (err.details() or "")
    assert WS not in (err.details() or "")
    err = await rpc_error(repos.AttachRepository(attach_local(root, project="proj-2")))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS and "already attached to project 'proj-1'" in (
        err.details() or ""
    )
    # the same repository through another spelling of its path is the same repository
    err = await rpc_error(repos.AttachRepository(attach_local(Path(f"{root}/../calc"), ws="ws-rival")))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    for ws, project in (("ws-rival", "proj-1"), (WS, "proj-2")):
        assert (await rpc_error(repos.GetRepository(get(ws, project)))).code() == grpc.StatusCode.NOT_FOUND


async def test_a_bare_repository_is_made_with_a_first_commit_and_kept_when_attached_again(
    repo_app: McpApp, repos: Stub
) -> None:
    request = repositories_pb2.AttachRepositoryRequest(workspace_id=WS, project_id="proj-b", kind="bare")
    made = await repos.AttachRepository(request)
    expected = (repo_app.settings.data_dir / "repos" / WS / "proj-b.git").resolve()
    assert (made.kind, made.path, made.default_branch) == ("bare", str(expected), "main")
    assert git(expected, "rev-parse", "--is-bare-repository") == "true"
    assert git(expected, "log", "--format=%s", "main") == "Vapora: the project's repository"
    again = await repos.AttachRepository(
        repositories_pb2.AttachRepositoryRequest(workspace_id=WS, project_id="proj-b", kind="bare", test_command="make")
    )
    assert again.head == made.head and again.test_command == "make"
    err = await rpc_error(
        repos.AttachRepository(
            repositories_pb2.AttachRepositoryRequest(workspace_id=WS, project_id="proj-c", kind="bare", path="/tmp/x")
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "give neither path nor url" in (err.details() or "")


async def test_a_remote_is_cloned_and_an_unreachable_or_unsafe_url_is_refused_leaving_nothing(
    repo_app: McpApp, repos: Stub, tmp_path: Path
) -> None:
    source = make_calc_repo(tmp_path / "upstream")
    request = repositories_pb2.AttachRepositoryRequest(
        workspace_id=WS, project_id="proj-r", kind="remote", url=f"file://{source}"
    )
    cloned = await repos.AttachRepository(request)
    assert cloned.kind == "remote" and cloned.url == f"file://{source}"
    assert cloned.head == git(source, "rev-parse", "HEAD") and cloned.default_branch == "main"
    assert Path(cloned.path).is_dir() and Path(cloned.path) != source

    repos_dir = repo_app.settings.data_dir / "repos" / WS
    before = sorted(p.name for p in repos_dir.iterdir())
    bad_input, refused_by_the_world = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION
    refused = {
        f"http://127.0.0.1:{free_port()}/nothing.git": (refused_by_the_world, "cannot clone http://127.0.0.1:"),
        f"file://{tmp_path / 'nothing-here'}": (refused_by_the_world, "cannot clone file://"),
        "https://user:hunter2@example.com/x.git": (
            bad_input,
            "must not carry a user or password; put credentials in VAPORA_REPO_CREDENTIALS",
        ),
        "ssh://git:hunter2@example.com/x.git": (bad_input, "must not carry a user or password"),
        "ftp://example.com/x.git": (bad_input, "url scheme 'ftp' is not one of https, http, ssh, git, file"),
        "https:///x.git": (bad_input, "has no host"),
        "https://example.com:99999/x.git": (bad_input, "has a port that is not a number from 1 to 65535"),
    }
    for url, (code, reason) in refused.items():
        bad = repositories_pb2.AttachRepositoryRequest(workspace_id=WS, project_id="proj-x", kind="remote", url=url)
        err = await rpc_error(repos.AttachRepository(bad))
        assert err.code() == code, url
        assert reason in (err.details() or ""), (url, err.details())
        assert "hunter2" not in (err.details() or "")
    assert sorted(p.name for p in repos_dir.iterdir()) == before  # no clone, no leftover
    assert (await rpc_error(repos.GetRepository(get(project="proj-x")))).code() == grpc.StatusCode.NOT_FOUND


# -- a smart-HTTP git server that wants a password ------------------------------------------------

USER, PASSWORD = "vapora-bot", "s3cret-token-4711"


@pytest.fixture
async def git_http(tmp_path: Path) -> AsyncIterator[str]:
    """``git http-backend`` behind HTTP basic auth, serving <tmp>/served/calc.git; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    source = make_calc_repo(tmp_path / "http-source")
    git(served, "clone", "-q", "--bare", str(source), "calc.git")
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        body = await request.read()
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(served),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "REQUEST_METHOD": request.method,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "REMOTE_USER": USER,
            "REMOTE_ADDR": "127.0.0.1",
        }
        proc = await asyncio.create_subprocess_exec(
            "git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate(body)
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, {}
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        return web.Response(status=status, body=payload, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = await start_site(runner, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_remote_behind_a_password_is_cloned_with_the_configured_credentials_never_shown(
    settings: McpSettings, tmp_path: Path, git_http: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{git_http}/calc.git"
    request = repositories_pb2.AttachRepositoryRequest(workspace_id=WS, project_id="proj-h", kind="remote", url=url)

    without = await start_app(settings, tmp_path / "no-credentials")
    try:
        async with repositories_stub(without) as stub:
            err = await rpc_error(stub.AttachRepository(request))
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and f"cannot clone {url}" in (err.details() or "")
    finally:
        await without.stop()

    host = git_http.removeprefix("http://")
    credentials = f'{{"{host}": "{USER}:{PASSWORD}"}}'
    with_credentials = await start_app(
        settings.model_copy(update={"store_url": settings.store_url + "-2"}),
        tmp_path / "credentials",
        repo_credentials=credentials,
        data_dir=tmp_path / "data-2",
    )
    try:
        async with repositories_stub(with_credentials) as stub:
            cloned = await stub.AttachRepository(request)
            assert cloned.head and cloned.url == url
            assert git(Path(cloned.path), "log", "--format=%s", "main") == "calc with a bug in mul"
            assert PASSWORD not in repr(with_credentials.settings)
    finally:
        await with_credentials.stop()
    assert PASSWORD not in caplog.text
    assert PASSWORD not in git(Path(cloned.path), "config", "--list")
