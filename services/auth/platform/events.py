"""User events (shared/events/user_events.py) in the contract's envelope, queued in the outbox of
the transaction that made the change. The relay publishes each record with the key stored in its
outbox row: the organisation id (contract section 6), so one organisation's events, and with
them each user's, share a partition and stay in order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.auth.domain import User
from services.auth.platform import outbox
from services.auth.platform.sql import Connection
from shared.events.user_events import (
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserPasswordChanged,
)
from shared.topics import USER_EVENTS_TOPIC

EVENT_VERSION = 1


def envelope(user: User, payload: BaseModel, now: datetime) -> dict[str, Any]:
    """The event as published: `{event_id, type, version, occurred_at, organization_id,
    user_id, data}`."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": type(payload).type_name,  # type: ignore[attr-defined]
        "version": EVENT_VERSION,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "organization_id": str(user.organization_id),
        "user_id": str(user.id),
        "data": payload.model_dump(mode="json"),
    }


async def publish_user_event(
    conn: Connection, user: User, payload: BaseModel, now: datetime
) -> dict[str, Any]:
    """Queue a user event in the caller's transaction; returns the envelope."""
    event = envelope(user, payload, now)
    # Keyed by organisation as the contract asks of every producer; a user never changes
    # organisation, so each user's events still share a partition and stay in order.
    await outbox.enqueue(conn, USER_EVENTS_TOPIC, str(user.organization_id), event, now)
    return event


def user_created(user: User) -> UserCreated:
    return UserCreated(role=user.role, language=user.language, active=True)


def language_changed(user: User) -> UserLanguageChanged:
    return UserLanguageChanged(language=user.language)


def deactivated() -> UserDeactivated:
    return UserDeactivated()


def password_changed() -> UserPasswordChanged:
    return UserPasswordChanged()
