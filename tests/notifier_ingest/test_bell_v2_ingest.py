"""The ingest's side of the bell v2 counters (migration 0004), on both write paths: every row
stored with its category, each counter raised by the visible new rows only, and a mute racing
ingest batches leaves every counter equal to its list."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.notifier.api.invariants import counter_drift
from services.notifier.api.preferences import PreferenceStore
from services.notifier.categories import category_of
from services.notifier.ingest.batch import NotificationEvent
from services.notifier.ingest.repository import IngestRepository
from shared.db import create_pool
from shared.tokens import Principal
from tests.notifier_ingest.helpers import (
    BOTH_PATHS,
    STORED_AT,
    StubRecord,
    add_recipients,
    fetch,
)

KINDS = [
    ("payment.received", '{"status": "full"}'),
    ("payment.received", '{"status": "double"}'),
    ("subscription.invoiced", "{}"),
    ("reminder.created", "{}"),
    ("security.password_changed", "{}"),
]


def _event(organization: uuid.UUID, user: uuid.UUID | None, kind: int) -> NotificationEvent:
    notification_type, params = KINDS[kind]
    status = "double" if "double" in params else "full"
    return NotificationEvent(
        notification_type,
        uuid.uuid4(),
        organization,
        user,
        notification_type,
        params,
        STORED_AT,
        StubRecord(),
        str(category_of(notification_type, {"status": status})),
    )


@asynccontextmanager
async def _pool(database_url: str, size: int = 4) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=size, search_path="notifier")
    try:
        yield pool
    finally:
        await pool.close()


def _principal(user: uuid.UUID, organization: uuid.UUID) -> Principal:
    return Principal(
        user_id=user,
        organization_id=organization,
        role="member",
        language="en",
        session_id=uuid.uuid4(),
        amr=("pwd",),
        token_id="t",
    )


@BOTH_PATHS
async def test_rows_carry_their_category_and_muted_info_rows_count_nothing(
    database_url: str, copy_threshold: int
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    async with _pool(database_url) as pool:
        await PreferenceStore(pool).set_muted(_principal(user, organization), ["payment.received"])
        events = [_event(organization, user, kind) for kind in range(len(KINDS))]
        events.append(_event(organization, None, 2))  # a broadcast keeps its category too
        await IngestRepository(pool, copy_threshold=copy_threshold).store(events, [])
        assert await counter_drift(pool) == []
    rows = await fetch(database_url, "SELECT type, params, category FROM notifications")
    assert sorted((r["type"], r["category"]) for r in rows) == [
        ("payment.received", "action"),
        ("payment.received", "info"),
        ("reminder.created", "action"),
        ("security.password_changed", "security"),
        ("subscription.invoiced", "info"),
        ("subscription.invoiced", "info"),
    ]
    [counters] = await fetch(
        database_url,
        "SELECT unread_count, unseen_count, unread_action, unread_info, unread_security "
        "FROM recipients WHERE user_id = $1",
        user,
    )
    # the full payment (info, muted) is stored but counts nothing; the double one (action) does
    assert tuple(counters) == (5, 5, 2, 2, 1)
    remembered = await fetch(database_url, "SELECT category FROM broadcasts")
    assert [r["category"] for r in remembered] == ["info"]


@BOTH_PATHS
async def test_a_mute_racing_ingest_batches_keeps_every_counter_equal_to_its_list(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(6)]
    await add_recipients(database_url, organization, users)
    rng = random.Random(5)
    batches = [
        [
            _event(organization, rng.choice([*users, None]), rng.randrange(len(KINDS)))
            for _ in range(40)
        ]
        for _ in range(12)
    ]
    choices = [[], ["payment.received"], ["payment.received", "subscription.invoiced"]]
    async with _pool(database_url, size=8) as pool:
        ingest = IngestRepository(pool, copy_threshold=copy_threshold)
        preferences = PreferenceStore(pool)

        async def mute_and_unmute(user: uuid.UUID) -> None:
            for step in range(11):
                await preferences.set_muted(_principal(user, organization), choices[step % 3])

        async def ingest_all() -> None:
            for batch in batches:
                await ingest.store(batch, [])

        await asyncio.gather(ingest_all(), ingest_all(), *(mute_and_unmute(u) for u in users))
        assert await counter_drift(pool) == []
        stored = await pool.fetchval("SELECT count(*) FROM notifications")
        muted = await pool.fetchval(
            "SELECT count(*) FROM recipients WHERE muted_types <> '{}'::text[]"
        )
    assert stored > 0
    assert muted == len(users)  # the last choice of each: payment.received muted
