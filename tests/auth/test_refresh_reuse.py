"""The refresh token's reuse interval: a duplicated tab or a retry after a lost answer presents a
used refresh token again; within the interval it gets the same successor, later it revokes the
session as any reuse does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.auth.conftest import AuthHarness


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def audit_events(auth: AuthHarness) -> list[str]:
    async with auth.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT event FROM audit_log ORDER BY id")
    return [r["event"] for r in rows]


async def test_two_parallel_refreshes_with_one_token_both_get_the_same_successor(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    tokens = await auth.login()
    first, second = await asyncio.gather(
        refresh(auth.client, tokens["refresh_token"]), refresh(auth.client, tokens["refresh_token"])
    )
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json()["refresh_token"] == second.json()["refresh_token"]
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    # Both access tokens work, and the session goes on with the one successor.
    for answer in (first, second):
        me = await auth.client.get("/v1/me", headers=auth.bearer(answer.json()))
        assert me.status_code == 200
    auth.clock.advance(60)
    assert (await refresh(auth.client, first.json()["refresh_token"])).status_code == 200
    assert "refresh_token_reused" not in await audit_events(auth)


async def test_a_retry_after_a_lost_answer_gets_the_same_successor(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    lost: dict[str, Any] = (await refresh(auth.client, tokens["refresh_token"])).json()
    auth.clock.advance(5)
    retry = await refresh(auth.client, tokens["refresh_token"])
    assert retry.status_code == 200
    assert retry.json()["refresh_token"] == lost["refresh_token"]
    assert retry.json()["access_token"] != lost["access_token"]  # a fresh one
    auth.clock.advance(60)
    assert (await refresh(auth.client, retry.json()["refresh_token"])).status_code == 200


async def test_a_reuse_after_the_interval_revokes_the_family(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    successor = (await refresh(auth.client, tokens["refresh_token"])).json()
    auth.clock.advance(31)
    replay = await refresh(auth.client, tokens["refresh_token"])
    assert replay.status_code == 401
    assert (await refresh(auth.client, successor["refresh_token"])).status_code == 401
    assert "refresh_token_reused" in await audit_events(auth)
