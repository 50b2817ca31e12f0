"""Agents that work on real code, through the public API: a job's worktree on ``vapora/<task>``,
its commit, the project's tests deciding its outcome, the diff (and the task's page showing it, with
the verification and the steps, in headless Chromium), a reviewer's verdict, two jobs on one
repository at once, and a runtime SIGKILLed after a partial edit.

Real processes: nats-server and the seven services; real git, the official filesystem MCP server
and our runner behind mcp-gateway. The model is the local fake speaking the OpenAI Chat
Completions wire format (vapora_testing.fake_providers; test_agent_loop.py speaks Anthropic's),
scripted per task by a marker in its title: each script makes its edits through ``files`` tools.
The repository is a copy of ``examples/sample-repo`` (one failing test), attached in place.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.helpers import submit, wait_terminal
from tests.e2e.test_agent_loop import Fakes, steps_of
from vapora_testing.browser import launch, open_page, sign_in_in_page
from vapora_testing.fake_providers import KEY, Call, Turn
from vapora_testing.fleet import Fleet
from vapora_testing.git import git, make_repo
from vapora_testing.polling import eventually_sync
from vapora_testing.repo import repo_root

pytestmark = pytest.mark.e2e

ROOT = repo_root()
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
STOCK = "src/inventory/stock.py"
FIXED_TEST = "test_low_stock_includes_items_at_the_threshold"
BROKEN_TEST = "test_total_value_sums_price_times_quantity"
# the sample's bug and its fix; a change that breaks a passing test
BUG, FIX = "item.quantity < threshold", "item.quantity <= threshold"
SUM, BAD_SUM = "item.price_cents * item.quantity", "item.price_cents + item.quantity"
KEEP = ("developer.toml", "code-reviewer.toml")  # the only agents: no other takes coding or review


def edit(old: str, new: str, path: str = STOCK) -> Call:
    return Call(name="files__edit_file", arguments={"path": path, "edits": [{"oldText": old, "newText": new}]})


def write(path: str, content: str) -> Call:
    return Call(name="files__write_file", arguments={"path": path, "content": content})


def read(path: str) -> Call:
    return Call(name="files__read_text_file", arguments={"path": path})


def _text(message: dict[str, Any] | None) -> str:
    content = (message or {}).get("content") or ""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


class Scripts:
    """The fake model's turns by task: ``add(marker, attempt, attempt, ...)``, each attempt a list of
    turns. A request belongs to the task whose marker its first user message (the task) holds; its
    turn is the number of assistant messages before it; a new conversation is the next attempt."""

    def __init__(self) -> None:
        self._by_marker: dict[str, list[list[Turn]]] = {}
        self._starts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, marker: str, *attempts: list[Turn]) -> str:
        with self._lock:
            self._by_marker[marker] = list(attempts)
        return marker

    def started(self, marker: str) -> int:
        with self._lock:
            return self._starts[marker]

    def __call__(self, provider: str, body: dict[str, Any]) -> Turn | None:
        messages = body.get("messages") or []
        task = _text(next((m for m in messages if m.get("role") == "user"), None))
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        with self._lock:
            marker = next((m for m in self._by_marker if m in task), None)
            if marker is None:
                return None
            if turn == 0:
                self._starts[marker] += 1
            attempts = self._by_marker[marker]
            script = attempts[min(self._starts[marker], len(attempts)) - 1]
        return script[turn] if turn < len(script) else Turn(text="Done: the change is made.")


@pytest.fixture(scope="module")
def scripts() -> Scripts:
    return Scripts()


@pytest.fixture(scope="module")
def fakes(scripts: Scripts) -> Iterator[Fakes]:
    f = Fakes()
    f.fake.choose = scripts
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> Iterator[Fleet]:
    """This module's fleet (conftest's ``client`` signs up on it): only OpenAI keyed (the fake),
    only the developer and code-reviewer agents."""
    root = tmp_path_factory.mktemp("code-fleet")
    config = root / "config"
    shutil.copytree(ROOT / "config", config)
    for manifest in (config / "agents").glob("*.toml"):
        if manifest.name not in KEEP:
            manifest.unlink()
    f = Fleet(
        run_dir=root / "run",
        config_dir=config,
        service_env={
            "llm-router": {"VAPORA_OPENAI_API_KEY": KEY, "VAPORA_OPENAI_BASE_URL": fakes.url},
            "agent-runtime": {"VAPORA_JOB_ACK_WAIT_S": "3"},
            "mcp-gateway": {"VAPORA_MCP_TOOLS_DIR": str(ROOT / "tools")},  # config/ is a copy, tools/ is not
        },
    )
    try:
        f.start(timeout=120)
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample repository, one commit on main."""
    path = tmp_path_factory.mktemp("inventory") / "inventory"
    shutil.copytree(ROOT / "examples" / "sample-repo", path)
    return make_repo(path, {}, "inventory")


@pytest.fixture(scope="module")
def project(client: httpx.Client, repo: Path) -> str:
    ws = client.get("/api/v1/workspaces").json()["items"][0]["id"]
    r = client.post(f"/api/v1/workspaces/{ws}/projects", json={"name": "inventory"})
    assert r.status_code == 201, r.text
    project_id = str(r.json()["id"])
    r = client.put(
        f"/api/v1/projects/{project_id}/repository", json={"kind": "local", "path": str(repo), "test_command": PYTEST}
    )
    assert r.status_code == 200, r.text
    return project_id


def work(client: httpx.Client, project: str, title: str, task_type: str = "coding") -> dict[str, Any]:
    task = submit(client, title=title, task_type=task_type, project_id=project)
    return wait_terminal(client, task["id"], timeout=150)


def diff_of(client: httpx.Client, task_id: str) -> tuple[str, httpx.Headers]:
    r = client.get(f"/api/v1/tasks/{task_id}/diff")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/x-diff")
    return r.text, r.headers


def coding_profile(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/api/v1/agents/developer/profiles")
    assert r.status_code == 200, r.text
    return next((p for p in r.json()["items"] if p["task_type"] == "coding"), {"executions": 0, "successes": 0})


@pytest.fixture(scope="module")
def fixed(client: httpx.Client, scripts: Scripts, project: str) -> dict[str, Any]:
    """The developer's fix of the sample's bug, finished: the API's view and the page's are tested on it."""
    marker = scripts.add("[fix]", [Turn(calls=(edit(BUG, FIX),)), Turn(text="low_stock now includes the threshold.")])
    return work(client, project, f"{marker} Fix low_stock")


def test_a_developer_makes_the_failing_test_pass_with_a_commit_on_its_branch(
    client: httpx.Client, fakes: Fakes, fixed: dict[str, Any], repo: Path
) -> None:
    task = fixed
    assert task["state"] == "done", task
    v, a = task["verification"], task["artifacts"]
    assert (v["kind"], v["passed"], v["counts_known"]) == ("tests", True, True), v
    assert (v["tests_passed"], v["tests_failed"], v["base_passed"], v["base_failed"]) == (4, 0, 3, 1), v
    assert [n for n in v["newly_passing"] if FIXED_TEST in n] and v["newly_failing"] == [], v
    assert v["command"] == PYTEST and v["tested_commit"] == a["commit"]
    assert (a["branch"], a["files_changed"], a["insertions"], a["deletions"]) == (
        f"vapora/{task['id']}",
        [STOCK],
        1,
        1,
    )

    text, headers = diff_of(client, task["id"])
    assert (
        f"--- a/{STOCK}\n+++ b/{STOCK}" in text and f"-{' ' * 4}return [item.name for item in items if {BUG}]" in text
    )
    assert f"+    return [item.name for item in items if {FIX}]" in text
    assert headers["X-Vapora-Commit"] == a["commit"] and headers["X-Vapora-Branch"] == f"vapora/{task['id']}"

    # the commit is on the task's branch in the repository, naming the agent and the task; main is untouched
    assert git(repo, "rev-parse", f"vapora/{task['id']}") == a["commit"]
    message = git(repo, "log", "-1", "--format=%B", a["commit"])
    assert "developer" in message and task["id"] in message, message
    assert BUG in (repo / STOCK).read_text() and git(repo, "rev-parse", "main") == a["base"]

    steps = steps_of(client, task["id"])
    assert steps["summary"]["success"] and steps["summary"]["verified"], steps["summary"]
    assert [s["tool"] for s in steps["items"] if s["kind"] == "tool"] == ["files.edit_file"]
    asked = fakes.fake.bodies["openai"]
    assert any("vapora/" in _text(m) for b in asked for m in b["messages"] if m.get("role") == "user")


def test_the_fixs_page_shows_its_diff_verification_and_steps_in_a_browser(
    fleet: Fleet, client: httpx.Client, fixed: dict[str, Any]
) -> None:
    """The same person, signed in in headless Chromium (Debian's), opens the fix's page."""
    [me] = client.get(f"/api/v1/workspaces/{client.headers['X-Test-Workspace']}/members").json()["items"]
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            with open_page(browser, fleet.http_url()) as (page, console):
                sign_in_in_page(page, me["email"])
                page.goto(f"/tasks/{fixed['id']}")
                expect(page.locator(".task-page")).to_have_attribute("data-state", "done")
                diff = page.locator("#s-diff + .diff")
                expect(diff.locator(".d2h-file-name").first).to_have_text(STOCK)
                added = diff.locator(".d2h-ins .d2h-code-line-ctn")
                expect(added).to_have_text([f"    return [item.name for item in items if {FIX}]"])
                expect(added.locator(".hljs-keyword").first).to_have_text("return")  # highlighted as Python
                facts = {"kind": "tests", "passed": "true", "tests passed": "4", "tests failed": "0"}
                for name, value in facts.items():
                    expect(page.locator(f"#s-verify + dl dt:text-is('{name}') + dd")).to_have_text(value)
                expect(page.locator("#s-verify + dl dt:text-is('newly passing') + dd")).to_contain_text(FIXED_TEST)
                steps = page.locator("#s-steps + .steps")
                expect(steps.locator(".step")).to_have_count(len(steps_of(client, fixed["id"])["items"]))
                expect(steps.locator(".step-tool .step-head code")).to_have_text(["files.edit_file"])
                expect(steps.locator("dt:text-is('ended') + dd")).to_contain_text(", verified")
                assert console.errors == []
        finally:
            browser.close()


def test_a_change_that_breaks_a_passing_test_fails_and_the_profile_counts_the_failure(
    client: httpx.Client, scripts: Scripts, project: str
) -> None:
    before = coding_profile(client)
    marker = scripts.add("[break]", [Turn(calls=(edit(SUM, BAD_SUM),)), Turn(text="Simplified total_value.")])
    task = work(client, project, f"{marker} Simplify total_value")
    assert task["state"] == "failed", task
    v = task["verification"]
    assert (v["kind"], v["passed"], v["tests_failed"], v["base_failed"]) == ("tests", False, 2, 1), v
    assert [n for n in v["newly_failing"] if BROKEN_TEST in n] and v["newly_passing"] == [], v
    assert task["artifacts"]["commit"]  # the failed change is committed on its branch all the same
    after = eventually_sync(
        lambda: coding_profile(client),
        timeout=20,
        what="the developer's profile to count the failure",
        until=lambda p: p["executions"] == before["executions"] + 1,
    )
    assert after["successes"] == before["successes"]  # counted, as a failure


def test_a_reviewer_on_the_runs_branch_gives_a_verdict_and_cannot_change_a_file(
    client: httpx.Client, scripts: Scripts, project: str, repo: Path
) -> None:
    line = next(i for i, t in enumerate((repo / STOCK).read_text().splitlines(), 1) if "def low_stock" in t)
    verdict = (
        "The fix is right; one note.\n```json\n"
        f'{{"decision": "approve", "findings": [{{"file": "{STOCK}", "line": {line}, "severity": "info",'
        ' "message": "say at most in the docstring"}]}\n```'
    )
    scripts.add("[wf-impl]", [Turn(calls=(edit(BUG, FIX),)), Turn(text="Fixed low_stock.")])
    scripts.add("[wf-review]", [Turn(calls=(write(STOCK, "# rewritten by the reviewer\n"),)), Turn(text=verdict)])
    template = {
        "name": "code-and-review",
        "stages": [
            {"id": "implement", "task_type": "coding", "role": "developer", "title": "[wf-impl] {run.title}"},
            {
                "id": "review",
                "task_type": "review",
                "role": "code-reviewer",
                "title": "[wf-review] {run.title}",
                "needs": ["implement"],
                "inputs": ["implement"],
            },
        ],
    }
    r = client.post("/api/v1/workflows", json=template)
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/workflow-runs", json={"workflow": "code-and-review", "title": "Fix low_stock", "project_id": project}
    )
    assert r.status_code == 201, r.text
    run = eventually_sync(
        lambda: client.get(f"/api/v1/workflow-runs/{r.json()['id']}").json(),
        timeout=240,
        what="the run to end",
        until=lambda run: run["state"] in ("succeeded", "failed", "cancelled"),
    )
    assert run["state"] == "succeeded", run
    implement, review = (next(s for s in run["stages"] if s["id"] == sid) for sid in ("implement", "review"))
    assert implement["commit"] and review["verdict"] == "approve" and review["verified"], run

    task = client.get(f"/api/v1/tasks/{review['task_id']}").json()
    assert task["state"] == "done", task
    v = task["verification"]
    assert (v["kind"], v["decision"]) == ("review", "approve"), v
    assert [(f["file"], f["line"], f["located"]) for f in v["findings"]] == [(STOCK, line, True)]
    # its write was refused: the tool is not in the reviewer's view that mcp-gateway serves it
    steps = steps_of(client, review["task_id"])
    [refused] = [s for s in steps["items"] if s["kind"] == "tool"]
    assert refused["is_error"] and "files__write_file" in refused["error"], refused
    # it changed nothing: its commit is none, and the run's branch holds the developer's fix as it was
    assert task["artifacts"]["commit"] == "" and task["artifacts"]["files_changed"] == []
    run_branch = run["branch"]
    assert git(repo, "rev-parse", run_branch) == implement["commit"]
    assert FIX in git(repo, "show", f"{run_branch}:{STOCK}")


def test_two_jobs_on_one_repository_at_once_never_see_each_others_files(
    client: httpx.Client, scripts: Scripts, project: str, repo: Path
) -> None:
    for me, other in (("a", "b"), ("b", "a")):
        scripts.add(
            f"[twin-{me}]",
            [
                Turn(calls=(write(f"notes-{me}.txt", f"{me} was here\n"),)),
                Turn(calls=(read(f"notes-{other}.txt"),), delay_s=3.0),  # the other has written by now
                Turn(text=f"{me}: done"),
            ],
        )
    tasks = [submit(client, title=f"[twin-{x}] Leave a note", task_type="coding", project_id=project) for x in "ab"]
    done = [wait_terminal(client, t["id"], timeout=150) for t in tasks]
    for task, (me, other) in zip(done, (("a", "b"), ("b", "a")), strict=True):
        steps = steps_of(client, task["id"])
        wrote, looked = [s for s in steps["items"] if s["kind"] == "tool"]
        assert not wrote["is_error"] and looked["is_error"], (wrote, looked)  # the other's file is not there
        branch = f"vapora/{task['id']}"
        assert task["artifacts"]["files_changed"] == [f"notes-{me}.txt"], task["artifacts"]
        assert git(repo, "show", f"{branch}:notes-{me}.txt") == f"{me} was here"
        assert f"notes-{other}.txt" not in git(repo, "ls-tree", "--name-only", branch)
    # they ran at once: each started before the other finished
    a, b = (steps_of(client, t["id"])["items"] for t in done)
    assert a[0]["at"] < b[-1]["at"] and b[0]["at"] < a[-1]["at"]


def test_a_runtime_killed_after_a_partial_edit_redelivers_from_a_clean_branch(
    fleet: Fleet, client: httpx.Client, fakes: Fakes, scripts: Scripts, project: str, repo: Path
) -> None:
    """Runs last: it kills and restarts the fleet's agent-runtime. The first attempt edits the wrong
    line and leaves a scratch file, then stalls; the kill lands there. The second attempt only fixes."""
    marker = scripts.add(
        "[killed]",
        [
            Turn(calls=(edit(SUM, BAD_SUM), write("scratch.txt", "half done\n"))),
            Turn(text="never sent", delay_s=120.0),
        ],
        [Turn(calls=(edit(BUG, FIX),)), Turn(text="Fixed low_stock.")],
    )
    task = submit(client, title=f"{marker} Fix low_stock", task_type="coding", project_id=project)
    eventually_sync(
        lambda: len(steps_of(client, task["id"], finished=False)["items"]) >= 3,
        timeout=90,
        what="the first attempt's edits made, its model stalled",
    )
    fleet.kill_service("agent-runtime")
    fleet.start_service("agent-runtime", timeout=60)
    done = wait_terminal(client, task["id"], timeout=150)
    assert done["state"] == "done", done
    assert scripts.started(marker) == 2
    text, _ = diff_of(client, task["id"])
    assert FIX in text and BAD_SUM not in text and "scratch.txt" not in text, text
    assert done["artifacts"]["files_changed"] == [STOCK]
    assert done["verification"]["newly_failing"] == [] and done["verification"]["tests_failed"] == 0
