"""Transactional outbox: events are stored with the change they describe and published to Kafka
by a relay, so a change is never lost when the broker is down and never published when its
transaction rolls back.

`enqueue` runs inside the caller's transaction. `OutboxRelay` publishes any topic: user events on
`auth.users` today, SMS requests on `sms.requested` next.

Delivery is at least once: a batch that fails part-way is sent again from its first unconfirmed
record, so consumers deduplicate by `event_id`. Order is kept per record key: one relay at a time
(a PostgreSQL advisory lock elects it among instances), records sent in id order, and only the
confirmed prefix of a batch is marked published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg

from services.auth.platform import repository
from services.auth.platform.repository import OUTBOX_CHANNEL, OutboxRow
from services.auth.platform.sql import Connection
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)


async def enqueue(
    conn: Connection, topic: str, key: str, payload: dict[str, Any], now: datetime
) -> int:
    """Queue one record for `topic` in the caller's transaction; returns its outbox id."""
    return await repository.insert_outbox(conn, topic, key, payload, now)


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes published for a payload: compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class Producer(Protocol):
    """The part of aiokafka's producer the relay uses."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]: ...


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 500
    poll_interval: timedelta = timedelta(seconds=1)
    publish_timeout: timedelta = timedelta(seconds=20)
    retry_initial: timedelta = timedelta(seconds=0.5)
    retry_max: timedelta = timedelta(seconds=30)
    leader_retry: timedelta = timedelta(seconds=5)


@dataclass
class RelayStats:
    published: int = 0
    failed_attempts: int = 0
    is_leader: bool = False
    leadership_refused: int = 0
    """Times another instance held the leader lock when this one asked for it."""
    last_error: str | None = None


class PublishFailed(Exception):
    """The broker did not confirm every record of a batch."""


class OutboxRelay:
    """Publishes outbox rows in id order; one active relay across all instances."""

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        dsn: str,
        producer_factory: Callable[[], Producer],
        clock: Clock,
        settings: RelaySettings | None = None,
        *,
        search_path: str = "auth",
    ) -> None:
        self._uow = UnitOfWork(pool)
        self._dsn = dsn
        self._producer_factory = producer_factory
        self._clock = clock
        self._settings = settings or RelaySettings()
        self._search_path = search_path
        self._producer: Producer | None = None
        self._listener: asyncpg.Connection[Any] | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.stats = RelayStats()

    def start(self) -> None:
        """Run in the background until `stop`."""
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._stopping):
            task.cancel()
        await asyncio.gather(*self._stopping, return_exceptions=True)

    async def run(self) -> None:
        """Become leader, then publish until cancelled; every failure is retried."""
        delay = self._settings.retry_initial
        try:
            while True:
                try:
                    if not await self._lead():
                        await asyncio.sleep(self._settings.leader_retry.total_seconds())
                        continue
                    if await self.publish_pending() == 0:
                        await self._wait_for_work()
                    delay = self._settings.retry_initial
                except Exception as exc:  # database, broker (aiokafka's own hierarchy), timeouts
                    await self._after_failure(exc)
                    await asyncio.sleep(self._jittered(delay))
                    delay = min(delay * 2, self._settings.retry_max)
        finally:
            producer, self._producer = self._producer, None
            if producer is not None:
                await self._stop_quietly(producer, seconds=5.0)
            await self._close_listener()

    async def publish_pending(self) -> int:
        """Publish every unpublished row now, batch by batch; returns how many were published."""
        total = 0
        while True:
            rows = await self._uow.read(
                lambda conn: repository.unpublished_outbox(conn, self._settings.batch_size)
            )
            if not rows:
                return total
            await self._publish_batch(rows)
            total += len(rows)
            if len(rows) < self._settings.batch_size:
                return total

    async def _publish_batch(self, rows: list[OutboxRow]) -> None:
        producer = await self._ensure_producer()
        confirmed: list[int] = []
        error: BaseException | None = None
        try:
            async with asyncio.timeout(self._settings.publish_timeout.total_seconds()):
                futures = [
                    await producer.send(row.topic, value=encode(row.payload), key=row.key.encode())
                    for row in rows
                ]
                results = await asyncio.gather(*futures, return_exceptions=True)
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    error = result
                    break
                confirmed.append(row.id)
        except TimeoutError as exc:
            error = exc
        if confirmed:
            now = self._clock.now()
            await self._uow.read(
                lambda conn: repository.mark_outbox_published(conn, confirmed, now)
            )
            self.stats.published += len(confirmed)
        if error is not None:
            raise PublishFailed(
                f"{len(rows) - len(confirmed)} of {len(rows)} records not confirmed "
                f"({type(error).__name__})"
            )
        log.debug("outbox_published", records=len(rows))

    async def _lead(self) -> bool:
        """Hold the leader lock on a dedicated connection, which also LISTENs for new rows."""
        if self._listener is not None and not self._listener.is_closed():
            return True
        self._listener = None
        conn = await asyncpg.connect(
            self._dsn, server_settings={"search_path": self._search_path}, timeout=10
        )
        try:
            leader = await repository.try_lead_relay(conn)
            if not leader:
                await conn.close()
                self.stats.is_leader = False
                self.stats.leadership_refused += 1
                return False
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
        except BaseException:
            await conn.close()
            raise
        self._listener = conn
        self.stats.is_leader = True
        log.info("outbox_relay_leading")
        return True

    def _on_notify(self, *_args: object) -> None:
        self._wakeup.set()

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.poll_interval.total_seconds()):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _ensure_producer(self) -> Producer:
        if self._producer is None:
            producer = self._producer_factory()
            self._producer = producer
            try:
                async with asyncio.timeout(self._settings.publish_timeout.total_seconds()):
                    await producer.start()
            except BaseException:
                self._discard_producer()
                raise
        return self._producer

    async def _after_failure(self, exc: BaseException) -> None:
        self.stats.failed_attempts += 1
        self.stats.last_error = type(exc).__name__
        log.warning("outbox_publish_failed", error_class=type(exc).__name__, error=str(exc)[:300])
        # A fresh producer after a failure: aiokafka's may hold dead connections and
        # half-sent batches that would otherwise be retried out of order.
        self._discard_producer()

    def _discard_producer(self) -> None:
        """Stop the producer in the background: with the broker gone, aiokafka's stop waits for
        its request timeout, and the relay must not wait with it. Records it still delivers
        later are duplicates of rows sent again, which consumers drop by `event_id`."""
        producer, self._producer = self._producer, None
        if producer is not None:
            task = asyncio.create_task(self._stop_quietly(producer), name="outbox-producer-stop")
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _stop_quietly(self, producer: Producer, seconds: float = 30.0) -> None:
        try:
            async with asyncio.timeout(seconds):
                await producer.stop()
        except Exception:
            log.debug("outbox_producer_stop_failed")

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=5)

    def _jittered(self, delay: timedelta) -> float:
        return delay.total_seconds() * random.uniform(0.8, 1.2)  # noqa: S311 - not security
