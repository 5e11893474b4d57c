"""Builders and probes shared by the ingest tests: valid events of every topic, an independent
producer and dead-letter reader (librdkafka), topic set-up under a per-test prefix."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from services.notifier.api.sql import COUNTER_DRIFT
from services.notifier.settings import IngestTopics, NotifierSettings
from shared.events.examples import EXAMPLE_DATA
from shared.topics import DEFAULT_PARTITIONS, TopicSpec, ensure_topics

SAMPLE_DATA = EXAMPLE_DATA


def event(
    event_type: str,
    organization_id: UUID,
    user_id: UUID | None = None,
    *,
    data: dict[str, Any] | None = None,
    event_id: UUID | None = None,
    occurred_at: str = "2026-11-28T09:15:00Z",
    version: int = 1,
) -> dict[str, Any]:
    """A contract-conform event (section 6)."""
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "version": version,
        "occurred_at": occurred_at,
        "organization_id": str(organization_id),
        "user_id": str(user_id) if user_id else None,
        "data": copy.deepcopy(SAMPLE_DATA.get(event_type, {}) if data is None else data),
    }


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


async def create_topics(
    bootstrap: str, topics: IngestTopics, partitions: int = DEFAULT_PARTITIONS
) -> None:
    names = (*topics.consumed, topics.dead_letter)
    await ensure_topics(bootstrap, tuple(TopicSpec(name, partitions) for name in names))


def settings_for(prefix: str, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "NOTIFIER_TOPIC_PREFIX": prefix,
        "NOTIFIER_CONSUMER_GROUP": f"{prefix}notifier",
        "NOTIFIER_SESSION_TIMEOUT_MS": 3000,
        "NOTIFIER_HEARTBEAT_INTERVAL_MS": 500,
        "NOTIFIER_RETRY_MAX_BACKOFF": 0.5,
        "NOTIFIER_LAG_INTERVAL": 0.5,
    }
    values.update(overrides)
    return NotifierSettings(**values)


@dataclass
class Published:
    topic: str
    partition: int
    offset: int


def publish(
    bootstrap: str,
    topic: str,
    values: Iterable[bytes | None],
    *,
    key: bytes | None = None,
    partition: int | None = None,
) -> list[Published]:
    """Produce with librdkafka and wait for every acknowledgement (blocking)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "acks": "all"})
    delivered: list[Published] = []
    errors: list[Any] = []

    def on_delivery(error: Any, message: Any) -> None:
        if error is not None:
            errors.append(error)
        else:
            delivered.append(Published(message.topic(), message.partition(), message.offset()))

    for value in values:
        while True:
            try:
                if partition is None:
                    producer.produce(topic, value, key=key, on_delivery=on_delivery)
                else:
                    producer.produce(
                        topic, value, key=key, partition=partition, on_delivery=on_delivery
                    )
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(30)
    assert not errors, errors
    return delivered


async def publish_async(
    bootstrap: str, topic: str, values: Sequence[bytes | None], **options: Any
) -> list[Published]:
    return await asyncio.to_thread(publish, bootstrap, topic, values, **options)


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    """Every record of `topic` from the beginning (at least `expected`, or what came in time)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = list(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                messages.append(message)
        return messages
    finally:
        consumer.close()


async def read_all_async(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> Any:
    return await asyncio.to_thread(read_all, bootstrap, topic, expected, timeout)


async def wait_until(
    probe: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def connect(database_url: str) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(
        database_url, server_settings={"search_path": "notifier"}
    )
    return conn


async def add_recipients(
    database_url: str,
    organization_id: UUID,
    users: Sequence[UUID],
    *,
    active: bool = True,
    language: str = "nl",
) -> None:
    conn = await connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO recipients (user_id, organization_id, language, active) "
            "VALUES ($1, $2, $3, $4)",
            [(user, organization_id, language, active) for user in users],
        )
    finally:
        await conn.close()


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def fetchval(database_url: str, query: str, *args: Any) -> Any:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def count_notifications(database_url: str) -> int:
    value: int = await fetchval(database_url, "SELECT count(*) FROM notifications")
    return value


async def badge_drift(database_url: str) -> list[asyncpg.Record]:
    """Recipients any of whose counters (unread, per category, unseen) differs from a recount of
    their visible rows (must be none): services.notifier.api.invariants."""
    return await fetch(database_url, COUNTER_DRIFT)


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (negative when nothing was committed)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        return {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
    finally:
        consumer.close()


BOTH_PATHS = pytest.mark.parametrize("copy_threshold", [1, 1_000_000], ids=["bulk", "statement"])
"""Runs a repository test on the bulk (COPY) path and on the one-statement path, which must store
exactly the same thing: `copy_threshold=1` sends every batch to the bulk path first."""

STORED_AT = datetime(2026, 11, 28, 9, tzinfo=UTC)
"""The occurred_at of the events the repository tests build by hand."""


@dataclass(frozen=True)
class StubRecord:
    """The Kafka record a hand-built NotificationEvent carries."""

    topic: str = "payment.received"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    value: bytes | None = None
    timestamp: int = 0
