"""The ingest against the real broker and PostgreSQL, consumer in-process: every topic, duplicates,
dead letters, fan-out, the projection of users and security notifications, shutdown in flight."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from prometheus_client import REGISTRY

from services.notifier.ingest import dead_letter
from services.notifier.settings import NotifierSettings
from shared.topics import PLATFORM_TOPICS
from tests.notifier_ingest.conftest import BOTH_WRITE_PATHS, RunConsumer
from tests.notifier_ingest.helpers import (
    SAMPLE_DATA,
    add_recipients,
    badge_drift,
    committed_offsets,
    count_notifications,
    encode,
    event,
    fetch,
    fetchval,
    publish_async,
    read_all_async,
    wait_until,
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@BOTH_WRITE_PATHS
async def test_every_platform_topic_becomes_a_notification_with_its_params(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    topics = ingest_settings.topics
    sent = {name: event(name, organization, user) for name in PLATFORM_TOPICS}
    copied_before = metric("notifier_batches_stored_total", path="copy")
    async with run_consumer(ingest_settings):
        for name, document in sent.items():
            await publish_async(
                kafka_bootstrap,
                topics.prefix + name,
                [encode(document)],
                key=str(organization).encode(),
            )
        await wait_until(lambda: _count_is(database_url, 7), what="seven notifications")
    rows = await fetch(
        database_url,
        "SELECT event_id, user_id, type, params, created_at, read_at FROM notifications",
    )
    by_type = {row["type"]: row for row in rows}
    assert set(by_type) == set(PLATFORM_TOPICS)
    for name, document in sent.items():
        row = by_type[name]
        assert str(row["event_id"]) == document["event_id"]
        assert row["user_id"] == user
        assert row["read_at"] is None
        expected = dict(document["data"])
        if name == "mail.failed":
            expected |= {"document_id": None, "document_number": None}
        if name == "offer.signed":
            expected["signed_at"] = "2026-11-27T16:02:00+01:00"
        assert json.loads(row["params"]) == expected
    recipient = (await fetch(database_url, "SELECT * FROM recipients"))[0]
    assert recipient["unread_count"] == 7
    assert recipient["version"] >= 1
    assert recipient["latest_created_at"] == max(row["created_at"] for row in rows)
    assert await badge_drift(database_url) == []
    for name in PLATFORM_TOPICS:
        assert metric("notifier_records_processed_total", topic=topics.prefix + name) == 1
    copied = metric("notifier_batches_stored_total", path="copy") - copied_before
    assert (copied > 0) is (ingest_settings.copy_threshold == 1)


async def _count_is(database_url: str, expected: int) -> bool:
    return await count_notifications(database_url) >= expected


@BOTH_WRITE_PATHS
async def test_the_same_event_twice_gives_one_notification_per_user(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(3)]
    await add_recipients(database_url, organization, users)
    topic = ingest_settings.topics.prefix + "payment.received"
    broadcast = encode(event("payment.received", organization))
    direct = encode(event("payment.received", organization, users[0]))
    async with run_consumer(ingest_settings):
        # twice in one poll, and again later in another batch
        await publish_async(kafka_bootstrap, topic, [broadcast, broadcast, direct], key=b"k")
        await wait_until(lambda: _count_is(database_url, 4), what="first delivery")
        await publish_async(kafka_bootstrap, topic, [direct, broadcast], key=b"k")
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, topic, 5), what="commit"
        )
    assert await count_notifications(database_url) == 4
    counts = await fetch(database_url, "SELECT user_id, unread_count FROM recipients")
    assert {row["user_id"]: row["unread_count"] for row in counts} == {
        users[0]: 2,
        users[1]: 1,
        users[2]: 1,
    }
    assert metric("notifier_records_duplicate_total", topic=topic) == 3


async def _committed_to(bootstrap: str, settings: NotifierSettings, topic: str, total: int) -> bool:
    offsets = await asyncio.to_thread(committed_offsets, bootstrap, settings.consumer_group, topic)
    return sum(max(0, offset) for offset in offsets.values()) >= total


async def test_bad_records_are_dead_lettered_in_order_and_consumption_goes_on(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    topics = ingest_settings.topics
    topic = topics.prefix + "reminder.created"
    good = [event("reminder.created", organization, user) for _ in range(4)]
    bad_level = event(
        "reminder.created",
        organization,
        user,
        data=SAMPLE_DATA["reminder.created"] | {"reminder_level": 4},
    )
    values: list[tuple[bytes | None, str]] = [
        (encode(good[0]), "ok"),
        (b"\xff not json at all", "not_json"),
        (encode(good[1]), "ok"),
        (encode(event("reminder.created", organization, user, version=9)), "unsupported_version"),
        (encode(event("no.such.type", organization, user)), "unknown_type"),
        (encode(bad_level), "validation_error"),
        (encode(event("payment.received", organization, user)), "topic_mismatch"),
        (encode(good[2]), "ok"),
        (b"[1, 2, 3]", "not_an_object"),
        (encode(good[3]), "ok"),
    ]
    async with run_consumer(ingest_settings):
        published = await publish_async(
            kafka_bootstrap, topic, [v for v, _ in values], key=b"org-key", partition=1
        )
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, topic, len(values)),
            what="all records committed",
        )
    stored = await fetch(database_url, "SELECT event_id FROM notifications ORDER BY created_at")
    assert {str(r["event_id"]) for r in stored} == {g["event_id"] for g in good}
    letters = await read_all_async(kafka_bootstrap, topics.dead_letter, expected=6)
    assert len(letters) == 6
    headers = [{k: v.decode() for k, v in (m.headers() or [])} for m in letters]
    offsets = [int(h[dead_letter.HEADER_OFFSET]) for h in headers]
    assert offsets == sorted(offsets), "dead letters keep the partition's order"
    expected_bad = [(p, c) for p, (_, c) in zip(published, values, strict=True) if c != "ok"]
    assert [
        (int(h[dead_letter.HEADER_OFFSET]), h[dead_letter.HEADER_ERROR_CLASS]) for h in headers
    ] == [(p.offset, c) for p, c in expected_bad]
    for message, header in zip(letters, headers, strict=True):
        assert header[dead_letter.HEADER_TOPIC] == topic
        assert header[dead_letter.HEADER_PARTITION] == "1"
        assert header[dead_letter.HEADER_REASON]
        assert message.key() == b"org-key"
    originals = {p.offset: v for p, (v, _) in zip(published, values, strict=True)}
    assert [m.value() for m in letters] == [originals[o] for o in offsets]
    assert metric("notifier_records_dead_lettered_total", topic=topic, error_class="not_json") == 1


@BOTH_WRITE_PATHS
async def test_a_value_postgresql_refuses_is_isolated_and_dead_lettered(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    await add_recipients(database_url, organization, [user])
    topics = ingest_settings.topics
    topic = topics.prefix + "inbox.received"
    poisoned = event(
        "inbox.received",
        organization,
        user,
        data=SAMPLE_DATA["inbox.received"] | {"subject": "a\u0000b"},
    )
    good = [event("inbox.received", organization, user) for _ in range(5)]
    values = [
        encode(good[0]),
        encode(good[1]),
        encode(poisoned),
        encode(good[2]),
        encode(good[3]),
        encode(good[4]),
    ]
    async with run_consumer(ingest_settings):
        await publish_async(kafka_bootstrap, topic, values, key=b"k", partition=0)
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, topic, len(values)),
            what="all records committed",
        )
    assert await count_notifications(database_url) == 5
    letters = await read_all_async(kafka_bootstrap, topics.dead_letter, expected=1)
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers()}
    assert headers[dead_letter.HEADER_ERROR_CLASS] == "storage_rejected"
    assert letters[0].value() == encode(poisoned)
    assert await badge_drift(database_url) == []


@BOTH_WRITE_PATHS
async def test_organisation_wide_events_reach_active_members_only(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization, other = uuid.uuid4(), uuid.uuid4()
    active = [uuid.uuid4() for _ in range(25)]
    inactive = [uuid.uuid4() for _ in range(3)]
    stranger = uuid.uuid4()
    await add_recipients(database_url, organization, active)
    await add_recipients(database_url, organization, inactive, active=False)
    await add_recipients(database_url, other, [stranger])
    topic = ingest_settings.topics.prefix + "offer.signed"
    async with run_consumer(ingest_settings):
        await publish_async(
            kafka_bootstrap,
            topic,
            [
                encode(event("offer.signed", organization)),
                encode(event("offer.signed", organization, inactive[0])),
            ],
            key=b"k",
        )
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, topic, 2), what="commit"
        )
    rows = await fetch(database_url, "SELECT user_id FROM notifications")
    assert sorted(r["user_id"] for r in rows) == sorted(active)
    assert metric("notifier_records_unrouted_total", topic=topic) == 1
    assert await badge_drift(database_url) == []


async def test_user_events_keep_the_projection_and_security_events_reach_the_bell(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    organization = uuid.uuid4()
    alice, bob = uuid.uuid4(), uuid.uuid4()
    users_topic = ingest_settings.topics.users

    def user_event(kind: str, user: uuid.UUID, data: dict[str, Any], at: str) -> bytes:
        return encode(event(kind, organization, user, data=data, occurred_at=at))

    async with run_consumer(ingest_settings):
        await publish_async(
            kafka_bootstrap,
            users_topic,
            [
                user_event(
                    "user.created",
                    alice,
                    {"email": "alice@example.be", "role": "admin", "language": "nl"},
                    "2026-11-28T08:00:00Z",
                ),
                user_event(
                    "user.language_changed", alice, {"language": "fr"}, "2026-11-28T08:01:00Z"
                ),
                user_event("user.password_changed", alice, {}, "2026-11-28T08:02:00Z"),
                user_event("user.two_factor_enabled", alice, {}, "2026-11-28T08:03:00Z"),
                user_event(
                    "user.suspicious_codes", alice, {"failed_attempts": 5}, "2026-11-28T08:04:00Z"
                ),
                user_event("user.two_factor_disabled", alice, {}, "2026-11-28T08:05:00Z"),
                user_event("user.recovery_codes_regenerated", alice, {}, "2026-11-28T08:05:10Z"),
                user_event(
                    "user.recovery_code_used", alice, {"remaining": 9}, "2026-11-28T08:05:20Z"
                ),
                user_event(
                    "user.created",
                    bob,
                    {"email": "bob@example.be", "role": "member", "language": "de"},
                    "2026-11-28T08:00:00Z",
                ),
                user_event("user.deactivated", bob, {}, "2026-11-28T08:06:00Z"),
                user_event("user.password_changed", bob, {}, "2026-11-28T08:07:00Z"),
            ],
            key=b"same-partition",
        )
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, users_topic, 11), what="commit"
        )
    recipients = {r["user_id"]: r for r in await fetch(database_url, "SELECT * FROM recipients")}
    assert recipients[alice]["language"] == "fr"
    assert recipients[alice]["active"] is True
    assert recipients[alice]["provisional"] is False
    assert recipients[bob]["active"] is False
    assert recipients[bob]["language"] == "de"
    rows = await fetch(
        database_url, "SELECT user_id, type, params FROM notifications ORDER BY type"
    )
    assert sorted((r["user_id"], r["type"], json.loads(r["params"])) for r in rows) == [
        (alice, "security.password_changed", {}),
        (alice, "security.recovery_code_used", {"remaining": 9}),
        (alice, "security.recovery_codes_regenerated", {}),
        (alice, "security.suspicious_codes", {"failed_attempts": 5}),
        (alice, "security.two_factor_disabled", {}),
        (alice, "security.two_factor_enabled", {}),
    ]
    assert recipients[alice]["unread_count"] == 6


async def test_an_event_for_a_user_not_yet_projected_is_kept(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    """Topics are not ordered: an event may come before its user's `user.created`."""
    organization, elsewhere = uuid.uuid4(), uuid.uuid4()
    early, misplaced, newcomer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    topics = ingest_settings.topics
    created = {"email": "x@example.be", "role": "member", "language": "en"}
    async with run_consumer(ingest_settings):
        await publish_async(
            kafka_bootstrap,
            topics.prefix + "mail.failed",
            [
                encode(event("mail.failed", organization, early)),
                encode(event("mail.failed", elsewhere, misplaced)),
                # an organisation-wide event that occurred after newcomer joined
                encode(event("mail.failed", organization, occurred_at="2026-11-28T10:00:00Z")),
                # and one from before: newcomer must not get it
                encode(event("mail.failed", organization, occurred_at="2026-11-28T07:00:00Z")),
            ],
            key=b"k",
        )
        await wait_until(
            lambda: _committed_to(
                kafka_bootstrap, ingest_settings, topics.prefix + "mail.failed", 4
            ),
            what="platform events",
        )
        assert await count_notifications(database_url) == 2  # early and misplaced, provisionally
        await publish_async(
            kafka_bootstrap,
            topics.users,
            [
                encode(
                    event(
                        "user.created",
                        organization,
                        early,
                        data=created,
                        occurred_at="2026-11-28T08:00:00Z",
                    )
                ),
                encode(
                    event(
                        "user.created",
                        organization,
                        misplaced,
                        data=created,
                        occurred_at="2026-11-28T08:00:00Z",
                    )
                ),
                encode(
                    event(
                        "user.created",
                        organization,
                        newcomer,
                        data=created,
                        occurred_at="2026-11-28T09:00:00Z",
                    )
                ),
            ],
            key=b"k",
        )
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, topics.users, 3),
            what="user events",
        )
    per_user = {
        r["user_id"]: r["n"]
        for r in await fetch(
            database_url, "SELECT user_id, count(*) AS n FROM notifications GROUP BY user_id"
        )
    }
    # early: its own mail (kept while provisional) + the 10:00 broadcast caught up
    # misplaced: the event claimed another organisation, so it was dropped; gets the 10:00 one
    # newcomer: only the broadcast that occurred after it joined
    assert per_user == {early: 2, misplaced: 1, newcomer: 1}
    assert await fetchval(database_url, "SELECT count(*) FROM recipients WHERE provisional") == 0
    assert await badge_drift(database_url) == []


async def test_a_user_event_moving_a_confirmed_user_to_another_organisation_is_dead_lettered(
    kafka_bootstrap: str,
    database_url: str,
    ingest_settings: NotifierSettings,
    run_consumer: RunConsumer,
) -> None:
    """Users never change organisation: a user event that says otherwise (a forged or broken
    producer) must not move a confirmed recipient, in the same batch or a later one."""
    home, other = uuid.uuid4(), uuid.uuid4()
    confirmed, fresh = uuid.uuid4(), uuid.uuid4()
    users_topic = ingest_settings.topics.users

    def user_event(kind: str, organization: uuid.UUID, user: uuid.UUID, at: str) -> bytes:
        data = {"language": "fr"} if kind == "user.language_changed" else {}
        if kind == "user.created":
            data = {"email": f"{user}@example.be", "role": "member", "language": "nl"}
        return encode(event(kind, organization, user, data=data, occurred_at=at))

    created = user_event("user.created", home, confirmed, "2026-11-28T08:00:00Z")
    moved_later = user_event("user.language_changed", other, confirmed, "2026-11-28T08:01:00Z")
    fresh_created = user_event("user.created", home, fresh, "2026-11-28T08:00:00Z")
    moved_in_batch = user_event("user.password_changed", other, fresh, "2026-11-28T08:02:00Z")
    async with run_consumer(ingest_settings):
        await publish_async(kafka_bootstrap, users_topic, [created], key=b"k", partition=0)
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, users_topic, 1),
            what="user.created committed",
        )
        await publish_async(
            kafka_bootstrap,
            users_topic,
            [moved_later, fresh_created, moved_in_batch],
            key=b"k",
            partition=0,
        )
        await wait_until(
            lambda: _committed_to(kafka_bootstrap, ingest_settings, users_topic, 4),
            what="every user event committed",
        )
    recipients = {r["user_id"]: r for r in await fetch(database_url, "SELECT * FROM recipients")}
    assert recipients[confirmed]["organization_id"] == home
    assert recipients[confirmed]["language"] == "nl"
    assert recipients[fresh]["organization_id"] == home
    assert await count_notifications(database_url) == 0
    letters = await read_all_async(kafka_bootstrap, ingest_settings.topics.dead_letter, expected=2)
    assert sorted(letter.value() for letter in letters) == sorted([moved_later, moved_in_batch])
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers()}
        assert headers[dead_letter.HEADER_ERROR_CLASS] == "organization_changed"
        assert "never change organisation" in headers[dead_letter.HEADER_REASON]
