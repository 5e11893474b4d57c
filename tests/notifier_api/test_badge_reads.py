"""Concurrent badge polls share primary-key queries, yet each answer is as fresh as a read of its
own: it comes from a query sent after the poll arrived."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from services.notifier.api.repository import NotificationRepository
from shared.db import create_pool


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the event loop until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0)


class CountingPool:
    """A pool that counts how often a connection is taken from it."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self.pool = pool
        self.acquired = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self.pool.acquire()


@pytest.fixture
async def small_pool(database_url: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=1, search_path="notifier")
    try:
        yield pool
    finally:
        await pool.close()


async def add_recipient(pool: asyncpg.Pool[Any], unread: int) -> uuid.UUID:
    user = uuid.uuid4()
    await pool.execute(
        "INSERT INTO recipients (user_id, organization_id, unread_count, unread_info, version) "
        "VALUES ($1, $2, $3, $3, $4)",
        user,
        uuid.uuid4(),
        unread,
        unread,
    )
    return user


async def test_concurrent_polls_get_their_own_answers_from_few_queries(
    small_pool: asyncpg.Pool[Any],
) -> None:
    users = {await add_recipient(small_pool, unread): unread for unread in range(40)}
    stranger = uuid.uuid4()
    counting = CountingPool(small_pool)
    repository = NotificationRepository(counting)  # type: ignore[arg-type]

    polls = [*users, *users, stranger]
    answers = await asyncio.gather(*(repository.recipient_state(user) for user in polls))

    for user, answer in zip(polls, answers, strict=True):
        if user == stranger:
            assert answer is None
        else:
            assert answer is not None
            assert answer.unread_count == users[user]
    assert counting.acquired < len(polls) / 4


async def test_a_poll_sees_every_change_committed_before_its_query(
    small_pool: asyncpg.Pool[Any], database_url: str
) -> None:
    user = await add_recipient(small_pool, 1)
    counting = CountingPool(small_pool)
    repository = NotificationRepository(counting)  # type: ignore[arg-type]
    writer = await asyncpg.connect(database_url, server_settings={"search_path": "notifier"})
    try:
        async with small_pool.acquire():  # the only connection: the polls have to wait
            polls = [asyncio.create_task(repository.recipient_state(user)) for _ in range(5)]
            # Every poll has queued once the batch's read asks the pool for a connection.
            await wait_for(lambda: counting.acquired == 1)
            await writer.execute(
                "UPDATE recipients SET unread_count = 7, unread_info = 7, version = version + 1 "
                "WHERE user_id = $1",
                user,
            )
        answers = await asyncio.gather(*polls)
    finally:
        await writer.close()
    assert [a.unread_count if a else None for a in answers] == [7] * 5
    later = await repository.recipient_state(user)
    assert later is not None
    assert later.unread_count == 7


async def test_a_failing_query_fails_every_poll_of_its_batch(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1, search_path="notifier")
    repository = NotificationRepository(pool)
    await pool.close()
    results = await asyncio.wait_for(
        asyncio.gather(
            *(repository.recipient_state(uuid.uuid4()) for _ in range(3)), return_exceptions=True
        ),
        timeout=5,
    )
    assert all(isinstance(result, Exception) for result in results)
