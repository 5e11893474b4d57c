"""The ingest when things go wrong: PostgreSQL stopped mid-stream, shutdown with a batch in flight;
and what operators see: lag gauges, `clochette lag`, readiness and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY, generate_latest

from clochette.devstack import PostgresInstance, free_port, start_postgres
from clochette.services import migrate_all
from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.settings import Settings
from tests.notifier_ingest.conftest import RunConsumer
from tests.notifier_ingest.helpers import (
    add_recipients,
    badge_drift,
    committed_offsets,
    connect,
    count_notifications,
    create_topics,
    encode,
    event,
    new_prefix,
    publish_async,
    settings_for,
    wait_until,
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresInstance]:
    """A PostgreSQL of this test alone, so the test may stop and restart it."""
    instance = start_postgres(tmp_path / "pg", free_port(), durable=False)
    try:
        yield instance
    finally:
        instance.stop()


async def test_database_stopped_mid_stream_loses_nothing(
    kafka_bootstrap: str,
    own_postgres: PostgresInstance,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    dsn = own_postgres.url()
    await migrate_all(dsn)
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(20)]
    await add_recipients(dsn, organization, users)
    topic = ingest_settings.topics.prefix + "payment.received"
    total = 3000
    documents = [
        encode(event("payment.received", organization, users[i % 20])) for i in range(total)
    ]
    retries_before = metric("notifier_ingest_transient_failures_total", stage="database")
    async with run_consumer(ingest_settings, dsn=dsn):
        await publish_async(kafka_bootstrap, topic, documents[:1000], key=b"a")
        await wait_until(lambda: _stored_at_least(dsn, 1), what="first rows")
        own_postgres.stop()
        await publish_async(kafka_bootstrap, topic, documents[1000:], key=b"b")
        await wait_until(lambda: _retried(retries_before), what="the consumer to notice the outage")
        noticed = metric("notifier_ingest_transient_failures_total", stage="database")
        # The outage lasts: the consumer retries (backing off) more than once before it ends.
        await wait_until(lambda: _retried(noticed + 1), what="the consumer to keep retrying")
        restarted = start_postgres(own_postgres.data_dir, own_postgres.port, durable=False)
        own_postgres.process = restarted.process
        await wait_until(lambda: _stored_at_least(dsn, total), timeout=60, what="every row")
    assert await count_notifications(dsn) == total
    assert await badge_drift(dsn) == []


async def _stored_at_least(dsn: str, expected: int) -> bool:
    try:
        return await count_notifications(dsn) >= expected
    except (OSError, ConnectionError):
        return False


async def _retried(before: float) -> bool:
    return metric("notifier_ingest_transient_failures_total", stage="database") > before


@pytest.mark.parametrize("finishes", [True, False], ids=["finished", "abandoned"])
async def test_shutdown_with_a_batch_in_flight_loses_and_duplicates_nothing(
    kafka_bootstrap: str,
    database_url: str,
    topics_prefix: str,
    run_consumer: RunConsumer,
    finishes: bool,
) -> None:
    settings = settings_for(topics_prefix, NOTIFIER_SHUTDOWN_TIMEOUT=3.0 if finishes else 0.5)
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(5)]
    await add_recipients(database_url, organization, users)
    topic = settings.topics.prefix + "subscription.invoiced"
    total = 200
    documents = [
        encode(event("subscription.invoiced", organization, users[i % 5])) for i in range(total)
    ]
    blocker = await connect(database_url)
    try:
        async with run_consumer(settings) as consumer:
            await asyncio.sleep(0)
            transaction = blocker.transaction()
            await transaction.start()
            # every insert into notifications now waits for this transaction
            await blocker.execute("LOCK TABLE notifications IN SHARE MODE")
            await publish_async(kafka_bootstrap, topic, documents, key=b"k")
            await wait_until(
                lambda: _insert_is_waiting(database_url), what="a batch blocked in PostgreSQL"
            )
            abandoned_before = metric("notifier_consumer_abandoned_batches_total")
            stopping = asyncio.create_task(consumer.stop())
            await asyncio.sleep(0)  # the stop is requested, the batch still blocked
            if not finishes:
                await wait_until(
                    lambda: _abandoned_since(abandoned_before), what="the batch to be abandoned"
                )
            await transaction.rollback()
            await stopping
    finally:
        await blocker.close()
    committed = sum(
        max(0, o)
        for o in (
            await asyncio.to_thread(
                committed_offsets, kafka_bootstrap, settings.consumer_group, topic
            )
        ).values()
    )
    stored = await count_notifications(database_url)
    if finishes:
        assert stored > 0
        assert committed == stored, "what was stored is exactly what was committed"
    else:
        assert committed == 0, "an abandoned batch is not committed"
    async with run_consumer(settings):
        await wait_until(lambda: _stored_at_least(database_url, total), what="the rest")
        await wait_until(
            lambda: _all_committed(kafka_bootstrap, settings, topic, total), what="commits"
        )
    assert await count_notifications(database_url) == total
    assert await badge_drift(database_url) == []


async def _abandoned_since(before: float) -> bool:
    return metric("notifier_consumer_abandoned_batches_total") > before


async def _insert_is_waiting(database_url: str) -> bool:
    conn = await connect(database_url)
    try:
        waiting: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted "
            "AND relation = 'notifier.notifications'::regclass"
        )
    finally:
        await conn.close()
    return waiting > 0


async def _all_committed(
    bootstrap: str, settings: NotifierSettings, topic: str, total: int
) -> bool:
    offsets = await asyncio.to_thread(committed_offsets, bootstrap, settings.consumer_group, topic)
    return sum(max(0, o) for o in offsets.values()) >= total


async def test_lag_gauges_and_the_lag_command(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    prefix = ingest_settings.topics.prefix
    topic = prefix + "peppol.failed"
    group = ingest_settings.consumer_group
    documents = [encode(event("peppol.failed", organization, user)) for _ in range(30)]
    async with run_consumer(ingest_settings) as consumer:
        await publish_async(kafka_bootstrap, topic, documents, key=b"k", partition=2)
        await wait_until(
            lambda: _all_committed(kafka_bootstrap, ingest_settings, topic, 30), what="commits"
        )
        await consumer.update_lag()
        labels = {"group": group, "topic": topic, "partition": "2"}
        assert metric("kafka_consumergroup_group_offset", **labels) == 30
        assert metric("kafka_partition_latest_offset", topic=topic, partition="2") == 30
        assert metric("kafka_consumergroup_group_lag", **labels) == 0
        exposition = generate_latest(REGISTRY).decode()
        assert (
            f'kafka_consumergroup_group_lag{{group="{group}",partition="2",topic="{topic}"}} 0.0'
            in exposition
        )
        assert f'notifier_records_processed_total{{topic="{topic}"}} 30.0' in exposition
        healthy = await asyncio.to_thread(_lag_command, kafka_bootstrap, group, prefix)
    # the notifier is gone and 12 more records wait: commits stopped
    await publish_async(kafka_bootstrap, topic, documents[:12], key=b"k", partition=2)
    stopped = await asyncio.to_thread(_lag_command, kafka_bootstrap, group, prefix)
    assert healthy.splitlines()[-1] == f"group {group}: total lag 0, verdict OK"
    rows = [line.split() for line in stopped.splitlines()]
    row = next(r for r in rows if r[:2] == [topic, "2"])
    assert row == [topic, "2", "30", "42", "12", "12", "->", "12", "STOP"]
    assert stopped.splitlines()[-1] == f"group {group}: total lag 12, verdict STOP"
    topics_listed = {
        line.split()[0] for line in stopped.splitlines()[1:] if line.startswith(prefix)
    }
    assert len(topics_listed) == 8


async def test_a_partition_never_committed_reports_its_lag_from_the_log_start(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    """A consumer stuck on its first batch has committed nothing: its lag still shows (and
    alerts), counted from the partition's first offset, in the gauge and in `clochette lag`."""
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    prefix = ingest_settings.topics.prefix
    topic = prefix + "offer.signed"
    group = ingest_settings.consumer_group
    documents = [encode(event("offer.signed", organization, user)) for _ in range(25)]
    labels = {"group": group, "topic": topic, "partition": "1"}
    blocker = await connect(database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        # every insert into notifications now waits for this transaction: no batch commits
        await blocker.execute("LOCK TABLE notifications IN SHARE MODE")
        async with run_consumer(ingest_settings) as consumer:
            await publish_async(kafka_bootstrap, topic, documents, key=b"k", partition=1)
            await wait_until(
                lambda: _insert_is_waiting(database_url), what="the first batch blocked"
            )
            await consumer.update_lag()
            assert metric("kafka_consumergroup_group_lag", **labels) == 25
            assert REGISTRY.get_sample_value("kafka_consumergroup_group_offset", labels) is None
            stuck = await asyncio.to_thread(_lag_command, kafka_bootstrap, group, prefix)
            await transaction.rollback()
    finally:
        await blocker.close()
    row = next(r for r in (line.split() for line in stuck.splitlines()) if r[:2] == [topic, "1"])
    assert row == [topic, "1", "-", "25", "25", "25", "->", "25", "STOP"]


def _lag_command(bootstrap: str, group: str, prefix: str) -> str:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "clochette"),
            "lag",
            "--group",
            group,
            "--topic-prefix",
            prefix,
            "--samples",
            "2",
            "--interval",
            "0.3",
        ],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_service_is_ready_once_its_consumer_has_joined_and_serves_asyncapi(
    kafka_bootstrap: str, database_url: str, ingest_settings: NotifierSettings
) -> None:
    settings = Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        CLOCHETTE_SECRET_KEY="x" * 48,
        CLOCHETTE_ENV="test",
    )
    app = create_app(settings, notifier=ingest_settings)
    async with AsyncTestClient(app=app) as client:

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        first = await client.get("/health/ready")
        await wait_until(ready, what="readiness")
        checks = (await client.get("/health/ready")).json()["checks"]
        document = (await client.get("/asyncapi.json")).json()
    if first.status_code == 503:
        assert "consumer" in first.json()["checks"]
    assert checks["consumer"] == "ok"
    assert document["asyncapi"] == "3.0.0"
    assert (
        document["channels"]["reminder.created"]["address"]
        == ingest_settings.topics.prefix + "reminder.created"
    )


async def test_the_consumer_reconnects_after_losing_kafka_and_loses_nothing(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    topic = ingest_settings.topics.prefix + "offer.signed"
    documents = [encode(event("offer.signed", organization, user)) for _ in range(400)]
    original = AIOKafkaConsumer.getmany
    failures = {"left": 0}

    async def flaky_getmany(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise KafkaConnectionError("connection to the broker lost")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", flaky_getmany)
    async with run_consumer(ingest_settings) as consumer:
        await publish_async(kafka_bootstrap, topic, documents[:200], key=b"k")
        await wait_until(lambda: _stored_at_least(database_url, 200), what="first half")
        failures["left"] = 1
        await publish_async(kafka_bootstrap, topic, documents[200:], key=b"k")

        async def lost_and_back() -> bool:
            return failures["left"] == 0 and consumer.readiness() is None

        await wait_until(lost_and_back, timeout=30, what="the consumer to reconnect")
        await wait_until(
            lambda: _all_committed(kafka_bootstrap, ingest_settings, topic, 400), what="commits"
        )
    assert await count_notifications(database_url) == 400
    assert await badge_drift(database_url) == []


async def test_missing_topics_are_reported_not_created(
    kafka_bootstrap: str,
    database_url: str,
    run_consumer: RunConsumer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(new_prefix())
    original = AIOKafkaConsumer.topics
    looks = {"count": 0}

    async def counted_topics(self: AIOKafkaConsumer) -> Any:
        looks["count"] += 1
        return await original(self)

    monkeypatch.setattr(AIOKafkaConsumer, "topics", counted_topics)
    async with run_consumer(settings) as consumer:

        async def waiting_for_topics() -> bool:
            return "do not exist" in (consumer.readiness() or "")

        async def looked_twice() -> bool:
            return looks["count"] >= 2

        await wait_until(waiting_for_topics, what="the missing topics to be reported")
        # A second look at the broker's topics, after a back-off, has not created them either.
        await wait_until(looked_twice, what="the consumer to look for its topics again")
        existing = await _topic_names(kafka_bootstrap)
        assert not set(settings.topics.consumed) & existing, "the notifier created topics"
        await create_topics(kafka_bootstrap, settings.topics)

        async def ready() -> bool:
            return consumer.readiness() is None

        await wait_until(ready, timeout=30, what="readiness once the topics exist")


async def _topic_names(bootstrap: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
