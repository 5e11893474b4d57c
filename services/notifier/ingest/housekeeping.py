"""Housekeeping of the ingest's own data: remembered broadcasts and provisional recipients that
were never confirmed by a user event are forgotten after their retention."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.notifier.ingest.sql import DELETE_NOTIFICATIONS_OF
from services.notifier.settings import NotifierSettings
from shared.db import Connection, UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)

PURGE_BROADCASTS = """
DELETE FROM broadcasts WHERE stored_at < now() - make_interval(days => $1)
"""

PURGE_PROVISIONAL_RECIPIENTS = """
DELETE FROM recipients
WHERE provisional AND updated_at < now() - make_interval(days => $1)
RETURNING user_id
"""


async def purge_expired(
    pool: asyncpg.Pool[Any], broadcast_days: int, provisional_days: int
) -> tuple[int, int]:
    """Forget broadcasts and never-confirmed provisional users past their retention: how many
    of each. A purged recipient's notifications go in the same transaction (no foreign key
    cascades them)."""
    unit_of_work = UnitOfWork(pool)
    broadcasts = await unit_of_work.read(
        lambda conn: conn.execute(PURGE_BROADCASTS, broadcast_days)
    )

    async def purge_provisional(conn: Connection) -> int:
        purged = await conn.fetch(PURGE_PROVISIONAL_RECIPIENTS, provisional_days)
        if purged:
            await conn.execute(DELETE_NOTIFICATIONS_OF, [row[0] for row in purged])
        return len(purged)

    return _affected(broadcasts), await unit_of_work.run(purge_provisional)


class Housekeeping:
    """The periodic purge, with the retention of the settings."""

    def __init__(self, pool: asyncpg.Pool[Any], settings: NotifierSettings) -> None:
        self._pool = pool
        self._settings = settings

    async def run(self) -> None:
        broadcasts, provisional = await purge_expired(
            self._pool,
            self._settings.broadcast_retention_days,
            self._settings.provisional_retention_days,
        )
        if broadcasts or provisional:
            log.info("ingest_purged", broadcasts=broadcasts, provisional_recipients=provisional)


def _affected(status: str) -> int:
    """`DELETE 12` -> 12."""
    return int(status.rsplit(" ", 1)[-1])
