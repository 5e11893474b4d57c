"""The published JSON Schemas match the models, and the topic manifest matches the contract."""

from __future__ import annotations

from shared.events.export import SCHEMA_DIR, rendered_schemas
from shared.topics import DEAD_LETTER_TOPIC, PLATFORM_TOPICS, TOPICS


def test_committed_json_schemas_are_current() -> None:
    expected = rendered_schemas()
    on_disk = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk == expected, "run `make schemas` and commit the result"


def test_schema_of_a_payload_names_its_required_fields() -> None:
    import json

    schema = json.loads(rendered_schemas()["payment.received.v1.json"])
    assert set(schema["required"]) >= {"event_id", "type", "version", "occurred_at", "data"}


def test_manifest_has_the_contract_topics_with_three_partitions() -> None:
    assert PLATFORM_TOPICS == (
        "reminder.created",
        "subscription.invoiced",
        "payment.received",
        "peppol.failed",
        "offer.signed",
        "inbox.received",
        "mail.failed",
    )
    names = [t.name for t in TOPICS]
    assert DEAD_LETTER_TOPIC in names
    assert "sms.requested" in names
    assert len(names) == len(set(names))
    assert all(t.partitions == 3 for t in TOPICS)


def test_every_example_payload_is_valid_for_its_topic() -> None:
    import json

    from shared.events import platform_registry
    from shared.events.examples import EXAMPLE_DATA

    assert set(EXAMPLE_DATA) == set(PLATFORM_TOPICS)
    for topic, data in EXAMPLE_DATA.items():
        raw = json.dumps(
            {
                "event_id": "0b8f8e8e-3c0e-4a53-9d1c-6a1f0c1e2b3a",
                "type": topic,
                "version": 1,
                "occurred_at": "2026-11-28T09:15:00Z",
                "organization_id": "6c1f2a9e-0b5d-4c1e-9a57-3f1b2c3d4e5f",
                "data": data,
            }
        ).encode()
        assert platform_registry().parse(raw, topic=topic).type == topic
