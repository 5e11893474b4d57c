"""The bell API's SQL, in one place.

Invariant shared with the ingest side: `recipients.unread_count` is the number of the user's
notifications with `read_at IS NULL`, and `recipients.version` moves whenever they change. Every
writer changes notifications and the recipient row in one transaction, and always in that
order — notification rows first, then the recipient row — so writers never deadlock on each
other (the ingest inserts, then updates the recipient row; the same order). The recipient row
lock serializes the count and version updates; each count update adds or removes exactly the
rows its own statement changed.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias, TypeVar
from uuid import UUID

import asyncpg

from services.notifier.api.cursors import PagePosition

T = TypeVar("T")
PoolConnection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[Any]"

# Deadlocks cannot arise between the bell's own statements, but the ingest's batches may lock
# recipient rows in another order than a purge batch; PostgreSQL then aborts one, which retries.
_RETRIES: Final = 3

RECIPIENT_STATE: Final = """
SELECT user_id, unread_count, version, latest_created_at, language, provisional
FROM recipients
WHERE user_id = $1
"""

# The badges of every poll waiting at that moment, by primary key.
RECIPIENT_STATES: Final = """
SELECT user_id, unread_count, version, latest_created_at, language, provisional
FROM recipients
WHERE user_id = ANY($1::uuid[])
"""

_PAGE_SELECT: Final = """
SELECT id, type, params, created_at, read_at
FROM notifications
WHERE user_id = $1
"""
_PAGE_AFTER: Final = "  AND (created_at, id) < ($3, $4)\n"
_PAGE_UNREAD: Final = "  AND read_at IS NULL\n"
_PAGE_ORDER: Final = "ORDER BY created_at DESC, id DESC\nLIMIT $2\n"

# One constant per shape, so each gets a plan that uses the right index (the partial index for
# unread pages) instead of a generic plan full of `$n IS NULL OR …`.
PAGE_QUERIES: Final = {
    (unread_only, after): _PAGE_SELECT
    + (_PAGE_UNREAD if unread_only else "")
    + (_PAGE_AFTER if after else "")
    + _PAGE_ORDER
    for unread_only in (False, True)
    for after in (False, True)
}

# One statement: the UPDATE's snapshot decides what is marked, and the recipient row follows
# by exactly the rows changed. `found` is read from the same snapshot, so an id that is not the
# caller's looks exactly like an id that does not exist.
MARK_READ: Final = """
WITH changed AS (
    UPDATE notifications SET read_at = now()
    WHERE id = $1 AND user_id = $2 AND read_at IS NULL
    RETURNING id
), counted AS (
    UPDATE recipients
    SET unread_count = unread_count - 1, version = version + 1, updated_at = now()
    WHERE user_id = $2 AND EXISTS (SELECT 1 FROM changed)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $1 AND user_id = $2) AS found,
       EXISTS (SELECT 1 FROM counted) AS changed
"""

# The watermark is now(): the start of this single-statement transaction, i.e. the moment of
# the call. The statement's snapshot is taken at that moment too, so a notification whose
# insert commits while this runs is invisible to it and stays unread — and the recipient row,
# locked after the UPDATE, then subtracts only what this statement marked.
MARK_ALL_READ_UP_TO_NOW: Final = """
WITH changed AS (
    UPDATE notifications SET read_at = now()
    WHERE user_id = $1 AND read_at IS NULL AND created_at <= now()
    RETURNING 1
), tally AS (
    SELECT count(*)::integer AS marked FROM changed
)
UPDATE recipients r
SET unread_count = r.unread_count - tally.marked, version = r.version + 1, updated_at = now()
FROM tally
WHERE r.user_id = $1 AND tally.marked > 0
RETURNING tally.marked
"""

# A small batch of the oldest rows; SKIP LOCKED so a purge never waits behind (or blocks) a user
# marking a notification read, and several notifier instances can purge side by side.
PURGE_BATCH: Final = """
DELETE FROM notifications
WHERE id IN (
    SELECT id FROM notifications
    WHERE created_at < $1
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING user_id, read_at IS NULL AS unread
"""

# Recipient rows are locked in user id order so two purge batches never deadlock.
LOCK_RECIPIENTS: Final = """
SELECT user_id FROM recipients WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR UPDATE
"""

APPLY_PURGE_TO_RECIPIENTS: Final = """
UPDATE recipients r
SET unread_count = r.unread_count - purged.unread, version = r.version + 1, updated_at = now()
FROM unnest($1::uuid[], $2::integer[]) AS purged (user_id, unread)
WHERE r.user_id = purged.user_id
"""


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

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
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
        try:
            async with self._pool.acquire() as conn:
                # Taken only once a connection is ours: every poll that queued meanwhile rides
                # along.
                batch = self._take_waiting()
                rows = await conn.fetch(RECIPIENT_STATES, list(batch))
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
        for user_id, answers in batch.items():
            for answer in answers:
                if not answer.done():  # its request may have been cancelled meanwhile
                    answer.set_result(found.get(user_id))


class NotificationRepository:
    """Reads and changes a user's notifications, keeping the recipient row in step."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
        self._badges = _BadgeReads(pool)

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
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            recipient = _recipient(await conn.fetchrow(RECIPIENT_STATE, user_id))
            rows = await conn.fetch(query, *args)
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

        async def run(conn: PoolConnection) -> tuple[bool, bool]:
            row = await conn.fetchrow(MARK_READ, notification_id, user_id)
            if row is None:  # pragma: no cover - a SELECT without FROM yields one row
                raise RuntimeError("MARK_READ returned no row")
            return bool(row["found"]), bool(row["changed"])

        return await self._write(run)

    async def mark_all_read_up_to_now(self, user_id: UUID) -> int:
        """Mark read everything the user had at the moment of the call; returns how many."""

        async def run(conn: PoolConnection) -> int:
            marked = await conn.fetchval(MARK_ALL_READ_UP_TO_NOW, user_id)
            return int(marked or 0)

        return await self._write(run)

    async def purge_created_before(self, cutoff: datetime, batch_size: int) -> PurgedBatch:
        """Delete one batch of notifications older than cutoff, fixing the recipients' counts."""

        async def run(conn: PoolConnection) -> PurgedBatch:
            async with conn.transaction():
                rows = await conn.fetch(PURGE_BATCH, cutoff, batch_size)
                if not rows:
                    return PurgedBatch(deleted=0, unread_deleted=0)
                unread = Counter[UUID]()
                for row in rows:
                    unread[row["user_id"]] += int(row["unread"])
                users = sorted(unread)
                await conn.execute(LOCK_RECIPIENTS, users)
                await conn.execute(
                    APPLY_PURGE_TO_RECIPIENTS, users, [unread[user] for user in users]
                )
            return PurgedBatch(deleted=len(rows), unread_deleted=sum(unread.values()))

        return await self._write(run)

    async def _write(self, run: Callable[[PoolConnection], Awaitable[T]]) -> T:
        for attempt in range(1, _RETRIES + 1):
            try:
                async with self._pool.acquire() as conn:
                    return await run(conn)
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                if attempt == _RETRIES:
                    raise
        raise AssertionError("unreachable")
