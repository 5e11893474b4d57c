"""The ingest's SQL under concurrency: several writers (as several notifier instances would) on
the same recipients and partly the same events — no deadlock, no duplicate, no badge drift."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from services.notifier.ingest.batch import NotificationEvent
from services.notifier.ingest.housekeeping import purge_expired
from services.notifier.ingest.repository import IngestRepository
from shared.db import create_pool
from tests.notifier_ingest.helpers import (
    BOTH_PATHS,
    STORED_AT,
    StubRecord,
    add_recipients,
    badge_drift,
    connect,
    count_notifications,
    fetch,
    fetchval,
)


def _event(
    event_id: uuid.UUID, organization: uuid.UUID, user: uuid.UUID | None
) -> NotificationEvent:
    return NotificationEvent(
        "payment.received",
        event_id,
        organization,
        user,
        "payment.received",
        '{"status": "full"}',
        STORED_AT,
        StubRecord(),
        "info",
    )


@BOTH_PATHS
async def test_concurrent_writers_neither_deadlock_nor_duplicate(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(60)]
    await add_recipients(database_url, organization, users)
    rng = random.Random(7)
    shared = [_event(uuid.uuid4(), organization, rng.choice(users)) for _ in range(300)]
    broadcasts = [_event(uuid.uuid4(), organization, None) for _ in range(5)]
    batches = []
    for _ in range(8):
        own = [_event(uuid.uuid4(), organization, rng.choice(users)) for _ in range(400)]
        mixed = own + rng.sample(shared, 150) + broadcasts
        rng.shuffle(mixed)
        batches.append(mixed)
    expected = {(e.event_id, e.user_id) for batch in batches for e in batch if e.user_id}
    expected |= {(b.event_id, u) for b in broadcasts for u in users}
    pool = await create_pool(database_url, min_size=8, max_size=8, search_path="notifier")
    try:
        repository = IngestRepository(pool, copy_threshold=copy_threshold)
        outcomes = await asyncio.gather(*(repository.store(batch, []) for batch in batches))
    finally:
        await pool.close()
    assert await count_notifications(database_url) == len(expected)
    assert sum(o.notifications_inserted for o in outcomes) == len(expected)
    assert await badge_drift(database_url) == []


# The bulk (COPY) path and the one-statement path must store exactly the same thing: every test
# below runs on both (BOTH_PATHS).


@asynccontextmanager
async def _repository(database_url: str, copy_threshold: int) -> AsyncIterator[IngestRepository]:
    pool = await create_pool(database_url, min_size=1, max_size=2, search_path="notifier")
    try:
        yield IngestRepository(pool, copy_threshold=copy_threshold)
    finally:
        await pool.close()


async def _stored(database_url: str) -> set[tuple[uuid.UUID, uuid.UUID]]:
    rows = await fetch(database_url, "SELECT event_id, user_id FROM notifications")
    return {(r["event_id"], r["user_id"]) for r in rows}


@BOTH_PATHS
async def test_a_batch_reaches_exactly_its_recipients(
    database_url: str, copy_threshold: int
) -> None:
    organization, other = uuid.uuid4(), uuid.uuid4()
    members = [uuid.uuid4() for _ in range(3)]
    gone, elsewhere = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, members)
    await add_recipients(database_url, organization, [gone], active=False)
    await add_recipients(database_url, other, [elsewhere])
    personal = _event(uuid.uuid4(), organization, members[0])
    broadcast = _event(uuid.uuid4(), organization, None)
    to_inactive = _event(uuid.uuid4(), organization, gone)
    wrong_organization = _event(uuid.uuid4(), organization, elsewhere)
    empty_organization = _event(uuid.uuid4(), uuid.uuid4(), None)
    async with _repository(database_url, copy_threshold) as repository:
        outcome = await repository.store(
            [personal, broadcast, to_inactive, wrong_organization, empty_organization], []
        )
    assert await _stored(database_url) == {(personal.event_id, members[0])} | {
        (broadcast.event_id, m) for m in members
    }
    assert outcome.notifications_inserted == 4
    assert outcome.users_notified == 3
    assert outcome.unrouted_events == {
        to_inactive.event_id,
        wrong_organization.event_id,
        empty_organization.event_id,
    }
    assert outcome.duplicate_events == set()
    assert outcome.copied is (copy_threshold == 1)
    remembered = await fetch(database_url, "SELECT event_id FROM broadcasts")
    assert {r["event_id"] for r in remembered} == {broadcast.event_id, empty_organization.event_id}
    counters = await fetch(
        database_url,
        "SELECT user_id, unread_count, version, latest_created_at FROM recipients "
        "WHERE user_id = ANY($1::uuid[])",
        members,
    )
    assert {r["user_id"]: r["unread_count"] for r in counters} == {
        members[0]: 2,
        members[1]: 1,
        members[2]: 1,
    }
    assert all(r["version"] == 1 and r["latest_created_at"] is not None for r in counters)
    assert await badge_drift(database_url) == []


@BOTH_PATHS
async def test_a_broadcast_skips_members_who_joined_after_it(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    early, late = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [early, late])
    conn = await connect(database_url)
    try:
        await conn.execute(
            "UPDATE recipients SET member_since = $2 WHERE user_id = $1",
            late,
            datetime(2026, 11, 28, 10, tzinfo=UTC),  # after the event's 09:00
        )
    finally:
        await conn.close()
    broadcast = _event(uuid.uuid4(), organization, None)
    async with _repository(database_url, copy_threshold) as repository:
        await repository.store([broadcast], [])
    assert await _stored(database_url) == {(broadcast.event_id, early)}


@BOTH_PATHS
async def test_redelivered_events_are_stored_once_and_reported_as_duplicates(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(4)]
    await add_recipients(database_url, organization, users)
    first = [_event(uuid.uuid4(), organization, u) for u in users]
    fresh = _event(uuid.uuid4(), organization, users[0])
    async with _repository(database_url, copy_threshold) as repository:
        once = await repository.store(first, [])
        again = await repository.store([*first, fresh], [])
    assert once.copied is (copy_threshold == 1)
    # COPY met the duplicates, rolled back to its savepoint and copied the rest
    assert again.copied is (copy_threshold == 1)
    assert await count_notifications(database_url) == 5
    assert again.notifications_inserted == 1
    assert again.duplicate_events == {e.event_id for e in first}
    assert await badge_drift(database_url) == []


@BOTH_PATHS
async def test_a_mixed_batch_keeps_its_path_and_every_counter(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    members = [uuid.uuid4() for _ in range(3)]
    await add_recipients(database_url, organization, members)
    stored = [_event(uuid.uuid4(), organization, u) for u in members]
    unknown = uuid.uuid4()
    broadcast = _event(uuid.uuid4(), organization, None)
    newcomer = _event(uuid.uuid4(), organization, unknown)
    repeated = _event(uuid.uuid4(), organization, members[0])
    async with _repository(database_url, copy_threshold) as repository:
        await repository.store(stored[:2], [])
        outcome = await repository.store([*stored, broadcast, newcomer, repeated, repeated], [])
    assert outcome.copied is (copy_threshold == 1)
    assert outcome.duplicate_events == {stored[0].event_id, stored[1].event_id}
    expected = {(e.event_id, e.user_id) for e in [*stored, newcomer, repeated]}
    expected |= {(broadcast.event_id, u) for u in members}
    assert await _stored(database_url) == expected
    assert outcome.notifications_inserted == len(expected) - 2
    assert await badge_drift(database_url) == []


@BOTH_PATHS
async def test_a_user_not_yet_projected_gets_a_provisional_recipient(
    database_url: str, copy_threshold: int
) -> None:
    organization = uuid.uuid4()
    known, unknown = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [known])
    events = [
        _event(uuid.uuid4(), organization, known),
        _event(uuid.uuid4(), organization, unknown),
    ]
    async with _repository(database_url, copy_threshold) as repository:
        outcome = await repository.store(events, [])
    assert outcome.copied is (copy_threshold == 1)  # both paths create provisional recipients
    assert await _stored(database_url) == {
        (events[0].event_id, known),
        (events[1].event_id, unknown),
    }
    assert outcome.notifications_inserted == 2
    provisional = await fetchval(
        database_url, "SELECT provisional FROM recipients WHERE user_id = $1", unknown
    )
    assert provisional is True
    assert await badge_drift(database_url) == []


@BOTH_PATHS
async def test_stored_rows_are_time_ordered_and_stamped_by_the_database(
    database_url: str, copy_threshold: int
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    before = await fetchval(database_url, "SELECT now()")
    async with _repository(database_url, copy_threshold) as repository:
        for _ in range(3):
            await repository.store(
                [_event(uuid.uuid4(), organization, user) for _ in range(50)], []
            )
    rows = await fetch(
        database_url, "SELECT id, created_at FROM notifications ORDER BY created_at, id"
    )
    assert len(rows) == 150
    assert all(r["id"].version == 7 and r["created_at"] >= before for r in rows)
    assert len({r["created_at"] for r in rows}) == 3  # one transaction's now() per batch
    if copy_threshold == 1:
        # the notifier's own ids increase strictly, so pages by (created_at, id) follow them
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


async def test_expired_provisional_recipients_go_with_their_notifications(
    database_url: str,
) -> None:
    organization = uuid.uuid4()
    confirmed, stale, recent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [confirmed])
    async with _repository(database_url, copy_threshold=1) as repository:
        await repository.store(
            [_event(uuid.uuid4(), organization, u) for u in (confirmed, stale, recent)], []
        )
        conn = await connect(database_url)
        try:
            await conn.execute(
                "UPDATE recipients SET updated_at = now() - interval '31 days' "
                "WHERE user_id = ANY($1::uuid[])",
                [confirmed, stale],
            )
        finally:
            await conn.close()
        pool = await create_pool(database_url, min_size=1, max_size=1, search_path="notifier")
        try:
            assert await purge_expired(pool, broadcast_days=8, provisional_days=30) == (0, 1)
        finally:
            await pool.close()
    left = await fetch(database_url, "SELECT user_id FROM recipients")
    assert {r["user_id"] for r in left} == {confirmed, recent}
    assert {user for _, user in await _stored(database_url)} == {confirmed, recent}
