"""The bell API's reads and writes, each through the unit of work (SQL in sql.py).

Invariant shared with the ingest side: `recipients.unread_count` is the number of the user's
notifications with `read_at IS NULL`, and `recipients.version` moves whenever they change. Every
writer changes notifications and the recipient row in one transaction; each count update adds or
removes exactly the rows its own statement changed (lock order: see sql.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.notifier.api.cursors import PagePosition
from services.notifier.api.sql import (
    APPLY_PURGE_TO_RECIPIENTS,
    LOCK_RECIPIENTS,
    MARK_ALL_READ_UP_TO_NOW,
    MARK_READ,
    PAGE_QUERIES,
    PURGE_BATCH,
    RECIPIENT_STATE,
    RECIPIENT_STATES,
)
from shared.db import Connection, UnitOfWork


@dataclass(frozen=True)
class RecipientState:
    """The per-user row behind the badge."""

    unread_count: int
    version: int
    latest_created_at: datetime | None
    language: str
    # Created by the ingest for a user the auth service has not described yet: its language is
    # a placeholder, not the user's choice.
    provisional: bool


@dataclass(frozen=True)
class StoredNotification:
    id: UUID
    type: str
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class StoredPage:
    """A page of notifications and the recipient row, read from one snapshot."""

    recipient: RecipientState | None
    notifications: list[StoredNotification]


@dataclass(frozen=True)
class PurgedBatch:
    deleted: int
    unread_deleted: int


def _recipient(row: asyncpg.Record | None) -> RecipientState | None:
    if row is None:
        return None
    return RecipientState(
        unread_count=row["unread_count"],
        version=row["version"],
        latest_created_at=row["latest_created_at"],
        language=row["language"],
        provisional=row["provisional"],
    )


_Waiting: TypeAlias = "defaultdict[UUID, list[asyncio.Future[RecipientState | None]]]"


class _BadgeReads:
    """Coalesces concurrent badge reads into one primary-key query.

    Polls waiting for a connection are answered together by the next query that gets one, so
    under load the database sees one statement per batch instead of one per poll. Every
    answer still comes from a query sent after its poll arrived, so it reflects every change
    committed before the poll — the same guarantee as a read of its own.
    """

    def __init__(self, unit_of_work: UnitOfWork) -> None:
        self._unit_of_work = unit_of_work
        self._waiting: _Waiting = defaultdict(list)
        self._drain_pending = False
        self._drains: set[asyncio.Task[None]] = set()

    async def read(self, user_id: UUID) -> RecipientState | None:
        answer: asyncio.Future[RecipientState | None] = asyncio.get_running_loop().create_future()
        self._waiting[user_id].append(answer)
        if not self._drain_pending:
            self._drain_pending = True
            drain = asyncio.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await answer

    def _take_waiting(self) -> _Waiting:
        batch, self._waiting = self._waiting, defaultdict(list)
        self._drain_pending = False  # later polls start the next drain
        return batch

    async def _drain(self) -> None:
        batch: _Waiting | None = None

        async def read(conn: Connection) -> tuple[_Waiting, list[asyncpg.Record]]:
            nonlocal batch
            # Taken only once a connection is ours: every poll that queued meanwhile rides along.
            batch = taken = self._take_waiting()
            return taken, await conn.fetch(RECIPIENT_STATES, list(taken))

        try:
            answered, rows = await self._unit_of_work.read(read)
        except BaseException as exc:
            # Each poll of the batch fails as its own read would have.
            for answers in (batch if batch is not None else self._take_waiting()).values():
                for answer in answers:
                    if answer.done():
                        continue
                    if isinstance(exc, Exception):
                        answer.set_exception(exc)
                    else:
                        answer.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        found = {row["user_id"]: _recipient(row) for row in rows}
        for user_id, answers in answered.items():
            for answer in answers:
                if not answer.done():  # its request may have been cancelled meanwhile
                    answer.set_result(found.get(user_id))


class NotificationRepository:
    """Reads and changes a user's notifications, keeping the recipient row in step."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._unit_of_work = UnitOfWork(pool)
        self._badges = _BadgeReads(self._unit_of_work)

    async def recipient_state(self, user_id: UUID) -> RecipientState | None:
        """The badge state: a primary-key read (shared with concurrent polls), never a count
        over notifications."""
        return await self._badges.read(user_id)

    async def page(
        self, user_id: UUID, *, unread_only: bool, after: PagePosition | None, limit: int
    ) -> StoredPage:
        """Up to `limit` notifications newest first, strictly after `after`, with the recipient
        row from the same snapshot so the count always matches the list."""
        query = PAGE_QUERIES[(unread_only, after is not None)]
        args: tuple[Any, ...] = (user_id, limit)
        if after is not None:
            args = (*args, after.created_at, after.id)

        async def read(conn: Connection) -> tuple[RecipientState | None, list[asyncpg.Record]]:
            recipient = _recipient(await conn.fetchrow(RECIPIENT_STATE, user_id))
            return recipient, await conn.fetch(query, *args)

        recipient, rows = await self._unit_of_work.run(
            read, isolation="repeatable_read", readonly=True
        )
        return StoredPage(
            recipient=recipient,
            notifications=[
                StoredNotification(
                    id=row["id"],
                    type=row["type"],
                    params=row["params"],
                    created_at=row["created_at"],
                    read_at=row["read_at"],
                )
                for row in rows
            ],
        )

    async def mark_read(self, user_id: UUID, notification_id: UUID) -> tuple[bool, bool]:
        """(found, changed): whether the user has this notification, and whether it was unread."""

        async def run(conn: Connection) -> tuple[bool, bool]:
            row = await conn.fetchrow(MARK_READ, notification_id, user_id)
            if row is None:  # pragma: no cover - a SELECT without FROM yields one row
                raise RuntimeError("MARK_READ returned no row")
            return bool(row["found"]), bool(row["changed"])

        return await self._unit_of_work.run(run)

    async def mark_all_read_up_to_now(self, user_id: UUID) -> int:
        """Mark read everything the user had at the moment of the call; returns how many."""

        async def run(conn: Connection) -> int:
            marked = await conn.fetchval(MARK_ALL_READ_UP_TO_NOW, user_id)
            return int(marked or 0)

        return await self._unit_of_work.run(run)

    async def purge_created_before(self, cutoff: datetime, batch_size: int) -> PurgedBatch:
        """Delete one batch of notifications older than cutoff, fixing the recipients' counts."""

        async def run(conn: Connection) -> PurgedBatch:
            rows = await conn.fetch(PURGE_BATCH, cutoff, batch_size)
            if not rows:
                return PurgedBatch(deleted=0, unread_deleted=0)
            unread = Counter[UUID]()
            for row in rows:
                unread[row["user_id"]] += int(row["unread"])
            users = sorted(unread)
            await conn.execute(LOCK_RECIPIENTS, users)
            await conn.execute(APPLY_PURGE_TO_RECIPIENTS, users, [unread[user] for user in users])
            return PurgedBatch(deleted=len(rows), unread_deleted=sum(unread.values()))

        return await self._unit_of_work.run(run)
