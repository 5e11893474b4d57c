"""The AsyncAPI 3.0 document of the topics the auth service publishes, generated from the same
pydantic models the events are built and parsed with, so it cannot drift from the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel

from services.auth.two_factor.sms import SmsRequested
from shared.events.registry import user_events_registry
from shared.events.user_events import USER_EVENT_PAYLOADS
from shared.topics import SMS_REQUESTED_TOPIC, USER_EVENTS_TOPIC

_REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class MessageSpec:
    name: str
    summary: str
    model: type[BaseModel]
    constants: dict[str, Any] = field(default_factory=dict)
    """Fields with one possible value in this message (its `type` and `version`)."""


@dataclass(frozen=True)
class PublishedTopic:
    channel_id: str
    address: str
    description: str
    key: str
    messages: tuple[MessageSpec, ...]


def _user_event_messages() -> tuple[MessageSpec, ...]:
    registry = user_events_registry()
    specs = []
    for payload in USER_EVENT_PAYLOADS:
        type_name: str = payload.type_name  # type: ignore[attr-defined]
        specs.append(
            MessageSpec(
                name=payload.__name__,
                summary=(payload.__doc__ or type_name).strip().splitlines()[0],
                model=registry.envelope_model(type_name, 1),
                constants={"type": type_name, "version": 1},
            )
        )
    return tuple(specs)


def published_topics() -> tuple[PublishedTopic, ...]:
    return (
        PublishedTopic(
            channel_id="authUsers",
            address=USER_EVENTS_TOPIC,
            description=(
                "What other services need to know about users: created, language changed, "
                "deactivated, password changed, and security events (2FA on or off, recovery codes "
                "regenerated or used, suspicious codes, a sign-in from a new device). Published "
                "through the "
                "auth service's transactional outbox: at least once (deduplicate by "
                "`event_id`), in order per user."
            ),
            key=(
                "The organisation id (UTF-8), as for every producer; a user never changes "
                "organisation, so each user's events stay in order."
            ),
            messages=_user_event_messages(),
        ),
        PublishedTopic(
            channel_id="smsRequested",
            address=SMS_REQUESTED_TOPIC,
            description=(
                "SMS the platform's gateway must send (phone confirmation codes). Published "
                "through the outbox, at least once (deduplicate by `event_id`). The text "
                "contains a code: keep retention short."
            ),
            key="The organisation id (UTF-8).",
            messages=(
                MessageSpec(
                    name="SmsRequested",
                    summary="An SMS to send, its text in the user's language.",
                    model=SmsRequested,
                ),
            ),
        ),
    )


def _message(spec: MessageSpec, key: str, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = spec.model.model_json_schema(ref_template=_REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    for name, value in spec.constants.items():
        schema["properties"][name] = {**schema["properties"][name], "const": value}
    return {
        "name": spec.name,
        "title": spec.name,
        "summary": spec.summary,
        "contentType": "application/json",
        "payload": schema,
        "bindings": {"kafka": {"key": {"type": "string", "description": key}}},
    }


@cache
def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in published_topics():
        refs = {}
        for spec in topic.messages:
            messages[spec.name] = _message(spec, topic.key, schemas)
            refs[spec.name] = {"$ref": f"#/components/messages/{spec.name}"}
        channels[topic.channel_id] = {
            "address": topic.address,
            "description": topic.description,
            "messages": refs,
        }
        operations[f"publish{topic.channel_id[0].upper()}{topic.channel_id[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic.channel_id}"},
            "messages": [
                {"$ref": f"#/channels/{topic.channel_id}/messages/{name}"} for name in refs
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Clochette auth service events",
            "version": "1.0.0",
            "description": (
                "Kafka topics the auth service publishes. Every event has the envelope "
                "`{event_id, type, version, occurred_at, organization_id, user_id, data}`; "
                "unknown fields must be ignored by consumers."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
