"""The bell API's reads and writes, each through the unit of work (SQL in sql.py).

Invariant shared with the ingest side: every counter of the recipient row equals its list (the
visible items it counts, migration 0004), and `recipients.version` moves whenever any of them
changes. Every writer changes notifications and the recipient row in one transaction; each
counter moves by exactly the rows its own statement changed (lock order: see sql.py).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.notifier.api.cursors import PagePosition
from services.notifier.api.page_sql import PageFilter, page_arguments, page_query
from services.notifier.api.sql import (
    ARCHIVE,
    LOCK_OWNER,
    LOCK_RECIPIENTS,
    MARK_CATEGORY_CANDIDATES,
    MARK_GROUP_CANDIDATES,
    MARK_READ,
    MARK_READ_NAMED,
    MARK_SEEN,
    MARK_UNREAD,
    PURGE_BATCH,
    PURGE_CANDIDATES,
    READ_CANDIDATES,
    RECIPIENT_STATES,
    SEEN_CANDIDATES,
    UNARCHIVE,
)
from shared.db import Connection, UnitOfWork


@dataclass(frozen=True)
class RecipientState:
    """The per-user row behind the badge."""

    unread_count: int
    unseen_count: int
    unread_action: int
    unread_info: int
    unread_security: int
    muted_types: tuple[str, ...]
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
    category: str
    seen_at: datetime | None
    archived_at: datetime | None


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
        unseen_count=row["unseen_count"],
        unread_action=row["unread_action"],
        unread_info=row["unread_info"],
        unread_security=row["unread_security"],
        muted_types=tuple(row["muted_types"]),
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
        self, user_id: UUID, page_filter: PageFilter, *, after: PagePosition | None, limit: int
    ) -> StoredPage:
        """Up to `limit` visible notifications newest first, strictly after `after`, with the
        recipient row from the same snapshot so the counts always match the list (its muted
        types decide what the list leaves out)."""
        query = page_query(
            page_filter.status,
            page_filter.category is not None,
            page_filter.group is not None,
            after is not None,
        )
        extra = page_arguments(page_filter)
        if after is not None:
            extra = (*extra, after.created_at, after.id)

        # One statement (page_sql.py): the recipient row and the page from one snapshot, no
        # BEGIN/COMMIT round trips.
        rows = await self._unit_of_work.read(lambda conn: conn.fetch(query, user_id, limit, *extra))
        recipient = _recipient(rows[0]) if rows and rows[0]["version"] is not None else None
        return StoredPage(
            recipient=recipient,
            notifications=[
                StoredNotification(
                    id=row["id"],
                    type=row["type"],
                    params=row["params"],
                    created_at=row["created_at"],
                    read_at=row["read_at"],
                    category=row["category"],
                    seen_at=row["seen_at"],
                    archived_at=row["archived_at"],
                )
                for row in rows
                if row["id"] is not None
            ],
        )

    async def change_one(self, user_id: UUID, notification_id: UUID, change: str) -> bool:
        """Apply one of the single-item writers (read, unread, archive, unarchive) in the lock
        order: the recipient row, then the notification. False when the user has no such
        notification (idempotent otherwise)."""
        query = _SINGLE_ITEM[change]

        async def run(conn: Connection) -> bool:
            owner = await conn.fetchrow(LOCK_OWNER, user_id)
            if owner is None:  # no recipient row: no notification either
                return False
            row = await conn.fetchrow(query, notification_id, user_id, owner["muted_types"])
            if row is None:  # pragma: no cover - a SELECT without FROM yields one row
                raise RuntimeError("a single-item writer returned no row")
            return bool(row["found"])

        return await self._unit_of_work.run(run)

    async def mark_all_seen(self, user_id: UUID) -> int:
        """Mark seen everything the user had at the moment of the call; returns how many."""
        return await self._unit_of_work.run(
            lambda conn: _watermark(conn, SEEN_CANDIDATES, (user_id,), MARK_SEEN)
        )

    async def mark_all_read(
        self,
        user_id: UUID,
        *,
        category: str | None = None,
        group: tuple[str, datetime, datetime] | None = None,
    ) -> int:
        """Mark read the visible items the user had at the moment of the call, of one category
        or one group if asked; returns how many."""
        arguments: tuple[Any, ...]
        if category is not None:
            statement, arguments = MARK_CATEGORY_CANDIDATES, (user_id, category)
        elif group is not None:
            statement, arguments = MARK_GROUP_CANDIDATES, (user_id, *group)
        else:
            statement, arguments = READ_CANDIDATES, (user_id,)
        return await self._unit_of_work.run(
            lambda conn: _watermark(conn, statement, arguments, MARK_READ_NAMED)
        )

    async def purge_created_before(self, cutoff: datetime, batch_size: int) -> PurgedBatch:
        """Delete one batch of notifications older than cutoff, fixing the recipients' counters
        (lock order: the recipients first, see sql.py)."""

        async def run(conn: Connection) -> PurgedBatch:
            candidates = await conn.fetch(PURGE_CANDIDATES, cutoff, batch_size)
            if not candidates:
                return PurgedBatch(deleted=0, unread_deleted=0)
            users = sorted({row["user_id"] for row in candidates})
            locked = [row["user_id"] for row in await conn.fetch(LOCK_RECIPIENTS, users)]
            row = await conn.fetchrow(
                PURGE_BATCH, [row["id"] for row in candidates], cutoff, locked
            )
            if row is None:  # pragma: no cover - a SELECT without FROM yields one row
                raise RuntimeError("PURGE_BATCH returned no row")
            return PurgedBatch(deleted=row["deleted"], unread_deleted=row["unread"])

        return await self._unit_of_work.run(run)


_SINGLE_ITEM = {
    "read": MARK_READ,
    "unread": MARK_UNREAD,
    "archive": ARCHIVE,
    "unarchive": UNARCHIVE,
}


async def _watermark(
    conn: Connection, candidates: str, arguments: tuple[Any, ...], change: str
) -> int:
    """Name the rows of the moment of the call and take the lock, then change them (sql.py)."""
    ids = await conn.fetchval(candidates, *arguments)
    if not ids:  # nothing then, or no recipient row
        return 0
    return int(await conn.fetchval(change, arguments[0], ids) or 0)
