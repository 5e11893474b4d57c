"""Hostile Kafka records into the notifier's ingest: nothing crashes, nothing is lost.

Two levels:
- in process, many examples: the parsing the consumer does per record (`EventParser`, the
  `BatchBuilder` around it) turns any value into an event or a dead-letter classification
  (`InvalidEvent`), never into another exception, which would stop the consumer on a poison
  record and retry it forever;
- end to end: a Hypothesis-generated corpus (plus one named record per family) is published on
  the platform topics of the real broker and consumed by the real consumer into the real
  database; every record must end up either stored (a notification or broadcast with its event
  id) or dead-lettered (in `notifier.dlq` with its topic, partition and offset in the headers),
  never both, and the consumer must still be consuming afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.notifier.ingest.batch import BatchBuilder
from services.notifier.ingest.consumer import IngestConsumer, build_ingest_consumer
from services.notifier.ingest.dead_letter import (
    HEADER_ERROR_CLASS,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_TOPIC,
)
from services.notifier.ingest.parser import EventParser
from services.notifier.settings import NotifierSettings
from shared.db import create_pool
from shared.events.registry import InvalidEvent, platform_registry, user_events_registry
from shared.topics import USER_EVENTS_TOPIC
from tests.fuzz.budget import DERANDOMIZE, FUZZ_RECORDS, PARSE_EXAMPLES
from tests.fuzz.records import EXPLICIT, TYPES, FuzzRecord, event_id_of, records
from tests.notifier_ingest.helpers import (
    create_topics,
    encode,
    event,
    fetch,
    new_prefix,
    settings_for,
    wait_until,
)

pytestmark = pytest.mark.fuzz

PARSER = EventParser(platform_registry(), user_events_registry())


# -- in process: the classification never raises anything else ------------------------------


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 0


def classify(value: bytes | None, topic: str) -> str:
    """'event' or the dead-letter class; any other exception propagates (the failure)."""
    try:
        PARSER.parse(value, topic)
    except InvalidEvent as bad:
        assert bad.error_class
        assert bad.reason
        return bad.error_class
    return "event"


@settings(
    max_examples=PARSE_EXAMPLES,
    derandomize=DERANDOMIZE,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(record=records(), topic=st.sampled_from([*TYPES, USER_EVENTS_TOPIC]))
def test_parsing_classifies_every_value(record: FuzzRecord, topic: str) -> None:
    """On its own topic and any other (the user-events topic included): an event, or a reason
    to dead-letter it. The fast path agrees with the precise one, and the batch builder puts the
    record in exactly one of its two lists."""
    for on in (record.topic, topic):
        outcome = classify(record.value, on)
        if PARSER.validated_platform_event(record.value, on) is not None:
            assert outcome == "event", (on, outcome)
        builder = BatchBuilder(PARSER, NotifierSettings().topics)
        builder.add(FakeRecord(on, 0, 7, None, record.value))
        batch = builder.build()
        assert len(batch.events) + len(batch.bad) <= 1
        if outcome == "event" and on != USER_EVENTS_TOPIC:
            assert len(batch.events) == 1
        if outcome != "event":
            assert [b.offset for b in batch.bad] == [7]
            assert batch.bad[0].error_class == outcome


@pytest.mark.parametrize("record", EXPLICIT, ids=lambda r: f"{r.family}-{EXPLICIT.index(r)}")
def test_each_named_hostile_record_is_classified(record: FuzzRecord) -> None:
    """Every family at least once, whatever the sampling does, with the outcome it must get.
    Deliberate choices: a 10,000-level array or a 5000-digit integer in an *unknown* field makes
    the whole record `not_json` (no JSON parser of the platform reads it either), whereas
    `Infinity` there is ignored like any unknown field; `\\u0000` passes the parser and is
    dead-lettered as `storage_rejected` by the database step (the end-to-end test covers it)."""
    assert classify(record.value, record.topic) == record.expect


def test_ten_thousand_open_brackets_are_not_json_not_a_recursion_error() -> None:
    """Bug found by this fuzzing: `json.loads` raised RecursionError past ~1000 levels, which the
    consumer treated as a crash and retried forever (a poison record)."""
    assert classify(b"[" * 10_000, "payment.received") == "not_json"
    assert classify(b'{"a":' * 10_000, "payment.received") == "not_json"
    nested = b"[" * 100_000 + b"]" * 100_000
    assert classify(nested, "payment.received") == "not_json"


def test_an_integer_of_five_thousand_digits_is_not_json_not_a_value_error() -> None:
    """Bug found by this fuzzing: `json.loads` refuses integer literals past Python's 4300-digit
    conversion limit with a plain ValueError, which escaped the classification the same way."""
    raw = b'{"type": "payment.received", "version": ' + b"9" * 5000 + b"}"
    assert classify(raw, "payment.received") == "not_json"


# -- end to end: the real broker, consumer and database ----------------------------------------


@dataclass
class Published:
    record: FuzzRecord
    value: bytes | None = field(repr=False)  # up to 1 MB; the record's repr shows its start
    event_id: UUID | None
    topic: str
    partition: int
    offset: int


def corpus() -> list[FuzzRecord]:
    """The named records plus FUZZ_RECORDS drawn by Hypothesis (derandomised: the same corpus on
    every run unless FUZZ_RANDOM=1; shrinking belongs to the in-process test above)."""
    drawn: list[FuzzRecord] = []

    @settings(
        max_examples=FUZZ_RECORDS,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(record=records())
    def collect(record: FuzzRecord) -> None:
        drawn.append(record)

    collect()
    return [*EXPLICIT, *drawn]


def with_fresh_event_id(value: bytes | None) -> tuple[bytes | None, UUID | None]:
    """The same bytes, with the event id (when one can be read) replaced by a new one, so no two
    records of the run share an event id and "stored" names exactly one record."""
    claimed = event_id_of(value)
    if value is None or claimed is None:
        return value, None
    fresh = uuid.uuid4()
    replaced = value.replace(str(claimed).encode(), str(fresh).encode())
    if event_id_of(replaced) != fresh:  # written in another form (upper case, braces…)
        return value, claimed
    return replaced, fresh


def publish_all(bootstrap: str, items: list[tuple[str, bytes | None]]) -> list[tuple[int, int]]:
    """(partition, offset) of each value, in order; up to 1 MB values like Kafka's default."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "acks": "all",
            "message.max.bytes": 2_000_000,
        }
    )
    placed: dict[int, tuple[int, int]] = {}
    errors: list[Any] = []
    for index, (topic, value) in enumerate(items):

        def delivered(error: Any, message: Any, index: int = index) -> None:
            if error is not None:
                errors.append(error)
            else:
                placed[index] = (message.partition(), message.offset())

        producer.produce(topic, value, key=str(index % 7).encode(), on_delivery=delivered)
        producer.poll(0)
    producer.flush(60)
    assert not errors, errors
    return [placed[i] for i in range(len(items))]


class DeadLetterReader:
    """Reads the dead-letter topic from the beginning, keeping (topic, partition, offset)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"fuzz-dlq-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.message.max.bytes": 2_000_000,
            }
        )
        metadata = self._consumer.list_topics(topic, timeout=10)
        self._consumer.assign(
            [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
        )
        self.seen: dict[tuple[str, int, int], list[bytes | None]] = {}
        self.error_class: dict[tuple[str, int, int], str] = {}

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.1)
            if message is None or message.error() is not None:
                continue
            raw = message.headers() or []
            pairs = raw.items() if isinstance(raw, dict) else raw
            headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in pairs}
            where = (
                headers[HEADER_TOPIC],
                int(headers[HEADER_PARTITION]),
                int(headers[HEADER_OFFSET]),
            )
            self.seen.setdefault(where, []).append(message.value())
            self.error_class[where] = headers[HEADER_ERROR_CLASS]

    def close(self) -> None:
        self._consumer.close()


@dataclass
class Ingest:
    """The consumer under test on topics of its own, and what the test needs around it."""

    bootstrap: str
    database_url: str
    settings: NotifierSettings
    consumer: IngestConsumer
    dead_letters: DeadLetterReader


@pytest.fixture
async def ingest(kafka_bootstrap: str, database_url: str) -> AsyncIterator[Ingest]:
    settings = settings_for(new_prefix())
    await create_topics(kafka_bootstrap, settings.topics)
    pool = await create_pool(database_url, max_size=2, search_path="notifier")
    consumer = build_ingest_consumer(kafka_bootstrap, pool, settings)
    await consumer.start()
    reader = DeadLetterReader(kafka_bootstrap, settings.topics.dead_letter)
    try:
        yield Ingest(kafka_bootstrap, database_url, settings, consumer, reader)
    finally:
        reader.close()
        await consumer.stop()
        await pool.close()


async def stored_event_ids(database_url: str, candidates: list[UUID]) -> set[UUID]:
    rows = await fetch(
        database_url,
        """SELECT event_id FROM notifications WHERE event_id = ANY($1::uuid[])
           UNION SELECT event_id FROM broadcasts WHERE event_id = ANY($1::uuid[])""",
        candidates,
    )
    return {row["event_id"] for row in rows}


@pytest.mark.timeout(300)
async def test_fuzzed_records_are_each_stored_or_dead_lettered(
    ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="services.notifier.ingest")
    kafka_bootstrap, database_url = ingest.bootstrap, ingest.database_url
    consumer, dead_letters = ingest.consumer, ingest.dead_letters
    topics = ingest.settings.topics
    items: list[tuple[FuzzRecord, bytes | None, UUID | None, str]] = []
    for record in corpus():
        value, event_id = with_fresh_event_id(record.value)
        items.append((record, value, event_id, topics.prefix + record.topic))
    placed = await asyncio.to_thread(publish_all, kafka_bootstrap, [(t, v) for _, v, _, t in items])
    published = [
        Published(record, value, event_id, topic, partition, offset)
        for (record, value, event_id, topic), (partition, offset) in zip(items, placed, strict=True)
    ]
    candidates = [p.event_id for p in published if p.event_id is not None]
    stored: set[UUID] = set()

    def unaccounted() -> list[Published]:
        return [
            p
            for p in published
            if (p.topic, p.partition, p.offset) not in dead_letters.seen
            and p.event_id not in stored
        ]

    async def everything_accounted() -> bool:
        nonlocal stored
        await asyncio.to_thread(dead_letters.drain, 0.3)
        stored = await stored_event_ids(database_url, candidates)
        return not unaccounted()

    try:
        await wait_until(everything_accounted, timeout=180, what="every record accounted for")
    except AssertionError:
        missing = unaccounted()
        raise AssertionError(
            f"{len(missing)} records neither stored nor dead-lettered: {missing[:10]}"
        ) from None

    # Still consuming: a valid event published afterwards is stored.
    org, user = uuid.uuid4(), uuid.uuid4()
    after = event("payment.received", org, user)
    await asyncio.to_thread(
        publish_all, kafka_bootstrap, [(topics.prefix + "payment.received", encode(after))]
    )
    after_id = UUID(after["event_id"])
    await wait_until(
        lambda: _stored(database_url, after_id), timeout=60, what="the event after the fuzz"
    )
    await asyncio.to_thread(dead_letters.drain, 1.0)

    both = [
        p
        for p in published
        if (p.topic, p.partition, p.offset) in dead_letters.seen and p.event_id in stored
    ]
    assert not both, f"stored and dead-lettered: {both[:10]}"
    for p in published:  # a dead letter keeps the original bytes (a tombstone becomes b"")
        for letter in dead_letters.seen.get((p.topic, p.partition, p.offset), []):
            assert (letter or b"") == (p.value or b""), p
    for p in published:  # the named records got the outcome they must get
        if p.record.expect is None:
            continue
        where = (p.topic, p.partition, p.offset)
        got = "event" if p.event_id in stored else dead_letters.error_class.get(where)
        nul = b"\\u0000" in (p.value or b"")
        assert got == ("storage_rejected" if nul else p.record.expect), p
    assert consumer.readiness() is None
    crashes = [r for r in caplog.records if "consumer_failed" in str(r.msg)]
    assert not crashes, crashes
    families = {p.record.family for p in published}
    assert len(families) >= 13, families
    assert stored, "no valid record was stored: the oracle would pass vacuously"


async def _stored(database_url: str, event_id: UUID) -> bool:
    return bool(await stored_event_ids(database_url, [event_id]))
