"""All the SQL of the notifier's ingest, and how one batch is stored.

A batch is stored as: the projection of recipients first (when the batch has user events), then
every notification of the batch in one `INSERT … SELECT … FROM unnest(…) ON CONFLICT (event_id,
user_id) DO NOTHING` whose same statement raises the recipients' unread counts, versions and
`latest_created_at` by exactly the rows inserted — so the badge never drifts from the list and
the HTTP ETag moves with every change. Each step is idempotent; the consumer commits the Kafka
offsets only after the last one.

Large batches (a backlog, a burst) take the bulk path instead: one transaction that locks the
addressed recipients, resolves the targets in Python, writes the rows with COPY (PostgreSQL's
multi-insert path, about twice the rows per second of the statement above) and raises the
counters by exactly the rows written. Users the projection does not know yet are created
provisionally in that transaction, as the statement does. COPY has no ON CONFLICT: a redelivered
event fails it with a unique violation, which rolls back a savepoint; the rows already stored are
looked up and the rest copied, so redeliveries and unknown users keep the bulk path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

import asyncpg

from services.notifier.ids import NOTIFICATION_IDS
from services.notifier.ingest.batch import NotificationEvent, RecipientChange, copy_row
from services.notifier.ingest.sql import (
    ADD_PROVISIONAL_RECIPIENTS,
    CONFIRMED_ELSEWHERE,
    COPY_COLUMNS,
    DELETE_NOTIFICATIONS_OF,
    DROP_MISPLACED_PROVISIONAL,
    EXISTING_NOTIFICATIONS,
    INSERT_NOTIFICATIONS,
    LOCK_RECIPIENTS,
    RAISE_UNREAD_COUNTS,
    REMEMBER_BROADCASTS,
    UPSERT_RECIPIENTS,
)
from services.notifier.ingest.targets import (
    Recipient,
    addressed_users,
    copy_rows,
    counter_raises,
    locked_recipients,
    raise_arguments,
    reachable,
    targets_of,
)
from shared.db import Connection, UnitOfWork

# Below this many events a batch is one statement (lowest latency at low traffic); from it on,
# the bulk path (highest throughput when there is a backlog).
DEFAULT_COPY_THRESHOLD: Final = 200


@dataclass
class StoreOutcome:
    """What one stored batch did, for metrics and logs."""

    notifications_inserted: int = 0
    users_notified: int = 0
    duplicate_events: set[UUID] = field(default_factory=set)
    unrouted_events: set[UUID] = field(default_factory=set)
    copied: bool = False  # written by the bulk (COPY) path
    # Changes refused because they move a confirmed recipient to another organisation; their
    # records go to the dead letters.
    moved_recipients: list[MovedRecipient] = field(default_factory=list)


@dataclass(frozen=True)
class MovedRecipient:
    """A refused change, and the organisation its recipient stays in."""

    change: RecipientChange
    organization_id: UUID


class IngestRepository:
    """Writes batches of the ingest into the notifier schema."""

    def __init__(
        self, pool: asyncpg.Pool[Any], *, copy_threshold: int = DEFAULT_COPY_THRESHOLD
    ) -> None:
        self._unit_of_work = UnitOfWork(pool)
        self._copy_threshold = copy_threshold
        self._ids = NOTIFICATION_IDS

    async def store(
        self, events: Sequence[NotificationEvent], changes: Sequence[RecipientChange]
    ) -> StoreOutcome:
        """Store one batch; raises asyncpg/OS errors untouched for the caller to classify.

        Usually one statement (its own transaction). Every step is idempotent and the offsets
        are committed only after the last one, so a crash between steps only replays them.
        Each step is a unit of work, run again by it after a deadlock or serialization failure:
        every step's work starts from its arguments alone (nothing it mutates outlives an
        attempt), so running it again is exactly as correct as running it once.
        """
        moved: list[MovedRecipient] = []
        if changes:
            moved = await self._unit_of_work.run(lambda conn: self._apply_changes(conn, changes))
        refused = {m.change.user_id for m in moved}
        new_members = [c.user_id for c in changes if c.member_since and c.user_id not in refused]
        if not new_members and events and len(events) >= self._copy_threshold:
            outcome = await self._unit_of_work.run(lambda conn: self._copy_in(conn, events))
        elif not events and not new_members:
            outcome = StoreOutcome()
        else:
            outcome = await self._unit_of_work.run(
                lambda conn: self._insert(conn, events, new_members)
            )
        outcome.moved_recipients = moved
        return outcome

    async def _copy_in(self, conn: Connection, events: Sequence[NotificationEvent]) -> StoreOutcome:
        """Lock the recipients, COPY the rows, raise the counters: one transaction."""
        recipients = await self._lock_recipients(conn, events)
        unknown = addressed_users(events) - recipients.keys()
        if unknown:
            recipients |= await self._add_provisional(conn, events, unknown)
        targets, unrouted = targets_of(events, recipients)
        duplicates: set[UUID] = set()
        if targets:
            targets, duplicates = await self._copy_rows(conn, targets)
        await self._remember_broadcasts(conn, events)
        per_user = counter_raises(targets, recipients)
        if per_user:
            await conn.execute(RAISE_UNREAD_COUNTS, *raise_arguments(per_user))
        return StoreOutcome(
            notifications_inserted=len(targets),
            users_notified=len(per_user),
            duplicate_events=duplicates,
            unrouted_events=unrouted,
            copied=True,
        )

    async def _add_provisional(
        self, conn: Connection, events: Sequence[NotificationEvent], unknown: set[UUID]
    ) -> dict[UUID, Recipient]:
        """Create (as the statement path does) and lock the users no user event has announced
        yet. Another writer may have created one meanwhile: it is locked and read as it is."""
        waiting = sorted((e.user_id, e.organization_id) for e in events if e.user_id in unknown)
        await conn.execute(
            ADD_PROVISIONAL_RECIPIENTS, [u for u, _ in waiting], [o for _, o in waiting]
        )
        rows = await conn.fetch(LOCK_RECIPIENTS, list(unknown), [])
        return locked_recipients(rows)

    async def _copy_rows(
        self, conn: Connection, targets: list[tuple[UUID, NotificationEvent]]
    ) -> tuple[list[tuple[UUID, NotificationEvent]], set[UUID]]:
        """COPY the targets' rows; return the targets written and the events that were all
        there already. COPY has no ON CONFLICT: a redelivery fails it at the first existing
        row, so the savepoint is rolled back, the existing rows are looked up (the recipients'
        locks keep any other writer of these users out meanwhile) and the rest is copied."""
        try:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "notifications", records=copy_rows(targets, self._ids), columns=COPY_COLUMNS
                )
        except asyncpg.UniqueViolationError:
            pass
        else:
            return targets, set()
        existing = {
            (row[0], row[1])
            for row in await conn.fetch(
                EXISTING_NOTIFICATIONS, list({event.event_id for _, event in targets})
            )
        }
        fresh: list[tuple[UUID, NotificationEvent]] = []
        for user_id, event in targets:
            if (event.event_id, user_id) not in existing:
                existing.add((event.event_id, user_id))  # an event twice in a batch: once
                fresh.append((user_id, event))
        duplicates = {e.event_id for _, e in targets} - {e.event_id for _, e in fresh}
        if fresh:
            # Fresh ids: the first attempt's were rolled back with its rows, never seen.
            rows = [
                copy_row(next_id, u, e)
                for next_id, (u, e) in zip(self._ids.take(len(fresh)), fresh, strict=True)
            ]
            await conn.copy_records_to_table("notifications", records=rows, columns=COPY_COLUMNS)
        return fresh, duplicates

    async def _lock_recipients(
        self, conn: Connection, events: Sequence[NotificationEvent]
    ) -> dict[UUID, Recipient]:
        """Lock, in user_id order, every recipient the batch can reach; return them."""
        rows = await conn.fetch(LOCK_RECIPIENTS, *reachable(events, ()))
        return locked_recipients(rows)

    async def _remember_broadcasts(
        self, conn: Connection, events: Sequence[NotificationEvent]
    ) -> None:
        broadcasts = [e for e in events if e.user_id is None]
        if broadcasts:
            await conn.execute(
                REMEMBER_BROADCASTS,
                [e.event_id for e in broadcasts],
                [e.organization_id for e in broadcasts],
                [e.type for e in broadcasts],
                [e.params_json for e in broadcasts],
                [e.occurred_at for e in broadcasts],
                [e.category for e in broadcasts],
            )

    async def _apply_changes(
        self, conn: Connection, changes: Sequence[RecipientChange]
    ) -> list[MovedRecipient]:
        """Apply the changes but those that move a confirmed recipient elsewhere (returned)."""
        elsewhere = {
            row[0]: row[1]
            for row in await conn.fetch(
                CONFIRMED_ELSEWHERE,
                [c.user_id for c in changes],
                [c.organization_id for c in changes],
            )
        }
        moved = [MovedRecipient(c, elsewhere[c.user_id]) for c in changes if c.user_id in elsewhere]
        changes = [c for c in changes if c.user_id not in elsewhere]
        if not changes:
            return moved
        users = [c.user_id for c in changes]
        organizations = [c.organization_id for c in changes]
        dropped = await conn.fetch(DROP_MISPLACED_PROVISIONAL, users, organizations)
        if dropped:
            await conn.execute(DELETE_NOTIFICATIONS_OF, [row[0] for row in dropped])
        await conn.execute(
            UPSERT_RECIPIENTS,
            users,
            organizations,
            [c.language for c in changes],
            [c.active for c in changes],
            [c.member_since for c in changes],
        )
        return moved

    async def _insert(
        self,
        conn: Connection,
        events: Sequence[NotificationEvent],
        new_members: list[UUID],
    ) -> StoreOutcome:
        """The statement path, inside the unit of work's transaction."""
        outcome = StoreOutcome()
        per_user: dict[UUID, int] = {}
        # Every writer locks the recipients it may reach first, in one order, before it writes
        # a row: writers of the same users queue, whichever path they take.
        await conn.execute(LOCK_RECIPIENTS, *reachable(events, new_members))
        unknown = await self._insert_notifications(conn, events, new_members, per_user, outcome)
        if unknown:
            # Rare: users no user event has announced yet. Create them provisionally, then
            # store their events (a new statement, so it sees the new rows).
            waiting = [e for e in events if e.event_id in unknown]
            await conn.execute(
                ADD_PROVISIONAL_RECIPIENTS,
                [e.user_id for e in waiting],
                [e.organization_id for e in waiting],
            )
            await self._insert_notifications(conn, waiting, [], per_user, outcome)
        outcome.users_notified = len(per_user)
        outcome.notifications_inserted = sum(per_user.values())
        return outcome

    async def _insert_notifications(
        self,
        conn: Connection,
        events: Sequence[NotificationEvent],
        new_members: list[UUID],
        per_user: dict[UUID, int],
        outcome: StoreOutcome,
    ) -> set[UUID]:
        """Run INSERT_NOTIFICATIONS; add to `per_user` and `outcome`; return the events whose
        user the projection does not know."""
        rows = await conn.fetch(
            INSERT_NOTIFICATIONS,
            [e.event_id for e in events],
            [e.organization_id for e in events],
            [e.user_id for e in events],
            [e.type for e in events],
            [e.params_json for e in events],
            # only organisation-wide events use it; None is cheaper to encode than a datetime
            [e.occurred_at if e.user_id is None else None for e in events],
            new_members,
            [e.category for e in events],
        )
        unknown: set[UUID] = set()
        unrouted: set[UUID] = set()
        for kind, identifier, count in rows:
            if kind == "inserted":
                per_user[identifier] = per_user.get(identifier, 0) + count
            elif kind == "duplicate":
                outcome.duplicate_events.add(identifier)
            elif kind == "unknown_user":
                unknown.add(identifier)
            else:
                unrouted.add(identifier)
        outcome.unrouted_events |= unrouted - unknown
        return unknown
