"""Housekeeping deletes what no rule needs any more, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from services.auth.components import retention
from services.auth.platform.crypto import Sealer
from services.auth.platform.housekeeping import clean_up
from services.auth.sessions.keys import SEALING_PURPOSE, rotate_signing_key
from shared.db import UnitOfWork
from tests.auth.conftest import SECRET_KEY, AuthHarness, cheap_auth_settings


async def counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "auth"})
    try:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("sessions", "refresh_tokens", "login_throttle", "outbox", "audit_log")
        } | {
            "keys": await conn.fetchval("SELECT count(*) FROM signing_keys"),
            "sealed": await conn.fetchval(
                "SELECT count(*) FROM signing_keys WHERE sealed_private_key IS NOT NULL"
            ),
        }
    finally:
        await conn.close()


async def test_clean_up_follows_the_retention_rules(auth: AuthHarness, database_url: str) -> None:
    pool = auth.app.state.pool
    rules = retention(cheap_auth_settings())
    await auth.create_user()
    await auth.login()
    await auth.client.post(
        "/v1/auth/login", json={"email": "ghost@example.be", "password": "wrong"}
    )
    async with pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET published_at = $1", auth.clock.now())
    await rotate_signing_key(
        UnitOfWork(pool), Sealer(SECRET_KEY, SEALING_PURPOSE), auth.clock.now(), timedelta(0)
    )
    auth.clock.advance(1)
    before = await counts(database_url)
    assert before["keys"] == 2

    await clean_up(UnitOfWork(pool), auth.clock, rules)
    after_now = await counts(database_url)
    assert after_now["sealed"] == 1  # the superseded key's private half is gone at once
    assert after_now["keys"] == 2  # but its public half is still published
    assert {k: after_now[k] for k in ("sessions", "outbox", "audit_log")} == {
        k: before[k] for k in ("sessions", "outbox", "audit_log")
    }

    auth.clock.advance(days=8)  # past published-outbox retention, throttle forget, key expiry
    await clean_up(UnitOfWork(pool), auth.clock, rules)
    week = await counts(database_url)
    assert week["outbox"] == 0
    assert week["login_throttle"] == 0
    assert week["keys"] == 1
    assert week["sessions"] == before["sessions"]  # still refreshable for 14 days

    auth.clock.advance(days=30 + 14 - 8)  # the session expired 30 days after the login
    await clean_up(UnitOfWork(pool), auth.clock, rules)
    late = await counts(database_url)
    assert late["sessions"] == 0
    assert late["refresh_tokens"] == 0
    assert late["audit_log"] == before["audit_log"]  # kept 400 days
