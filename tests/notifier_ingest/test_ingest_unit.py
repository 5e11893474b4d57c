"""Fast tests of the ingest's pure parts: parsing, batch preparation, lag verdicts, dead-letter
headers, error classification and the AsyncAPI document."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clochette.lag import OffsetSample, Verdict, format_lag_table, judge, judge_group
from services.notifier.asyncapi import asyncapi_document
from services.notifier.ingest.backoff import Abandoned, Backoff, RetryPolicy
from services.notifier.ingest.batch import BadRecord, BatchBuilder, PreparedBatch
from services.notifier.ingest.committer import consumer_lag
from services.notifier.ingest.dead_letter import (
    HEADER_ERROR_CLASS,
    HEADER_OFFSET,
    HEADER_REASON,
    HEADER_TOPIC,
    dead_letter_headers,
)
from services.notifier.ingest.parser import EventParser
from services.notifier.settings import IngestTopics
from shared.db import is_rejected_data_error, is_transient_database_error
from shared.events.registry import InvalidEvent, platform_registry, user_events_registry
from shared.events.user_events import USER_EVENT_PAYLOADS
from shared.topics import PLATFORM_TOPICS
from tests.notifier_ingest.helpers import SAMPLE_DATA, encode, event

PARSER = EventParser(platform_registry(), user_events_registry())
TOPICS = IngestTopics("p.")


def built(records: dict[tuple[str, int], list[Record]]) -> PreparedBatch:
    """The batch the consumer's pipeline builds from one poll."""
    builder = BatchBuilder(PARSER, TOPICS)
    for partition_records in records.values():
        for record in partition_records:
            builder.add(record)
    return builder.build()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"key"
    timestamp: int = 1_700_000_000_000


def outcome(value: bytes | None, topic: str) -> tuple[str, Any]:
    """What parsing gives: the event's fields, or the error class and reason."""
    registry = user_events_registry() if topic == "auth.users" else platform_registry()
    try:
        parsed = registry.parse(value, topic)
    except InvalidEvent as exc:
        return ("invalid", (exc.error_class, exc.reason))
    return ("event", (parsed.event_id, parsed.type, parsed.user_id, parsed.data))


def fast_outcome(value: bytes | None, topic: str) -> tuple[str, Any]:
    try:
        parsed = PARSER.parse(value, topic)
    except InvalidEvent as exc:
        return ("invalid", (exc.error_class, exc.reason))
    return ("event", (parsed.event_id, parsed.type, parsed.user_id, parsed.data))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    topic=st.sampled_from(PLATFORM_TOPICS),
    field=st.sampled_from(
        ["type", "version", "event_id", "occurred_at", "organization_id", "user_id", "data"]
    ),
    replacement=json_values,
    drop=st.booleans(),
    data_field=st.sampled_from(
        ["", "amount", "status", "invoice_number", "reminder_level", "channel"]
    ),
)
def test_fast_parsing_accepts_and_refuses_exactly_what_the_registry_does(
    topic: str, field: str, replacement: Any, drop: bool, data_field: str
) -> None:
    document = event(topic, uuid.uuid4(), uuid.uuid4())
    assert fast_outcome(encode(document), topic) == outcome(encode(document), topic)
    if data_field and data_field in document["data"]:
        target, key = document["data"], data_field
    else:
        target, key = document, field
    if drop:
        target.pop(key, None)
    else:
        target[key] = replacement
    value = encode(document)
    assert fast_outcome(value, topic) == outcome(value, topic)


@pytest.mark.parametrize(
    "value",
    [None, b"", b"\xff\xfe", b"null", b"[]", b'"text"', b'{"type": "payment.received"}'],
)
def test_fast_parsing_of_hopeless_records_matches_the_registry(value: bytes | None) -> None:
    assert fast_outcome(value, "payment.received") == outcome(value, "payment.received")
    assert fast_outcome(value, "payment.received")[0] == "invalid"


def test_a_batch_splits_into_events_dead_letters_and_offsets() -> None:
    organization, user = uuid.uuid4(), uuid.uuid4()
    same = encode(event("payment.received", organization, user))
    records = {
        ("p.payment.received", 0): [
            Record("p.payment.received", 0, 10, same),
            Record("p.payment.received", 0, 11, b"nope"),
            Record("p.payment.received", 0, 12, same),
        ],
        ("p.inbox.received", 2): [
            Record("p.inbox.received", 2, 5, encode(event("inbox.received", organization)))
        ],
    }
    batch = built(records)
    assert batch.next_offsets == {("p.payment.received", 0): 13, ("p.inbox.received", 2): 6}
    assert batch.size == 4
    assert [(e.type, e.user_id) for e in batch.events] == [
        ("payment.received", user),
        ("inbox.received", None),
    ]
    assert json.loads(batch.events[0].params_json) == SAMPLE_DATA["payment.received"]
    assert batch.repeated_in_batch == {"p.payment.received": 1}
    assert batch.bad == [
        BadRecord(
            "p.payment.received",
            0,
            11,
            b"key",
            b"nope",
            1_700_000_000_000,
            "not_json",
            batch.bad[0].reason,
        )
    ]


def test_user_events_fold_per_user_in_order_and_security_ones_become_notifications() -> None:
    organization, alice = uuid.uuid4(), uuid.uuid4()
    created = {"email": "a@example.be", "role": "member", "language": "nl"}
    documents = [
        event(
            "user.created", organization, alice, data=created, occurred_at="2026-11-28T08:00:00Z"
        ),
        event("user.language_changed", organization, alice, data={"language": "de"}),
        event("user.two_factor_enabled", organization, alice, data={}),
        event("user.deactivated", organization, alice, data={}),
    ]
    records = {
        ("p.auth.users", 1): [
            Record("p.auth.users", 1, i, encode(d)) for i, d in enumerate(documents)
        ]
    }
    batch = built(records)
    [change] = batch.recipient_changes
    assert (change.user_id, change.organization_id) == (alice, organization)
    assert (change.language, change.active) == ("de", False)
    assert change.member_since == datetime(2026, 11, 28, 8, tzinfo=UTC)
    assert [(e.type, e.user_id, e.params_json) for e in batch.events] == [
        ("security.two_factor_enabled", alice, "{}")
    ]


def samples(*points: tuple[int | None, int]) -> list[OffsetSample]:
    return [OffsetSample(float(i), committed, high) for i, (committed, high) in enumerate(points)]


@pytest.mark.parametrize(
    ("points", "group_moved", "verdict"),
    [
        ([(100, 100), (100, 100), (100, 100)], False, Verdict.OK),  # idle, nothing to read
        ([(10, 100), (60, 120), (120, 130)], True, Verdict.OK),  # catching up
        ([(10, 100), (20, 120), (30, 150)], True, Verdict.WARN),  # moving, lag keeps growing
        ([(10, 100), (20, 100), (30, 150)], True, Verdict.OK),  # lag fell once: not 'keeps growing'
        ([(10, 100), (10, 110), (10, 120)], True, Verdict.STALL),  # stuck, group alive
        ([(10, 100), (10, 100), (10, 100)], False, Verdict.STOP),  # nothing moves anywhere
        ([(None, 5), (None, 5)], False, Verdict.STOP),  # never committed, records waiting
        ([(150, 100)], False, Verdict.OK),  # committed past the end: lag clamped at 0
    ],
)
def test_burrow_style_verdicts(
    points: list[tuple[int | None, int]], group_moved: bool, verdict: Verdict
) -> None:
    assert judge(samples(*points), group_moved) is verdict


def test_lag_table_shows_every_partition_and_the_group_verdict() -> None:
    lags = judge_group(
        {
            ("payment.received", 0): samples((10, 10), (12, 12)),
            ("payment.received", 1): samples((3, 9), (3, 9)),
        }
    )
    table = format_lag_table("clochette-notifier", lags)
    lines = table.splitlines()
    assert lines[0].split() == [
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "HIGH-WATER",
        "LAG",
        "LAG",
        "TREND",
        "VERDICT",
    ]
    assert lines[1].split() == ["payment.received", "0", "12", "12", "0", "0", "->", "0", "OK"]
    assert lines[2].split() == ["payment.received", "1", "3", "9", "6", "6", "->", "6", "STALL"]
    assert lines[-1] == "group clochette-notifier: total lag 6, verdict STALL"


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(0.1, 2.0)
    delays = [backoff.next() for _ in range(12)]
    assert 0.05 <= delays[0] <= 0.1
    assert all(0 < d <= 2.0 for d in delays)
    assert delays[-1] >= 1.0


async def test_a_retry_waits_between_attempts_and_gives_up_only_when_told() -> None:
    policy = RetryPolicy(0.1, 2.0)
    failures, pauses = iter([OSError("down"), OSError("down")]), []

    async def attempt() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "stored"

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    retryable = lambda exc: isinstance(exc, OSError)  # noqa: E731
    assert await policy.run(attempt, retryable=retryable, pause=pause) == "stored"
    assert len(pauses) == 2
    with pytest.raises(ValueError, match="bug"):
        await policy.run(_raises(ValueError("bug")), retryable=retryable, pause=pause)
    with pytest.raises(Abandoned):
        await policy.run(attempt, retryable=retryable, pause=pause, stale=lambda: True)


def _raises(exc: Exception) -> Callable[[], Awaitable[None]]:
    async def attempt() -> None:
        raise exc

    return attempt


@pytest.mark.parametrize(
    ("high_water", "committed", "log_start", "lag"),
    [
        (42, 30, 0, 12),
        (30, 30, 0, 0),
        (30, 35, 0, 0),  # a stale high-water mark never gives a negative lag
        (25, None, 0, 25),  # never committed: from the log start
        (25, None, 10, 15),
        (25, 3, 10, 15),  # committed below what retention already deleted
    ],
)
def test_lag_is_high_water_minus_position_never_below_zero(
    high_water: int, committed: int | None, log_start: int, lag: int
) -> None:
    assert consumer_lag(high_water, committed, log_start) == lag
    assert OffsetSample(0.0, committed, high_water, log_start).lag == lag


def test_dead_letter_headers_name_origin_and_reason() -> None:
    bad = BadRecord("p.mail.failed", 2, 41, b"k", b"v", 5, "validation_error", "x" * 5000)
    headers = dead_letter_headers(bad, "clochette-notifier", datetime(2026, 11, 28, tzinfo=UTC))
    assert headers[HEADER_TOPIC] == "p.mail.failed"
    assert headers[HEADER_OFFSET] == "41"
    assert headers[HEADER_ERROR_CLASS] == "validation_error"
    assert len(headers[HEADER_REASON]) == 2000
    assert all(isinstance(v, str) for v in headers.values())


def test_database_errors_are_classified() -> None:
    assert is_transient_database_error(ConnectionRefusedError())
    assert is_transient_database_error(asyncpg.exceptions.AdminShutdownError())
    assert is_transient_database_error(asyncpg.exceptions.DeadlockDetectedError())
    assert is_transient_database_error(asyncpg.exceptions.ConnectionDoesNotExistError())
    assert not is_transient_database_error(asyncpg.exceptions.UntranslatableCharacterError())
    assert is_rejected_data_error(asyncpg.exceptions.UntranslatableCharacterError())
    assert not is_rejected_data_error(asyncpg.exceptions.AdminShutdownError())
    assert not is_transient_database_error(ValueError())


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_asyncapi_documents_every_topic_read_and_written() -> None:
    document = asyncapi_document(TOPICS, "clochette-notifier", "127.0.0.1:9092")
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == {*PLATFORM_TOPICS, "auth.users", "notifier.dlq"}
    assert document["channels"]["payment.received"]["address"] == "p.payment.received"
    users = document["channels"]["auth.users"]["messages"]
    assert len(users) == len(USER_EVENT_PAYLOADS)
    assert "user.suspicious_codes.v1" in users
    assert "user.new_sign_in.v1" in users
    actions = {name: op["action"] for name, op in document["operations"].items()}
    assert actions["send:notifier.dlq"] == "send"
    assert sum(1 for a in actions.values() if a == "receive") == 8
    refs = _refs(document)
    assert len(refs) > 40
    for ref in refs:
        assert _resolve(document, ref) is not None, ref
    money = document["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["pattern"]
    json.dumps(document)  # plain JSON all the way down
