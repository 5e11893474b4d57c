"""The event contracts: valid events parse, each malformed one is rejected with a precise reason,
and unknown extra fields are accepted (forward compatibility)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import InvalidEvent, platform_registry, user_events_registry

ORG = "6c1f2a9e-0b5d-4c1e-9a57-3f1b2c3d4e5f"
USER = "3d6a1e7c-8b2f-4a0e-b1c9-5e4f3a2b1c0d"

VALID_DATA: dict[str, dict[str, Any]] = {
    "reminder.created": {
        "invoice_id": "inv-1",
        "invoice_number": "F2026-0042",
        "customer_name": "Brasserie De Klok",
        "reminder_level": 2,
        "due_date": "2026-11-15",
        "amount_due": {"amount": "1234.56", "currency": "EUR"},
    },
    "subscription.invoiced": {
        "subscription_id": "sub-9",
        "subscription_name": "Onderhoud website",
        "invoice_id": "inv-2",
        "invoice_number": "F2026-0043",
        "customer_name": "Atelier Dubois",
        "total": {"amount": "99.00", "currency": "EUR"},
    },
    "payment.received": {
        "invoice_id": "inv-3",
        "invoice_number": "F2026-0044",
        "customer_name": "Müller GmbH",
        "amount": {"amount": "500", "currency": "EUR"},
        "status": "partial",
    },
    "peppol.failed": {
        "document_id": "doc-1",
        "document_number": "CN2026-0003",
        "document_type": "credit_note",
        "recipient_name": "Boulangerie Lefèvre",
        "reason": "Recipient not registered on the Peppol network",
    },
    "offer.signed": {
        "offer_id": "off-7",
        "offer_number": "O2026-0007",
        "customer_name": "Studio Noord",
        "signed_by": "An Peeters",
        "signed_at": "2026-11-27T16:02:11+01:00",
    },
    "inbox.received": {
        "message_id": "msg-1",
        "channel": "peppol",
        "sender": "Electrabel",
        "subject": "Factuur 2026-11",
    },
    "mail.failed": {
        "recipient_email": "boekhouding@example.be",
        "reason": "Mailbox full",
    },
}


def envelope(event_type: str, data: Any = None, **fields: Any) -> dict[str, Any]:
    event = {
        "event_id": "0b8f8e8e-3c0e-4a53-9d1c-6a1f0c1e2b3a",
        "type": event_type,
        "version": 1,
        "occurred_at": "2026-11-28T09:15:00Z",
        "organization_id": ORG,
        "user_id": None,
        "data": copy.deepcopy(VALID_DATA[event_type]) if data is None else data,
    }
    event.update(fields)
    return event


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


@pytest.mark.parametrize("event_type", sorted(VALID_DATA))
def test_every_platform_event_parses(event_type: str) -> None:
    event = platform_registry().parse(raw(envelope(event_type)), topic=event_type)
    assert event.type == event_type
    assert str(event.organization_id) == ORG
    assert event.user_id is None


@pytest.mark.parametrize("event_type", sorted(VALID_DATA))
def test_unknown_fields_are_ignored_everywhere(event_type: str) -> None:
    event = envelope(event_type, trace_id="abc", producer={"name": "billing"})
    event["data"]["new_field_from_the_future"] = [1, 2, 3]
    parsed = platform_registry().parse(raw(event), topic=event_type)
    assert not hasattr(parsed.data, "new_field_from_the_future")


def test_the_registry_knows_exactly_the_seven_topics() -> None:
    assert platform_registry().types == sorted(VALID_DATA)


BAD_ENVELOPES: list[tuple[str, bytes, str, str]] = [
    ("not json", b"{not json", "not_json", "not UTF-8 JSON"),
    ("not utf-8", b"\xff\xfe{}", "not_json", "not UTF-8 JSON"),
    ("an array", b"[1, 2]", "not_an_object", "not an object"),
    ("no type", raw({"version": 1}), "validation_error", "type"),
    ("type not a string", raw({"type": 3, "version": 1}), "validation_error", "type"),
    ("version missing", raw({"type": "payment.received"}), "validation_error", "version"),
    (
        "version as text",
        raw(envelope("payment.received", version="1")),
        "validation_error",
        "version",
    ),
    (
        "version true",
        raw(envelope("payment.received", version=True)),
        "validation_error",
        "version",
    ),
    (
        "unknown type",
        raw(envelope("payment.received", type="invoice.exploded")),
        "unknown_type",
        "invoice.exploded",
    ),
    (
        "future version",
        raw(envelope("payment.received", version=2)),
        "unsupported_version",
        "version 2",
    ),
    (
        "bad event id",
        raw(envelope("payment.received", event_id="nope")),
        "validation_error",
        "event_id",
    ),
    (
        "naive timestamp",
        raw(envelope("payment.received", occurred_at="2026-11-28T09:15:00")),
        "validation_error",
        "occurred_at",
    ),
    (
        "bad organisation",
        raw(envelope("payment.received", organization_id="6c1f…")),
        "validation_error",
        "organization_id",
    ),
    ("bad user id", raw(envelope("payment.received", user_id=42)), "validation_error", "user_id"),
    (
        "data missing",
        raw({k: v for k, v in envelope("payment.received").items() if k != "data"}),
        "validation_error",
        "data",
    ),
    ("data not an object", raw(envelope("payment.received", data=[1])), "validation_error", "data"),
]


@pytest.mark.parametrize(
    ("raw_value", "error_class", "mentions"),
    [pytest.param(r, c, m, id=name) for name, r, c, m in BAD_ENVELOPES],
)
def test_malformed_envelopes_are_rejected_precisely(
    raw_value: bytes, error_class: str, mentions: str
) -> None:
    with pytest.raises(InvalidEvent) as rejected:
        platform_registry().parse(raw_value, topic="payment.received")
    assert rejected.value.error_class == error_class
    assert mentions in rejected.value.reason


def _with(event_type: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID_DATA[event_type])
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


BAD_PAYLOADS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "reminder level 0",
        "reminder.created",
        _with("reminder.created", reminder_level=0),
        "data.reminder_level",
    ),
    (
        "reminder level 4",
        "reminder.created",
        _with("reminder.created", reminder_level=4),
        "data.reminder_level",
    ),
    (
        "reminder level as text",
        "reminder.created",
        _with("reminder.created", reminder_level="2"),
        "data.reminder_level",
    ),
    (
        "due date garbage",
        "reminder.created",
        _with("reminder.created", due_date="soon"),
        "data.due_date",
    ),
    (
        "amount as float",
        "reminder.created",
        _with("reminder.created", amount_due={"amount": 12.5, "currency": "EUR"}),
        "data.amount_due.amount",
    ),
    (
        "amount with comma",
        "subscription.invoiced",
        _with("subscription.invoiced", total={"amount": "12,50", "currency": "EUR"}),
        "data.total.amount",
    ),
    (
        "currency lower case",
        "subscription.invoiced",
        _with("subscription.invoiced", total={"amount": "12.50", "currency": "eur"}),
        "data.total.currency",
    ),
    (
        "negative amount",
        "payment.received",
        _with("payment.received", amount={"amount": "-5", "currency": "EUR"}),
        "data.amount.amount",
    ),
    (
        "payment status unknown",
        "payment.received",
        _with("payment.received", status="most"),
        "data.status",
    ),
    (
        "customer missing",
        "payment.received",
        _with("payment.received", customer_name=...),
        "data.customer_name",
    ),
    (
        "customer blank",
        "payment.received",
        _with("payment.received", customer_name="   "),
        "data.customer_name",
    ),
    (
        "document type unknown",
        "peppol.failed",
        _with("peppol.failed", document_type="quote"),
        "data.document_type",
    ),
    ("reason empty", "peppol.failed", _with("peppol.failed", reason=""), "data.reason"),
    (
        "signed_at naive",
        "offer.signed",
        _with("offer.signed", signed_at="2026-11-27T16:02:11"),
        "data.signed_at",
    ),
    ("channel unknown", "inbox.received", _with("inbox.received", channel="fax"), "data.channel"),
    (
        "recipient not an address",
        "mail.failed",
        _with("mail.failed", recipient_email="nobody"),
        "data.recipient_email",
    ),
    (
        "invoice id a number",
        "payment.received",
        _with("payment.received", invoice_id=17),
        "data.invoice_id",
    ),
]


@pytest.mark.parametrize(
    ("event_type", "data", "location"),
    [pytest.param(t, d, loc, id=name) for name, t, d, loc in BAD_PAYLOADS],
)
def test_malformed_payloads_name_the_offending_field(
    event_type: str, data: dict[str, Any], location: str
) -> None:
    with pytest.raises(InvalidEvent) as rejected:
        platform_registry().parse(raw(envelope(event_type, data)), topic=event_type)
    assert rejected.value.error_class == "validation_error"
    assert rejected.value.reason.startswith(location + ":") or f"; {location}:" in (
        rejected.value.reason
    )


def test_an_event_on_the_wrong_topic_is_rejected() -> None:
    with pytest.raises(InvalidEvent) as rejected:
        platform_registry().parse(raw(envelope("payment.received")), topic="mail.failed")
    assert rejected.value.error_class == "topic_mismatch"


def test_mail_failed_document_fields_are_optional() -> None:
    data = _with("mail.failed", document_id="doc-9", document_number="F2026-0099")
    event = platform_registry().parse(raw(envelope("mail.failed", data)), topic="mail.failed")
    assert event.data.document_number == "F2026-0099"


def test_user_events_share_one_topic() -> None:
    registry = user_events_registry()
    event = registry.parse(
        raw(
            {
                **envelope("payment.received"),
                "type": "user.language_changed",
                "user_id": USER,
                "data": {"language": "nl"},
            }
        ),
        topic="auth.users",
    )
    assert event.data.language == "nl"
    with pytest.raises(InvalidEvent):
        registry.parse(
            raw(
                {
                    **envelope("payment.received"),
                    "type": "user.language_changed",
                    "data": {"language": "es"},
                }
            ),
            topic="auth.users",
        )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(value: bytes) -> None:
    try:
        platform_registry().parse(value, topic="payment.received")
    except InvalidEvent as rejected:
        assert rejected.error_class
        assert rejected.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    event_type=st.sampled_from(sorted(VALID_DATA)),
    field=st.sampled_from(["event_id", "version", "occurred_at", "organization_id", "data"]),
    value=json_values,
)
def test_any_mangled_envelope_field_is_valid_or_rejected_cleanly(
    event_type: str, field: str, value: Any
) -> None:
    event = envelope(event_type)
    event[field] = value
    try:
        platform_registry().parse(raw(event), topic=event_type)
    except InvalidEvent as rejected:
        assert rejected.error_class in {"validation_error", "unsupported_version"}


@settings(max_examples=200, deadline=None)
@given(
    event_type=st.sampled_from(sorted(VALID_DATA)),
    extras=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in VALID_DATA["mail.failed"]),
        json_values,
        max_size=5,
    ),
)
def test_extra_payload_fields_never_break_a_valid_event(
    event_type: str, extras: dict[str, Any]
) -> None:
    data = copy.deepcopy(VALID_DATA[event_type])
    for key, value in extras.items():
        data.setdefault(key, value)
    parsed = platform_registry().parse(raw(envelope(event_type, data)), topic=event_type)
    assert parsed.type == event_type


def test_user_created_no_longer_carries_the_email_and_old_records_still_parse() -> None:
    """auth.users is kept forever and no consumer needs the address: it is not published any
    more; records published with it (version 1 as before) are still accepted."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from services.auth.domain import User
    from services.auth.platform import events

    now = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    user = User(
        id=uuid4(),
        organization_id=uuid4(),
        organization_name="Demo",
        email="alice@example.be",
        role="member",
        language="nl",
        active=True,
        password_hash="x",
        password_score=4,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
        last_login_at=None,
    )
    document = events.envelope(user, events.user_created(user), now)
    assert document["type"] == "user.created"
    assert document["version"] == 1
    assert "email" not in document["data"]
    assert "alice@example.be" not in json.dumps(document)
    registry = user_events_registry()
    assert registry.parse(json.dumps(document).encode()).data.language == "nl"
    older = copy.deepcopy(document)
    older["data"]["email"] = "alice@example.be"
    assert registry.parse(json.dumps(older).encode()).data.role == "member"
