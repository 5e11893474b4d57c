"""Parsing raw Kafka record values into typed events, with a precise reason when they are bad."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel, ValidationError, create_model

from shared.events.models import PLATFORM_PAYLOADS, Envelope

P = TypeVar("P", bound=BaseModel)


class InvalidEvent(Exception):
    """A record that can never be processed; it belongs in the dead-letter topic."""

    def __init__(self, error_class: str, reason: str) -> None:
        super().__init__(f"{error_class}: {reason}")
        self.error_class = error_class
        self.reason = reason


@dataclass(frozen=True)
class Event(Generic[P]):
    """A validated event: the envelope's fields and the typed payload."""

    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    organization_id: UUID
    user_id: UUID | None
    data: P


class EventRegistry:
    """Which (type, version) pairs a consumer understands, and the model of each."""

    def __init__(self) -> None:
        self._envelopes: dict[tuple[str, int], type[BaseModel]] = {}
        self._payloads: dict[tuple[str, int], type[BaseModel]] = {}
        self._topics: dict[str, str] = {}

    def _topic_of(self, event_type: str) -> str:
        return self._topics.get(event_type, event_type)

    def register(
        self, event_type: str, version: int, payload: type[BaseModel], *, topic: str | None = None
    ) -> None:
        """Accept `event_type` at `version`; its topic is the type's name unless given."""
        self._topics[event_type] = topic or event_type
        envelope = create_model(
            f"{payload.__name__}V{version}Envelope",
            __base__=Envelope,
            data=(payload, ...),
        )
        self._envelopes[(event_type, version)] = envelope
        self._payloads[(event_type, version)] = payload

    @property
    def types(self) -> list[str]:
        return sorted({event_type for event_type, _ in self._payloads})

    def envelope_model(self, event_type: str, version: int) -> type[BaseModel]:
        return self._envelopes[(event_type, version)]

    def parse(self, raw: bytes | None, topic: str | None = None) -> Event[Any]:
        """Validate one record value; raises InvalidEvent saying exactly what is wrong."""
        if raw is None:
            raise InvalidEvent("empty_record", "the record has no value")
        try:
            document = json.loads(raw)
        except RecursionError:
            # e.g. 10,000 levels of `[`: the stdlib parser recurses once per level
            raise InvalidEvent("not_json", "the value nests JSON too deeply") from None
        except ValueError as exc:
            # JSONDecodeError and UnicodeDecodeError, but also an integer literal longer than
            # Python's int/str conversion limit (4300 digits), which json.loads refuses
            raise InvalidEvent("not_json", f"the value is not UTF-8 JSON: {exc}") from None
        if not isinstance(document, dict):
            raise InvalidEvent("not_an_object", "the value is JSON but not an object")
        event_type, version = document.get("type"), document.get("version")
        if not isinstance(event_type, str):
            raise InvalidEvent("validation_error", "type: a string is required")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidEvent("validation_error", "version: an integer is required")
        known = sorted(v for t, v in self._envelopes if t == event_type)
        if not known:
            raise InvalidEvent("unknown_type", f"type {event_type!r} is not a known event type")
        if version not in known:
            raise InvalidEvent(
                "unsupported_version",
                f"{event_type} version {version} is not supported (supported: {known})",
            )
        if topic is not None and self._topic_of(event_type) != topic:
            raise InvalidEvent("topic_mismatch", f"type {event_type!r} arrived on topic {topic!r}")
        try:
            model = self._envelopes[(event_type, version)].model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent("validation_error", describe_validation_error(exc)) from None
        fields = cast(dict[str, Any], dict(model))
        return Event(
            event_id=fields["event_id"],
            type=event_type,
            version=version,
            occurred_at=fields["occurred_at"],
            organization_id=fields["organization_id"],
            user_id=fields["user_id"],
            data=fields["data"],
        )

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """One JSON Schema (draft 2020-12) per `type@version`, for docs and producers."""
        return {
            f"{event_type}@{version}": model.model_json_schema()
            for (event_type, version), model in sorted(self._envelopes.items())
        }


def describe_validation_error(exc: ValidationError) -> str:
    """`data.amount.currency: String should match pattern …; …` — short and precise."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def platform_registry() -> EventRegistry:
    """The seven platform topics the notifier consumes, all at version 1."""
    registry = EventRegistry()
    for payload in PLATFORM_PAYLOADS:
        registry.register(payload.topic, 1, payload)  # type: ignore[attr-defined]
    return registry


def user_events_registry() -> EventRegistry:
    """The auth service's user events on `auth.users`, all at version 1."""
    from shared.events.user_events import USER_EVENT_PAYLOADS
    from shared.topics import USER_EVENTS_TOPIC

    registry = EventRegistry()
    for payload in USER_EVENT_PAYLOADS:
        registry.register(payload.type_name, 1, payload, topic=USER_EVENTS_TOPIC)  # type: ignore[attr-defined]
    return registry
