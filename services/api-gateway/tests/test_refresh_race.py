"""Using a refresh token is atomic: of many simultaneous uses one wins, every other is reuse, and
reuse revokes the whole family, the winner's new token included (docs/api.md)."""

from __future__ import annotations

import asyncio

ROUNDS = 30
CONCURRENT = 20


async def test_concurrent_refreshes_of_one_token_have_one_winner_and_kill_the_family(client):
    for n in range(ROUNDS):
        me = await client.register(f"race{n}@example.com")
        token = me["refresh_token"]
        answers = await asyncio.gather(
            *[client.call("POST", "/api/v1/auth/refresh", json={"refresh_token": token}) for _ in range(CONCURRENT)]
        )
        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [200] + [401] * (CONCURRENT - 1), (n, statuses)
        assert all("already used" in body["detail"] for status, body, _ in answers if status == 401)
        [winner] = [body for status, body, _ in answers if status == 200]
        status, problem, _ = await client.call(
            "POST", "/api/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]}
        )
        assert status == 401 and "revoked" in problem["detail"], (n, problem)
