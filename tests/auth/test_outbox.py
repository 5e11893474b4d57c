"""The outbox: user events reach the real broker, survive a broker outage, and a rolled-back
change publishes nothing. Read back with an independent client (confluent-kafka)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from clochette.devstack import free_port, start_broker
from services.auth.app import create_app
from services.auth.platform import events, outbox
from services.auth.platform.outbox import OutboxRelay, RelaySettings
from shared.clock import SystemClock
from shared.events.registry import user_events_registry
from shared.kafka import create_producer
from shared.topics import SMS_REQUESTED_TOPIC, TOPICS, USER_EVENTS_TOPIC, ensure_topics
from tests.auth.conftest import (
    AuthHarness,
    cheap_auth_settings,
    http_client,
    running,
    settings_for,
)

USER_TOPIC_ONLY = tuple(t for t in TOPICS if t.name == USER_EVENTS_TOPIC)
PARTITIONS = USER_TOPIC_ONLY[0].partitions


def read_records(
    bootstrap: str, keep: Any, enough: Any, timeout: float = 20.0
) -> list[tuple[bytes, bytes]]:
    """(key, value) of the records on auth.users whose user id passes `keep`, from the start, until
    `enough(records)` or the time is up. Delivery is at least once: duplicates may appear."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"auth-tests-{uuid.uuid4().hex}",  # required, unused with assign()
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [TopicPartition(USER_EVENTS_TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
    )
    found: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while not enough(found) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            key, value = message.key(), message.value()
            if key is None or value is None:
                continue
            user_id = str(json.loads(value).get("user_id", "")).encode()
            if keep(user_id):
                found.append((key, value))
    finally:
        consumer.close()
    return found


def count(n: int) -> Any:
    return lambda records: len(records) >= n


def users(wanted: set[bytes]) -> Any:
    """Enough once a record of every wanted user id has arrived."""
    return lambda records: {json.loads(v)["user_id"].encode() for _, v in records} >= wanted


def fast_relay(pool: Any, dsn: str, bootstrap: str, reachable: Any = lambda: True) -> OutboxRelay:
    def producer() -> Any:
        if not reachable():
            raise ConnectionRefusedError("the broker is down")
        return create_producer(bootstrap)

    return OutboxRelay(
        pool,
        dsn,
        producer,
        SystemClock(),
        RelaySettings(
            poll_interval=timedelta(seconds=0.2),
            publish_timeout=timedelta(seconds=2),
            retry_initial=timedelta(seconds=0.1),
            retry_max=timedelta(seconds=0.5),
            leader_retry=timedelta(seconds=0.2),
        ),
    )


async def test_user_events_of_the_http_api_reach_the_broker_in_order(
    database_url: str, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, USER_TOPIC_ONLY)
    settings = cheap_auth_settings(outbox_relay_enabled=True, outbox_poll_seconds=0.2)
    app = create_app(settings_for(database_url, kafka_bootstrap), auth_settings=settings)
    async with running(app), http_client(app) as client:
        harness = AuthHarness(app, client, clock=None)  # type: ignore[arg-type]
        admin = await harness.create_user("boss@example.be", role="admin")
        boss = await harness.login("boss@example.be")
        created = await client.post(
            f"/v1/organizations/{admin.organization_id}/users",
            json={
                "email": "an@example.be",
                "password": "copper kettle morning rain",
                "language": "fr",
                "role": "member",
            },
            headers=harness.bearer(boss),
        )
        user_id = created.json()["id"]
        an = await harness.login("an@example.be", "copper kettle morning rain")
        await client.patch("/v1/me", json={"language": "de"}, headers=harness.bearer(an))
        await client.put(
            "/v1/me/password",
            json={
                "current_password": "copper kettle morning rain",
                "new_password": "silver kettle evening sun",
                "new_password_confirmation": "silver kettle evening sun",
            },
            headers=harness.bearer(an),
        )
        await client.post(
            f"/v1/organizations/{admin.organization_id}/users/{user_id}/deactivate",
            headers=harness.bearer(boss),
        )
        records = await asyncio.to_thread(
            read_records, kafka_bootstrap, lambda uid: uid == user_id.encode(), count(5)
        )
    registry = user_events_registry()
    parsed = [registry.parse(value, topic=USER_EVENTS_TOPIC) for _, value in records]
    assert [e.type for e in parsed] == [
        "user.created",
        "user.new_sign_in",  # the login came without a device token of the account
        "user.language_changed",
        "user.password_changed",
        "user.deactivated",
    ]
    assert all(str(e.user_id) == user_id for e in parsed)
    # Keyed by organisation (contract section 6): one partition per organisation keeps order.
    assert {key for key, _ in records} == {str(admin.organization_id).encode()}
    assert all(e.organization_id == admin.organization_id for e in parsed)
    # The address never travels on auth.users (kept forever; no consumer needs it).
    assert parsed[0].data.email is None
    assert all(b"an@example.be" not in value for _, value in records)
    assert (parsed[0].data.role, parsed[0].data.language) == ("member", "fr")
    assert parsed[2].data.language == "de"
    assert len({e.event_id for e in parsed}) == 5


async def test_events_written_while_the_broker_is_down_arrive_when_it_is_back(
    auth: AuthHarness, database_url: str, tmp_path: Any
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, output=tmp_path / "broker.log")
    # The restarted broker is empty (memory only): the topic must exist again before the relay
    # reaches it, as it would on a real cluster.
    topic_exists = True
    pool = auth.app.state.pool
    relay = fast_relay(pool, database_url, bootstrap, reachable=lambda: topic_exists)
    try:
        await ensure_topics(bootstrap, USER_TOPIC_ONLY)
        relay.start()
        first = await auth.create_user("first@example.be")
        arrived = await asyncio.to_thread(
            read_records, bootstrap, lambda uid: uid == str(first.id).encode(), count(1)
        )
        assert len(arrived) == 1

        topic_exists = False
        await asyncio.to_thread(broker.stop, 3)
        during = [await auth.create_user(f"during{i}@example.be") for i in range(3)]
        await _wait_until(lambda: relay.stats.failed_attempts >= 2)
        async with pool.acquire() as conn:
            assert (
                await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 3
            )

        broker = start_broker(port, output=tmp_path / "broker-again.log")
        await ensure_topics(bootstrap, USER_TOPIC_ONLY)
        topic_exists = True
        ids = {str(u.id).encode() for u in during}
        arrived = await asyncio.to_thread(
            read_records, bootstrap, lambda uid: uid in ids, users(ids)
        )
        assert {json.loads(value)["user_id"].encode() for _, value in arrived} == ids
        await _wait_until(lambda: relay.stats.published >= 4)
        async with pool.acquire() as conn:
            assert (
                await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
            )
    finally:
        await relay.stop()
        await asyncio.to_thread(broker.stop, 3)


async def test_a_rolled_back_change_publishes_nothing(
    auth: AuthHarness, database_url: str, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, USER_TOPIC_ONLY)
    pool = auth.app.state.pool
    user = await auth.create_user()

    class Abort(Exception):
        pass

    async def deactivate_then_fail() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await events.publish_user_event(conn, user, events.deactivated(), auth.clock.now())
            raise Abort

    with pytest.raises(Abort):
        await deactivate_then_fail()
    async with pool.acquire() as conn, conn.transaction():
        marker = await events.publish_user_event(
            conn, user, events.password_changed(), auth.clock.now()
        )
    relay = fast_relay(pool, database_url, kafka_bootstrap)
    relay.start()
    try:
        records = await asyncio.to_thread(
            read_records,
            kafka_bootstrap,
            lambda uid: uid == str(user.id).encode(),
            # Rows are published in id order and one user's records share a partition: once
            # the later marker is read, anything the rolled-back row became would be too.
            lambda records: any(marker["event_id"].encode() in value for _, value in records),
        )
    finally:
        await relay.stop()
    types = [user_events_registry().parse(value).type for _, value in records]
    assert types == ["user.created", "user.password_changed"]
    assert marker["event_id"] in records[-1][1].decode()


async def test_the_relay_waits_its_turn_when_another_instance_leads(
    auth: AuthHarness, database_url: str, kafka_bootstrap: str
) -> None:
    pool = auth.app.state.pool
    leader = fast_relay(pool, database_url, kafka_bootstrap)
    follower = fast_relay(pool, database_url, kafka_bootstrap)
    leader.start()
    await _wait_until(lambda: leader.stats.is_leader)
    follower.start()
    try:
        # The follower asked for the lead at least twice and was refused each time.
        await _wait_until(lambda: follower.stats.leadership_refused >= 2)
        assert not follower.stats.is_leader
        await leader.stop()
        await _wait_until(lambda: follower.stats.is_leader, timeout=10)
    finally:
        await leader.stop()
        await follower.stop()


async def _wait_until(condition: Any, timeout: float = 15.0) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_an_sms_request_is_deleted_once_published_and_user_events_are_kept(
    auth: AuthHarness, database_url: str, kafka_bootstrap: str
) -> None:
    """The SMS text holds the code: its outbox row must not stay for the audit retention."""
    await ensure_topics(
        kafka_bootstrap,
        tuple(t for t in TOPICS if t.name in {SMS_REQUESTED_TOPIC, USER_EVENTS_TOPIC}),
    )
    pool = auth.app.state.pool
    user = await auth.create_user()
    async with pool.acquire() as conn, conn.transaction():
        sms = await outbox.enqueue(
            conn,
            SMS_REQUESTED_TOPIC,
            str(user.organization_id),
            {"text": "Uw code: 123456", "user_id": str(user.id)},
            auth.clock.now(),
        )
    relay = fast_relay(pool, database_url, kafka_bootstrap)
    relay.start()
    try:
        deadline = time.monotonic() + 20
        while await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            assert time.monotonic() < deadline, "the relay published nothing"
            await asyncio.sleep(0.1)
    finally:
        await relay.stop()
    rows = {
        row["topic"]: row["published_at"]
        for row in await pool.fetch("SELECT topic, published_at FROM outbox")
    }
    assert SMS_REQUESTED_TOPIC not in rows, "the SMS request outlived its publication"
    assert rows[USER_EVENTS_TOPIC] is not None
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE id = $1", sms) == 0
