"""Who gets each event of a batch on the bulk path: the same rules as the statement path's SQL
(`INSERT_NOTIFICATIONS`' `targets`), applied in Python to the recipients the batch locked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
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
    # the info items of these types count nothing (read from the locked row)
    muted_types: frozenset[str] = frozenset()


@dataclass(slots=True)
class CounterRaise:
    """What the new rows of one user add to its counters (RAISE_UNREAD_COUNTS' arguments)."""

    rows: int = 0  # every new row, visible or not
    visible: int = 0  # unread_count and unseen_count
    action: int = 0
    info: int = 0
    security: int = 0


def counter_raises(
    targets: list[tuple[UUID, NotificationEvent]], recipients: dict[UUID, Recipient]
) -> dict[UUID, CounterRaise]:
    """Per user, what the rows written add: a muted type's info rows are stored, not counted."""
    raises: dict[UUID, CounterRaise] = {}
    for user_id, event in targets:
        raised = raises.get(user_id)
        if raised is None:
            raised = raises[user_id] = CounterRaise()
        raised.rows += 1
        if event.category == "info" and event.type in recipients[user_id].muted_types:
            continue
        raised.visible += 1
        if event.category == "action":
            raised.action += 1
        elif event.category == "info":
            raised.info += 1
        else:
            raised.security += 1
    return raises


def raise_arguments(raises: dict[UUID, CounterRaise]) -> tuple[list[Any], ...]:
    """RAISE_UNREAD_COUNTS' arguments."""
    values = list(raises.values())
    return (
        list(raises),
        [r.visible for r in values],
        [r.action for r in values],
        [r.info for r in values],
        [r.security for r in values],
    )


def locked_recipients(rows: Sequence[Any]) -> dict[UUID, Recipient]:
    """LOCK_RECIPIENTS' rows, by user."""
    return {row[0]: Recipient(row[1], row[2], row[3], row[4], frozenset(row[5])) for row in rows}


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
