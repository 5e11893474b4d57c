"""Who gets each event of a batch on the bulk path: the same rules as the statement path's SQL
(`INSERT_NOTIFICATIONS`' `targets`), applied in Python to the recipients the batch locked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.notifier.ids import TimeOrderedIds
from services.notifier.ingest.batch import CopyRow, NotificationEvent, copy_row


@dataclass(slots=True)
class Recipient:
    """What the bulk path needs to know of a locked recipient."""

    organization_id: UUID
    active: bool
    provisional: bool
    member_since: datetime | None


def addressed_users(events: Sequence[NotificationEvent]) -> set[UUID]:
    return {e.user_id for e in events if e.user_id is not None}


def reachable(
    events: Sequence[NotificationEvent], new_members: Sequence[UUID]
) -> tuple[list[UUID], list[UUID]]:
    """LOCK_RECIPIENTS' parameters: the users named, and the organisations of broadcasts."""
    users = addressed_users(events) | set(new_members)
    return list(users), list({e.organization_id for e in events if e.user_id is None})


def targets_of(
    events: Sequence[NotificationEvent], recipients: dict[UUID, Recipient]
) -> tuple[list[tuple[UUID, NotificationEvent]], set[UUID]]:
    """Who gets each event — the same rules as INSERT_NOTIFICATIONS' `targets` — as (user, event)
    pairs; and the events that reach nobody. A batch never holds an event twice (the batch
    builder drops repeats; should one slip through, the redelivery fallback of _copy_rows
    writes it once)."""
    members: dict[UUID, list[tuple[UUID, datetime | None]]] = {}
    for user_id, recipient in recipients.items():
        if recipient.active and not recipient.provisional:
            members.setdefault(recipient.organization_id, []).append(
                (user_id, recipient.member_since)
            )
    targets: list[tuple[UUID, NotificationEvent]] = []
    unrouted: set[UUID] = set()
    for event in events:
        if event.user_id is not None:
            recipient = recipients[event.user_id]
            if recipient.active and recipient.organization_id == event.organization_id:
                targets.append((event.user_id, event))
                continue
        else:
            reached = [
                (user_id, event)
                for user_id, since in members.get(event.organization_id, ())
                if since is None or since <= event.occurred_at
            ]
            if reached:
                targets += reached
                continue
        unrouted.add(event.event_id)
    return targets, unrouted


def copy_rows(targets: list[tuple[UUID, NotificationEvent]], ids: TimeOrderedIds) -> list[CopyRow]:
    """The COPY rows: the one prepared at parse time for an event's own user, a new one (new id)
    for each member an organisation-wide event reaches."""
    prepared = [e.copy_row if e.user_id == user else None for user, e in targets]
    fresh = iter(ids.take(prepared.count(None)))
    return [
        row if row is not None else copy_row(next(fresh), user, event)
        for row, (user, event) in zip(prepared, targets, strict=True)
    ]
