"""Retention: notifications older than the configured age are purged in small batches.

Each batch is its own short transaction over at most `batch_size` rows. It locks the owners'
recipient rows first (the bell's lock order, api/sql.py) and then the rows, both with SKIP LOCKED,
so a purge never holds long locks, never waits behind a user, and several notifier instances can
purge side by side. Every counter of the owners drops by the visible rows purged it counted, in
the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from services.notifier.api.repository import NotificationRepository
from shared.db import classify_database_error
from shared.logging import get_logger

log = get_logger(__name__)

DEFAULT_BATCH_SIZE: Final = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


class RetentionPurger:
    """Deletes notifications older than `max_age`; run `purge_expired` or `run_forever`."""

    def __init__(
        self,
        repository: NotificationRepository,
        *,
        max_age: timedelta,
        batch_size: int = DEFAULT_BATCH_SIZE,
        interval_seconds: float = 600.0,
        pause_between_batches_seconds: float = 0.05,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repository = repository
        self._max_age = max_age
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._pause = pause_between_batches_seconds
        self._clock = clock

    async def purge_expired(self) -> int:
        """Purge everything older than the cut-off, batch by batch; returns how many rows."""
        cutoff = self._clock() - self._max_age
        total = 0
        while True:
            batch = await self._repository.purge_created_before(cutoff, self._batch_size)
            total += batch.deleted
            if batch.deleted < self._batch_size:
                break
            # Leave room for the interactive queries between batches.
            await asyncio.sleep(self._pause)
        if total:
            log.info("notifications_purged", count=total, cutoff=cutoff.isoformat())
        return total

    async def run_forever(self) -> None:
        """Purge now and then every `interval_seconds`; failures are logged and retried."""
        while True:
            try:
                await self.purge_expired()
            except Exception as exc:
                if classify_database_error(exc) is None:
                    raise
                log.warning("retention_purge_failed", error_class=type(exc).__name__)
            await asyncio.sleep(self._interval)
