"""Retention: old notifications go, in small batches, without waiting on anyone, and the badge
stays equal to the list."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.notifier.api.repository import NotificationRepository
from services.notifier.api.retention import RetentionPurger
from shared.db import create_pool
from tests.notifier_api.conftest import insert_notification

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=4, search_path="notifier")
    try:
        yield pool
    finally:
        await pool.close()


async def add_user(pool: asyncpg.Pool[Any]) -> uuid.UUID:
    user = uuid.uuid4()
    await pool.execute(
        "INSERT INTO recipients (user_id, organization_id) VALUES ($1, $2)", user, uuid.uuid4()
    )
    return user


async def add(
    pool: asyncpg.Pool[Any], user: uuid.UUID, age: timedelta, *, read: bool = False
) -> uuid.UUID:
    async with pool.acquire() as conn, conn.transaction():
        return await insert_notification(conn, user, created_at=NOW - age, read=read)


async def state(pool: asyncpg.Pool[Any], user: uuid.UUID) -> dict[str, int]:
    row = await pool.fetchrow(
        """SELECT r.unread_count, r.version,
                  (SELECT count(*) FROM notifications n WHERE n.user_id = r.user_id) AS total,
                  (SELECT count(*) FROM notifications n
                   WHERE n.user_id = r.user_id AND n.read_at IS NULL) AS unread_rows
           FROM recipients r WHERE r.user_id = $1""",
        user,
    )
    assert row is not None
    return dict(row)


def purger(pool: asyncpg.Pool[Any], **options: Any) -> RetentionPurger:
    return RetentionPurger(
        NotificationRepository(pool),
        max_age=timedelta(days=180),
        clock=lambda: NOW,
        pause_between_batches_seconds=0,
        **options,
    )


async def test_old_notifications_are_purged_and_counts_follow(pool: asyncpg.Pool[Any]) -> None:
    alice, bob = await add_user(pool), await add_user(pool)
    for user in (alice, bob):
        await add(pool, user, 200 * DAY)  # old, unread
        await add(pool, user, 181 * DAY, read=True)  # old, read
        await add(pool, user, 190 * DAY)  # old, unread
        await add(pool, user, 179 * DAY)  # young enough, unread
        await add(pool, user, 10 * DAY, read=True)  # recent, read
    before = await state(pool, alice)

    purged = await purger(pool, batch_size=2).purge_expired()

    assert purged == 6
    for user in (alice, bob):
        after = await state(pool, user)
        assert after["total"] == 2
        assert after["unread_rows"] == after["unread_count"] == 1
    assert (await state(pool, alice))["version"] > before["version"]
    assert await purger(pool, batch_size=2).purge_expired() == 0


async def test_a_purge_that_removes_only_read_rows_keeps_the_count(
    pool: asyncpg.Pool[Any],
) -> None:
    user = await add_user(pool)
    await add(pool, user, 365 * DAY, read=True)
    await add(pool, user, DAY)
    assert await purger(pool).purge_expired() == 1
    after = await state(pool, user)
    assert (after["total"], after["unread_rows"], after["unread_count"]) == (1, 1, 1)


async def test_a_purge_never_waits_for_a_row_someone_is_changing(pool: asyncpg.Pool[Any]) -> None:
    user = await add_user(pool)
    busy = await add(pool, user, 300 * DAY)
    await add(pool, user, 300 * DAY)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM notifications WHERE id = $1 FOR UPDATE", busy)
        # The locked row is skipped, not waited for: the purge returns at once.
        assert await asyncio.wait_for(purger(pool).purge_expired(), timeout=5) == 1
    assert await purger(pool).purge_expired() == 1
    after = await state(pool, user)
    assert (after["total"], after["unread_count"]) == (0, 0)


async def test_the_background_task_purges_by_its_clock(pool: asyncpg.Pool[Any]) -> None:
    user = await add_user(pool)
    await add(pool, user, 100 * DAY)
    a_year_later = RetentionPurger(
        NotificationRepository(pool),
        max_age=timedelta(days=180),
        clock=lambda: NOW + 365 * DAY,
        interval_seconds=0.01,
    )
    task = asyncio.create_task(a_year_later.run_forever())
    try:
        for _ in range(500):
            if (await state(pool, user))["total"] == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await state(pool, user) == {
        "unread_count": 0,
        "version": 2,
        "total": 0,
        "unread_rows": 0,
    }
