"""The AsyncAPI 3.0 document of every topic the notifier reads and writes, generated from the
same pydantic models that validate the records (shared.events registries), served at
`GET /asyncapi.json`.

FastStream derives AsyncAPI from handler signatures; the notifier's records are read by a
hand-driven consumer (see consumer.py), so the document is built here from the registries, which
are the single source of truth for the payloads.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, get
from litestar.handlers import HTTPRouteHandler
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.notifier.ingest import dead_letter
from services.notifier.ingest.batch import SECURITY_NOTIFICATION_TYPES
from services.notifier.settings import IngestTopics
from shared.events.registry import EventRegistry, platform_registry, user_events_registry
from shared.topics import PLATFORM_TOPICS, TOPICS, USER_EVENTS_TOPIC

KAFKA_BINDING_VERSION = "0.5.0"
_SCHEMA_REF = "#/components/schemas/{model}"

_DEAD_LETTER_HEADERS: dict[str, str] = {
    dead_letter.HEADER_TOPIC: "topic the record was read from",
    dead_letter.HEADER_PARTITION: "its partition",
    dead_letter.HEADER_OFFSET: "its offset",
    dead_letter.HEADER_TIMESTAMP: "its timestamp (ms since the epoch)",
    dead_letter.HEADER_ERROR_CLASS: "not_json, not_an_object, empty_record, unknown_type, "
    "unsupported_version, topic_mismatch, validation_error or storage_rejected",
    dead_letter.HEADER_REASON: "what exactly is wrong, e.g. the failing field",
    dead_letter.HEADER_GROUP: "consumer group that refused it",
    dead_letter.HEADER_DEAD_LETTERED_AT: "ISO 8601 time it was dead-lettered",
}


def asyncapi_document(topics: IngestTopics, group: str, servers: str) -> dict[str, Any]:
    """The whole document (a plain JSON-able dict)."""
    platform, users = platform_registry(), user_events_registry()
    models: list[tuple[str, str, type[BaseModel]]] = [
        (event_type, f"{event_type}.v{version}", registry.envelope_model(event_type, version))
        for registry in (platform, users)
        for event_type, version in _versions(registry)
    ]
    refs, definitions = models_json_schema(
        [(model, "validation") for _, _, model in models], ref_template=_SCHEMA_REF
    )
    messages: dict[str, Any] = {}
    by_topic: dict[str, list[str]] = {}
    for event_type, name, model in models:
        topic = USER_EVENTS_TOPIC if event_type in users.types else event_type
        by_topic.setdefault(topic, []).append(name)
        messages[name] = {
            "name": name,
            "title": event_type,
            "summary": (model.model_fields["data"].annotation.__doc__ or "").strip(),
            "contentType": "application/json",
            "payload": refs[(model, "validation")],
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "format": "uuid",
                        "description": "user_id"
                        if topic == USER_EVENTS_TOPIC
                        else "organization_id",
                    },
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
    messages["dead_letter"] = {
        "name": "dead_letter",
        "title": "dead letter",
        "summary": "A record the notifier can never process: its original value and key.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": text}
                for name, text in _DEAD_LETTER_HEADERS.items()
            },
            "required": list(_DEAD_LETTER_HEADERS),
        },
        "payload": {"type": "string", "description": "the original record value, unchanged"},
    }
    partitions = {spec.name: spec.partitions for spec in TOPICS}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for logical in (*PLATFORM_TOPICS, USER_EVENTS_TOPIC):
        address = topics.prefix + logical
        channels[logical] = _channel(address, by_topic.get(logical, []), partitions.get(logical))
        operations[f"receive:{logical}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{_escape(logical)}"},
            "summary": _receive_summary(logical),
            "messages": [
                {"$ref": f"#/channels/{_escape(logical)}/messages/{_escape(name)}"}
                for name in by_topic.get(logical, [])
            ],
            "bindings": {
                "kafka": {
                    "groupId": {"type": "string", "enum": [group]},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
    dead_letter_topic = topics.dead_letter
    logical_dlq = topics.logical(dead_letter_topic)
    channels[logical_dlq] = _channel(
        dead_letter_topic, ["dead_letter"], partitions.get(logical_dlq)
    )
    operations[f"send:{logical_dlq}"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{_escape(logical_dlq)}"},
        "summary": "Dead-letter a record that is not JSON, has an unknown type or version, fails "
        "validation, arrived on the wrong topic or was refused by PostgreSQL; its offset is "
        "committed only after the dead letter was acknowledged.",
        "messages": [{"$ref": f"#/channels/{_escape(logical_dlq)}/messages/dead_letter"}],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Clochette notifier",
            "version": "1.0.0",
            "description": "Platform events and the auth service's user events become per-user "
            "notifications. One event per record, JSON, UTF-8; `type` names the event, "
            "`event_id` makes delivery idempotent. Security events stored in the bell: "
            + ", ".join(f"{k} -> {v}" for k, v in SECURITY_NOTIFICATION_TYPES.items())
            + ".",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": servers,
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS of this notifier",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": definitions.get("$defs", {})},
    }


def _versions(registry: EventRegistry) -> list[tuple[str, int]]:
    """Every (type, version) the registry accepts (its schema keys are `type@version`)."""
    pairs = (key.rsplit("@", 1) for key in registry.json_schemas())
    return [(event_type, int(version)) for event_type, version in pairs]


def _channel(address: str, message_names: list[str], partitions: int | None) -> dict[str, Any]:
    binding: dict[str, Any] = {"topic": address, "bindingVersion": KAFKA_BINDING_VERSION}
    if partitions:
        binding["partitions"] = partitions
    return {
        "address": address,
        "messages": {
            name: {"$ref": f"#/components/messages/{_escape(name)}"} for name in message_names
        },
        "bindings": {"kafka": binding},
    }


def _receive_summary(logical: str) -> str:
    if logical == USER_EVENTS_TOPIC:
        return (
            "Keeps the notifier's projection of users (organisation, language, active); "
            "security events also become notifications in the user's bell."
        )
    return (
        "Becomes a notification for `user_id`, or for every active member of the "
        "organisation when it is null; stored exactly once per (event_id, user)."
    )


def _escape(name: str) -> str:
    """JSON Pointer escaping for a key used in a `$ref`."""
    return name.replace("~", "~0").replace("/", "~1")


def asyncapi_route(topics: IngestTopics, group: str, servers: str) -> HTTPRouteHandler:
    """`GET /asyncapi.json`: the document, built once."""
    document = asyncapi_document(topics, group, servers)

    @get(
        "/asyncapi.json",
        media_type=MediaType.JSON,
        tags=["documentation"],
        summary="AsyncAPI 3.0 document of the topics the notifier reads and writes",
        sync_to_thread=False,
    )
    def asyncapi() -> dict[str, Any]:
        return document

    return asyncapi
