"""The Kafka side of the ingest: poll, batch, dead-letter, store, commit — per partition, in order.

Why a hand-driven aiokafka consumer and not a FastStream subscriber: FastStream's batch
subscriber merges the records of every partition into one tuple and its `ack()` commits the
consumer's fetch position for *all* partitions, and its retry is an immediate seek-back loop
(see docs/notifier-ingest.md). Here FastStream's broker owns the producer (dead letters) and the
documentation side, while this module drives `getmany` / `commit({tp: offset})` itself:

- one batch = the records of one poll (plus whatever arrives within `batch_linger_ms`), stored in
  one PostgreSQL transaction; then exactly `{tp: last_offset + 1}` of that batch is committed;
- a depth-one pipeline: while batch N is written to PostgreSQL, batch N+1 is fetched, parsed and
  its bad records dead-lettered; batch N+1 is written only after batch N committed, so offsets are
  always committed in order;
- transient failures (database down, broker unreachable) are retried with capped exponential
  backoff; meanwhile the poll loop keeps calling `getmany` with every partition paused, so the
  consumer stays in its group however long the outage lasts (aiokafka #848);
- on a rebalance the batch in flight is finished and committed within `revoke_timeout_s`, or
  abandoned uncommitted (its records are redelivered and deduplicated by the unique key);
- on shutdown the batch in flight is finished within `shutdown_timeout_s` or abandoned, the
  consumer leaves its group and nothing else is committed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    ConsumerStoppedError,
    IllegalStateError,
    KafkaError,
)
from faststream.kafka import KafkaBroker

from services.notifier.ingest import metrics
from services.notifier.ingest.batch import (
    BadRecord,
    BatchBuilder,
    EventParser,
    NotificationEvent,
    PreparedBatch,
    bad_record,
    merge_records,
)
from services.notifier.ingest.dead_letter import DeadLetterPublisher
from services.notifier.ingest.repository import (
    IngestRepository,
    StoreOutcome,
)
from services.notifier.settings import IngestSettings
from shared.db import create_pool, is_rejected_data_error, is_transient_database_error
from shared.events.registry import platform_registry, user_events_registry
from shared.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")
Records = dict[tuple[str, int], list[Any]]

# While the writer is slow (database down), poll this often with all partitions paused.
KEEPALIVE_SECONDS = 1.0
# Records parsed between two turns of the event loop (about 2 ms of CPU).
PARSE_CHUNK = 100


# The ingest allocates a few short-lived objects per record (Kafka records, models, rows): with
# CPython's default first-generation threshold (700) the collector runs every few records and
# walks the young objects each time. A larger threshold, with the start-up objects frozen out of
# the collector's sight, gave clearly more events/s in `make bench` (docs/notifier-ingest.md).
GC_GENERATION0_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Call once in the notifier process after start-up imports (not in a library user's)."""
    gc.freeze()
    _, generation1, generation2 = gc.get_threshold()
    gc.set_threshold(GC_GENERATION0_THRESHOLD, generation1, generation2)


class Clock(Protocol):
    """Time as the consumer sees it; tests substitute a faster one."""

    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's recommendation)."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial, self._maximum = initial, maximum
        self._attempt = 0

    def next(self) -> float:
        ceiling = min(self._maximum, self._initial * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


class Abandoned(Exception):
    """The batch in flight was given up (rebalance or shutdown): nothing of it is committed."""


@dataclass
class InFlight:
    """The batch being written, and whether it must stop without committing."""

    batch: PreparedBatch
    epoch: int
    task: asyncio.Task[None] | None = None
    abandoned: bool = False


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: IngestConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner.partitions_assigned(assigned)


class IngestConsumer:
    """Consumes the seven platform topics and `auth.users` into the notifier schema."""

    def __init__(
        self,
        bootstrap_servers: str,
        dsn: str,
        settings: IngestSettings,
        *,
        enable_idempotence: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._dsn = dsn
        self._settings = settings
        self._topics = settings.topics
        self._group = settings.consumer_group
        self._clock = clock or SystemClock()
        self._parser = EventParser(platform_registry(), user_events_registry())
        self.broker = KafkaBroker(
            bootstrap_servers,
            acks="all",
            enable_idempotence=enable_idempotence,
            linger_ms=2,
            request_timeout_ms=15_000,
            client_id="clochette-notifier",
            logger=logging.getLogger("services.notifier.faststream"),
        )
        self._dead_letters = DeadLetterPublisher(self.broker, self._topics.dead_letter, self._group)
        self._pool: asyncpg.Pool[Any] | None = None
        self._repository: IngestRepository | None = None
        self._consumer: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_requested = asyncio.Event()
        self._epoch = 0
        self._writer: InFlight | None = None
        self._carry: Records = {}
        self._committed: dict[tuple[str, int], int] = {}
        self._joined = False
        self._connected = False
        self._failure: str | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics.consumed

    async def start(self) -> None:
        """Open the database pool and start consuming in the background: the service starts
        even while Kafka is unreachable, and says so in its readiness check."""
        self._pool = await create_pool(
            self._dsn, min_size=1, max_size=self._settings.db_pool_size, search_path="notifier"
        )
        self._repository = IngestRepository(
            self._pool, copy_threshold=self._settings.copy_threshold
        )
        self._tasks = [
            asyncio.create_task(self._run(), name="notifier-consumer"),
            asyncio.create_task(self._every(self._settings.lag_interval_s, self.update_lag)),
            asyncio.create_task(
                self._every(self._settings.housekeeping_interval_s, self._housekeeping)
            ),
        ]

    async def stop(self) -> None:
        """Finish (or abandon, uncommitted) the batch in flight, leave the group, close."""
        self._stop_requested.set()
        if self._tasks:
            run, *periodic = self._tasks
            for task in periodic:
                task.cancel()
            _, pending = await asyncio.wait({run}, timeout=self._settings.shutdown_timeout_s + 2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._disconnect()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def readiness(self) -> str | None:
        """None when consuming with an assignment; otherwise why not (for /health/ready)."""
        if self._failure is not None:
            return self._failure
        if not self._connected:
            return "the consumer is not connected to Kafka"
        if not self._joined:
            return f"the consumer has not joined group {self._group!r} yet"
        return None

    # -- the supervisor: connect, consume, reconnect after an unexpected failure --------------

    async def _run(self) -> None:
        backoff = Backoff(
            self._settings.retry_initial_backoff_s, self._settings.retry_max_backoff_s
        )
        while not self._stop_requested.is_set():
            try:
                await self._connect()
                self._failure = None
                await self._consume()
            except (KafkaError, OSError) as exc:
                self._failure = f"the consumer lost Kafka ({type(exc).__name__}: {exc})"
                log.warning("consumer_kafka_unavailable", error=str(exc), group=self._group)
            except Exception as exc:
                self._failure = f"the consumer failed ({type(exc).__name__}); restarting it"
                log.exception("consumer_failed", group=self._group)
            else:
                return
            await self._forget_in_flight_work()
            await self._disconnect()
            await self._wait_stop(backoff.next())

    async def _forget_in_flight_work(self) -> None:
        """Before reconnecting: nothing read by the failed consumer may be committed by the next
        one (it starts again from the committed offsets)."""
        self._epoch += 1
        self._carry.clear()
        writer, self._writer = self._writer, None
        if writer is not None and writer.task is not None and not writer.task.done():
            await self._abandon(writer, "reconnect")

    async def _connect(self) -> None:
        await self.broker.start()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group,
            client_id="clochette-notifier",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._settings.batch_max_records,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=self._settings.heartbeat_interval_ms,
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
            rebalance_timeout_ms=max(
                self._settings.session_timeout_ms,
                int(self._settings.revoke_timeout_s * 1000) + 5000,
            ),
        )
        self._consumer = consumer
        await consumer.start()
        self._connected = True
        if not await self._wait_for_topics(consumer):
            return  # stopping
        # Subscribing only now: a subscription to a missing topic would create it (aiokafka's
        # metadata requests allow auto-creation) with the broker's default partition count.
        consumer.subscribe(list(self.topics), listener=_Listener(self))
        log.info("consumer_started", group=self._group, topics=list(self.topics))

    async def _wait_for_topics(self, consumer: Any) -> bool:
        """Topics are created by `clochette topics` / the deployment, never by the notifier.
        False when stopping before they exist."""
        backoff = Backoff(1.0, 10.0)
        while not self._stop_requested.is_set():
            missing = sorted(set(self.topics) - set(await consumer.topics()))
            if not missing:
                self._failure = None
                return True
            self._failure = (
                f"topics {', '.join(missing)} do not exist: create them (`clochette topics`)"
            )
            log.warning("consumer_waiting_for_topics", missing=missing)
            await self._wait_stop(backoff.next())
        return False

    async def _disconnect(self) -> None:
        self._connected = False
        self._joined = False
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await consumer.stop()  # leaves the group; auto-commit is off: commits nothing
            except Exception:
                log.warning("consumer_stop_failed", exc_info=True)
        with suppress(Exception):
            await self.broker.stop()
        metrics.ASSIGNED_PARTITIONS.set(0)

    # -- the poll loop ---------------------------------------------------------------------------

    async def _consume(self) -> None:
        while not self._stop_requested.is_set():
            records = self._take_carry() or await self._poll()
            if not records or self._stop_requested.is_set():
                continue
            epoch = self._epoch
            batch = await self._prepare(records)
            if not await self._dead_letter(batch.bad, epoch):
                continue  # rebalanced or stopping: the records will be read again
            await self._wait_for_writer()
            if epoch != self._epoch or self._stop_requested.is_set():
                continue
            self._start_writer(batch, epoch)
        deadline = self._clock.monotonic() + self._settings.shutdown_timeout_s
        await self._wait_for_writer(deadline=deadline)

    async def _prepare(self, records: Records) -> PreparedBatch:
        """Parse the batch, yielding to the event loop every few hundred records so the writer
        of the previous batch keeps PostgreSQL busy meanwhile."""
        builder = BatchBuilder(
            self._parser, self._topics, copy_rows_from=self._settings.copy_threshold
        )
        done = 0
        for partition_records in records.values():
            for record in partition_records:
                builder.add(record)
                done += 1
                if done % PARSE_CHUNK == 0:
                    await asyncio.sleep(0)
        return builder.build()

    def _take_carry(self) -> Records:
        carry, self._carry = self._carry, {}
        return carry

    async def _poll(self) -> Records:
        """One batch: the first records available, plus what arrives within the linger time."""
        limit = self._settings.batch_max_records
        try:
            first = await self._consumer.getmany(
                timeout_ms=self._settings.poll_timeout_ms, max_records=limit
            )
        except ConsumerStoppedError:
            return {}
        records: Records = {}
        count = merge_records(records, first)
        if not count:
            return records
        deadline = self._clock.monotonic() + self._settings.batch_linger_ms / 1000
        while count < limit:
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                break
            more = await self._consumer.getmany(
                timeout_ms=max(1, int(remaining * 1000)), max_records=limit - count
            )
            if not more:
                break
            count += merge_records(records, more)
        return records

    async def _keepalive(self, seconds: float) -> None:
        """Wait while staying in the group: poll with every partition paused. Records can only
        come from partitions assigned meanwhile (a rebalance); they are kept for the next batch."""
        consumer = self._consumer
        assigned = consumer.assignment()
        consumer.pause(*assigned)
        try:
            more = await consumer.getmany(timeout_ms=max(0, int(seconds * 1000)))
        finally:
            consumer.resume(*consumer.assignment())
        merge_records(self._carry, more)

    async def _dead_letter(self, bad: list[BadRecord], epoch: int) -> bool:
        """Dead-letter a batch's bad records before anything of the batch is committed; False
        when the batch went stale while the broker refused them."""
        if not bad:
            return True
        backoff = Backoff(
            self._settings.retry_initial_backoff_s, self._settings.retry_max_backoff_s
        )
        while True:
            try:
                await self._dead_letters.publish(bad)
            except (KafkaError, OSError) as exc:
                metrics.TRANSIENT_FAILURES.labels("dead_letter").inc()
                log.warning("dead_letter_failed", error=str(exc), records=len(bad))
                await self._keepalive(backoff.next())
                if epoch != self._epoch or self._stop_requested.is_set():
                    return False
            else:
                for record in bad:
                    metrics.RECORDS_DEAD_LETTERED.labels(record.topic, record.error_class).inc()
                    log.warning(
                        "record_dead_lettered",
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        error_class=record.error_class,
                        reason=record.reason[:300],
                    )
                return True

    async def _wait_for_writer(self, deadline: float | None = None) -> None:
        """Wait until the batch in flight is stored and committed (or abandoned), polling with
        paused partitions meanwhile; past `deadline`, abandon it."""
        writer = self._writer
        if writer is None or writer.task is None:
            return
        try:
            while not writer.task.done():
                done, _ = await asyncio.wait({writer.task}, timeout=KEEPALIVE_SECONDS)
                if done:
                    break
                if deadline is not None and self._clock.monotonic() >= deadline:
                    await self._abandon(writer, "shutdown")
                    break
                if self._consumer is not None and not self._stop_requested.is_set():
                    await self._keepalive(0)
        finally:
            if self._writer is writer:
                self._writer = None
        task = writer.task
        if task.done() and not task.cancelled() and task.exception() is not None:
            # A bug, not an outage (those are retried inside the writer). Going on would commit
            # later offsets over this batch: restart the consumer from the committed offsets.
            raise RuntimeError("the batch writer failed") from task.exception()

    async def _abandon(self, writer: InFlight, why: str) -> None:
        writer.abandoned = True
        metrics.ABANDONED_BATCHES.inc()
        log.warning("batch_abandoned", reason=why, records=writer.batch.size)
        if writer.task is not None and not writer.task.done():
            writer.task.cancel()
            await asyncio.wait({writer.task}, timeout=5)

    # -- the writer: store, then commit exactly that batch's offsets ----------------------------

    def _start_writer(self, batch: PreparedBatch, epoch: int) -> None:
        writer = InFlight(batch, epoch)
        writer.task = asyncio.create_task(self._write(writer), name="notifier-batch-writer")
        self._writer = writer

    async def _write(self, writer: InFlight) -> None:
        started = self._clock.monotonic()
        batch = writer.batch
        try:
            outcome = await self._store(writer)
            if not await self._commit(writer):
                return
        except (Abandoned, asyncio.CancelledError):
            return
        metrics.BATCH_SIZE.observe(batch.size)
        metrics.BATCH_DURATION.observe(self._clock.monotonic() - started)
        self._count(batch, outcome)

    async def _store(self, writer: InFlight) -> StoreOutcome:
        batch = writer.batch
        if not batch.needs_database:
            return StoreOutcome()
        try:
            return await self._retrying(
                writer, lambda: self._repo.store(batch.events, batch.recipient_changes)
            )
        except asyncpg.PostgresError as exc:
            if not is_rejected_data_error(exc):
                raise
            log.warning("batch_rejected_isolating", error=str(exc), events=len(batch.events))
            return await self._store_isolating(writer)

    async def _store_isolating(self, writer: InFlight) -> StoreOutcome:
        """PostgreSQL refused some value of the batch: store it in halves until the refused
        events are alone, and dead-letter those (a partition is never stuck on one record)."""
        batch = writer.batch
        total = StoreOutcome()
        if batch.recipient_changes:
            _merge(
                total,
                await self._retrying(writer, lambda: self._repo.store([], batch.recipient_changes)),
            )
        pending: list[list[NotificationEvent]] = [batch.events]
        refused: list[BadRecord] = []
        while pending:
            part = pending.pop()
            try:
                stored = await self._retrying(writer, partial(self._repo.store, part, []))
                _merge(total, stored)
            except asyncpg.PostgresError as exc:
                if not is_rejected_data_error(exc):
                    raise
                if len(part) == 1:
                    refused.append(bad_record(part[0].record, "storage_rejected", str(exc)))
                else:
                    middle = len(part) // 2
                    pending += [part[middle:], part[:middle]]
        refused.sort(key=lambda r: (r.topic, r.partition, r.offset))
        await self._retrying(writer, lambda: self._dead_letters.publish(refused))
        for record in refused:
            metrics.RECORDS_DEAD_LETTERED.labels(record.topic, record.error_class).inc()
            log.warning(
                "record_dead_lettered",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error_class=record.error_class,
                reason=record.reason[:300],
            )
        return total

    async def _retrying(self, writer: InFlight, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` until it succeeds, backing off on transient failures (and on unknown
        ones, loudly: never skip a batch). Raises refused-data errors and Abandoned."""
        backoff = Backoff(
            self._settings.retry_initial_backoff_s, self._settings.retry_max_backoff_s
        )
        while True:
            if writer.abandoned:
                raise Abandoned
            try:
                return await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_rejected_data_error(exc):
                    raise
                stage = "database" if _is_database_error(exc) else "broker"
                metrics.TRANSIENT_FAILURES.labels(stage).inc()
                if is_transient_database_error(exc) or isinstance(exc, KafkaError):
                    log.warning("batch_store_retrying", stage=stage, error=f"{exc!r}"[:300])
                else:
                    log.exception("batch_store_failed_retrying", stage=stage)
                await self._clock.sleep(backoff.next())

    async def _commit(self, writer: InFlight) -> bool:
        offsets = {
            TopicPartition(topic, partition): offset
            for (topic, partition), offset in writer.batch.next_offsets.items()
        }
        backoff = Backoff(
            self._settings.retry_initial_backoff_s, self._settings.retry_max_backoff_s
        )
        while True:
            if writer.abandoned or self._consumer is None:
                return False
            try:
                await self._consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # The partitions moved to another member: it reads these records again, and
                # the unique (event, user) key makes that harmless.
                metrics.COMMIT_FAILURES.inc()
                log.warning("commit_refused", error=str(exc))
                return False
            except KafkaError as exc:
                metrics.TRANSIENT_FAILURES.labels("commit").inc()
                log.warning("commit_retrying", error=str(exc))
                await self._clock.sleep(backoff.next())
            else:
                now = time.time()
                for (topic, partition), offset in writer.batch.next_offsets.items():
                    self._committed[(topic, partition)] = offset
                    metrics.GROUP_OFFSET.labels(self._group, topic, str(partition)).set(offset)
                    metrics.LAST_COMMIT.labels(self._group, topic, str(partition)).set(now)
                return True

    def _count(self, batch: PreparedBatch, outcome: StoreOutcome) -> None:
        bad_per_topic: dict[str, int] = {}
        for record in batch.bad:
            bad_per_topic[record.topic] = bad_per_topic.get(record.topic, 0) + 1
        for topic, count in batch.records_per_topic.items():
            stored = count - bad_per_topic.get(topic, 0)
            if stored:
                metrics.RECORDS_PROCESSED.labels(topic).inc(stored)
        for topic, count in batch.repeated_in_batch.items():
            metrics.RECORDS_DUPLICATE.labels(topic).inc(count)
        if outcome.duplicate_events or outcome.unrouted_events:
            topic_of = {event.event_id: event.topic for event in batch.events}
            for event_id in outcome.duplicate_events:
                metrics.RECORDS_DUPLICATE.labels(topic_of[event_id]).inc()
            for event_id in outcome.unrouted_events:
                metrics.RECORDS_UNROUTED.labels(topic_of[event_id]).inc()
        metrics.NOTIFICATIONS_CREATED.inc(outcome.notifications_inserted)
        if batch.needs_database:
            metrics.BATCHES_STORED.labels("copy" if outcome.copied else "statement").inc()

    @property
    def _repo(self) -> IngestRepository:
        if self._repository is None:
            raise RuntimeError("IngestConsumer.start() was not called")
        return self._repository

    # -- rebalance --------------------------------------------------------------------------------

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before the partitions go: the batch in flight commits within the revoke timeout, or
        is abandoned; every batch read before now is stale."""
        self._epoch += 1
        metrics.REBALANCES.inc()
        self._carry.clear()
        writer = self._writer
        if writer is not None and writer.task is not None and not writer.task.done():
            done, _ = await asyncio.wait({writer.task}, timeout=self._settings.revoke_timeout_s)
            if not done:
                await self._abandon(writer, "rebalance")
        for tp in revoked:
            self._forget_partition(tp.topic, tp.partition)
        log.info("partitions_revoked", count=len(revoked), group=self._group)

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._joined = True
        metrics.ASSIGNED_PARTITIONS.set(len(assigned))
        log.info(
            "partitions_assigned",
            group=self._group,
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )

    def _forget_partition(self, topic: str, partition: int) -> None:
        self._committed.pop((topic, partition), None)
        for gauge in (metrics.GROUP_LAG, metrics.GROUP_OFFSET, metrics.LAST_COMMIT):
            with suppress(KeyError):
                gauge.remove(self._group, topic, str(partition))
        with suppress(KeyError):
            metrics.LATEST_OFFSET.remove(topic, str(partition))

    # -- lag and housekeeping ---------------------------------------------------------------------

    async def update_lag(self) -> None:
        """Refresh the lag gauges of the partitions this instance owns."""
        consumer = self._consumer
        if consumer is None or not self._joined:
            return
        assigned = sorted(consumer.assignment())
        if not assigned:
            return
        ends = await consumer.end_offsets(assigned)
        for tp in assigned:
            key = (tp.topic, tp.partition)
            if key not in self._committed:
                committed = await consumer.committed(tp)
                if committed is None:
                    continue
                self._committed[key] = committed
            # tansu answers ListOffsets with the last batch's base offset + 1; the fetch
            # responses carry the true high-water mark (both are lower bounds: take the larger)
            high_water = max(ends[tp], consumer.highwater(tp) or 0)
            committed = self._committed[key]
            labels = (self._group, tp.topic, str(tp.partition))
            metrics.LATEST_OFFSET.labels(tp.topic, str(tp.partition)).set(high_water)
            metrics.GROUP_OFFSET.labels(*labels).set(committed)
            metrics.GROUP_LAG.labels(*labels).set(max(0, high_water - committed))

    async def _housekeeping(self) -> None:
        broadcasts, provisional = await self._repo.purge_expired(
            self._settings.broadcast_retention_days, self._settings.provisional_retention_days
        )
        if broadcasts or provisional:
            log.info("ingest_purged", broadcasts=broadcasts, provisional_recipients=provisional)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while not self._stop_requested.is_set():
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("periodic_job_failed", job=job.__name__, error=str(exc))
            await self._wait_stop(seconds)

    async def _wait_stop(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)


def _merge(total: StoreOutcome, part: StoreOutcome) -> None:
    total.notifications_inserted += part.notifications_inserted
    total.users_notified += part.users_notified
    total.duplicate_events |= part.duplicate_events
    total.unrouted_events |= part.unrouted_events


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError)
