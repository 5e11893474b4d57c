"""The ingest's SQL under concurrency: several writers (as several notifier instances would) on
the same recipients and partly the same events — no deadlock, no duplicate, no badge drift."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.notifier.ingest import NotificationEvent
from services.notifier.ingest_repository import IngestRepository
from shared.db import create_pool
from tests.notifier_ingest.helpers import add_recipients, badge_drift, count_notifications


@dataclass(frozen=True)
class _Record:
    topic: str = "payment.received"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    value: bytes | None = None
    timestamp: int = 0


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
        datetime(2026, 11, 28, 9, tzinfo=UTC),
        _Record(),
    )


async def test_concurrent_writers_neither_deadlock_nor_duplicate(database_url: str) -> None:
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
        repository = IngestRepository(pool)
        outcomes = await asyncio.gather(*(repository.store(batch, []) for batch in batches))
    finally:
        await pool.close()
    assert await count_notifications(database_url) == len(expected)
    assert sum(o.notifications_inserted for o in outcomes) == len(expected)
    assert await badge_drift(database_url) == []
