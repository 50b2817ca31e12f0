"""Rate limits on shared counters (JetStream KV): wall-clock windows, Retry-After to the window's
end, and what happens when the counters cannot answer (requests go through; logins do not)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from kv_buckets import opened
from prometheus_client import REGISTRY

from vapora_api_gateway.login_throttle import LoginThrottle
from vapora_api_gateway.problems import RateLimited
from vapora_api_gateway.ratelimit import RateLimiter
from vapora_core import kv
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import Unavailable


@pytest.fixture
async def counters(nats_url: str) -> AsyncIterator[kv.Bucket]:
    async with opened(nats_url, BUCKETS.RATE_LIMITS) as bucket:
        yield bucket


def unchecked(kind: str) -> float:
    return REGISTRY.get_sample_value("vapora_gateway_rate_limit_unchecked_total", {"limit": kind}) or 0.0


async def test_a_window_counts_until_it_ends_and_retry_after_says_when(counters: kv.Bucket) -> None:
    now = [60 * 20_000 + 10.0]  # 10 s into a 60 s window
    limiter = RateLimiter(counters, 3, 60.0, "user", kind="user", clock=lambda: now[0])
    for _ in range(3):
        await limiter.hit("u1")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("u1")
    assert refused.value.retry_after == 50 and "limit 3 per 60 s" in refused.value.message
    await limiter.hit("u2")  # another user has a count of its own
    now[0] += 50  # the next window
    await limiter.hit("u1")


async def test_unanswerable_counters_let_requests_through_and_count_them(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    bucket = await kv.Bucket.open(nc.jetstream(), BUCKETS.RATE_LIMITS)
    limiter = RateLimiter(bucket, 1, 60.0, "user", kind="user")
    await nc.close()
    before = unchecked("user")
    for _ in range(3):
        await limiter.hit("u1")  # the limit is 1, but nothing can be counted: through
    assert unchecked("user") == before + 3
    offline = RateLimiter(bucket, 1, 60.0, "ip", kind="ip", connected=lambda: False)
    await offline.hit("10.0.0.1")
    await offline.hit("10.0.0.1")
    assert unchecked("ip") >= 2


async def test_logins_fail_closed_when_their_records_cannot_be_read(counters: kv.Bucket) -> None:
    throttle = LoginThrottle(
        counters, account_free=5, address_free=20, backoff_s=1.0, backoff_max_s=60.0, connected=lambda: False
    )
    with pytest.raises(Unavailable, match="login attempts cannot be checked now"):
        await throttle.begin("a@example.com", "10.0.0.1")


async def test_requests_refused_before_the_caller_is_known_count_against_the_ip(gateway_factory) -> None:  # type: ignore[no-untyped-def]
    _, client = await gateway_factory(rate_limit_ip=3, rate_limit_user=100, rate_window_s=3600.0)
    statuses = [(await client.call("GET", "/api/v1/tasks", "not-a-token"))[0] for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    body = {"email": "late@example.com", "password": "correct horse battery"}
    status, problem, _ = await client.call("POST", "/api/v1/auth/register", json=body)  # a public route counts too
    assert status == 429 and problem["code"] == "rate_limited"
