"""Two api-gateway processes on one nats-server enforce one rate limit and one login throttle.

Each gateway is ``python -m vapora_api_gateway`` with its own embedded store; they share the JWT
key (an access token from one is good at the other) and JetStream KV, where the counters live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from vapora_testing.process import ServiceProcess, service_env

ROOT = Path(__file__).resolve().parents[3]
WINDOW_S = 3600  # one window for the whole test (started well inside one, below)


@pytest.fixture
async def gateways(tmp_path: Path, nats_url: str) -> AsyncIterator[list[str]]:
    procs = []
    for name in ("a", "b"):
        env = service_env(
            nats_url,
            tmp_path / name,
            VAPORA_CONFIG_DIR=str(ROOT / "config"),
            VAPORA_JWT_SECRET="replica-test-secret-" + "x" * 40,
            VAPORA_ARGON2_TIME_COST="1",
            VAPORA_ARGON2_MEMORY_KIB="1024",
            VAPORA_REGISTRY_ADDR="127.0.0.1:1",
            VAPORA_COORDINATOR_ADDR="127.0.0.1:1",
            VAPORA_ROUTER_ADDR="127.0.0.1:1",
            VAPORA_KG_ADDR="127.0.0.1:1",
            VAPORA_RATE_LIMIT_USER="10",
            VAPORA_RATE_WINDOW_S=str(WINDOW_S),
            VAPORA_LOGIN_FREE_ATTEMPTS="5",
            VAPORA_SHUTDOWN_GRACE_S="2",
        )
        env["VAPORA_HTTP_PORT"] = env["VAPORA_METRICS_PORT"]  # the gateway's /readyz is on its HTTP port
        procs.append(ServiceProcess("vapora_api_gateway", env, tmp_path / name, tmp_path / f"gateway-{name}.log"))
    try:
        await asyncio.gather(*(p.start(timeout=30) for p in procs))
        yield [f"http://127.0.0.1:{p.metrics_port}" for p in procs]
    finally:
        for p in procs:
            p.kill()


async def call(session: aiohttp.ClientSession, base: str, method: str, path: str, **kw: Any) -> tuple[int, Any, Any]:
    async with session.request(method, base + path, **kw) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def test_the_per_user_limit_holds_in_sum_over_two_gateways(gateways: list[str]) -> None:
    if WINDOW_S - time.time() % WINDOW_S < 60:  # no window ends while this test runs
        await asyncio.sleep(WINDOW_S - time.time() % WINDOW_S + 1)
    async with aiohttp.ClientSession() as session:
        status, me, _ = await call(
            session, gateways[0], "POST", "/api/v1/auth/register",
            json={"email": "both@example.com", "password": "correct horse battery"},
        )  # fmt: skip
        assert status == 201, me
        auth = {"Authorization": f"Bearer {me['access_token']}"}
        answers = [await call(session, gateways[i % 2], "GET", "/api/v1/workspaces", headers=auth) for i in range(14)]
    statuses = [status for status, _, _ in answers]
    assert statuses == [200] * 10 + [429] * 4, statuses  # the 11th, counted over both, is refused
    for status, problem, headers in answers[10:]:
        assert problem["code"] == "rate_limited" and 1 <= int(headers["Retry-After"]) <= WINDOW_S


async def test_the_login_throttle_holds_in_sum_over_two_gateways(gateways: list[str]) -> None:
    body = {"email": "victim@example.com", "password": "wrong guess"}
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(call(session, gateways[i % 2], "POST", "/api/v1/auth/login", json=body) for i in range(40))
        )
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [401] * 5 + [429] * 35, statuses  # five free guesses in all, not five per gateway
    assert {p["code"] for s, p, _ in answers if s == 429} == {"login_throttled"}
