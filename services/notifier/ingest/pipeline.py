"""The ingest pipeline: poll → parse → dead-letter → write, one batch at a time, in order.

Depth one: while batch N is written to PostgreSQL (and then exactly its offsets committed),
batch N+1 is fetched, parsed and its bad records dead-lettered; batch N+1 is written only after
batch N committed, so offsets are always committed in order. Every batch carries the epoch it was
read in; a rebalance or a reconnect starts a new epoch, and a batch of an older one is dropped
uncommitted (its records are read again and deduplicated by the unique key).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.notifier.ingest import metrics
from services.notifier.ingest.backoff import Abandoned, RetryPolicy
from services.notifier.ingest.batch import BadRecord, BatchBuilder, PreparedBatch
from services.notifier.ingest.committer import Committer
from services.notifier.ingest.dead_letter import DeadLetterPublisher
from services.notifier.ingest.parser import EventParser
from services.notifier.ingest.session import KafkaSession, Records, merge_records
from services.notifier.ingest.store import BatchStore, count_stored, log_dead_lettered
from services.notifier.settings import NotifierSettings
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)

# While the writer is slow (database down), poll this often with all partitions paused.
KEEPALIVE_SECONDS = 1.0
# Records parsed between two turns of the event loop (about 2 ms of CPU).
PARSE_CHUNK = 100


@dataclass
class InFlight:
    """The batch being written, and whether it must stop without committing."""

    batch: PreparedBatch
    epoch: int
    task: asyncio.Task[None] | None = None
    abandoned: bool = False


class Pipeline:
    """Turns the session's polls into stored, committed batches."""

    def __init__(
        self,
        session: KafkaSession,
        *,
        parser: EventParser,
        dead_letters: DeadLetterPublisher,
        store: BatchStore,
        committer: Committer,
        settings: NotifierSettings,
        clock: Clock,
    ) -> None:
        self._session = session
        self._parser = parser
        self._dead_letters = dead_letters
        self._store = store
        self._committer = committer
        self._settings = settings
        self._retry = RetryPolicy(settings.retry_initial_backoff_s, settings.retry_max_backoff_s)
        self._clock = clock
        self._epoch = 0
        self._writer: InFlight | None = None
        self._carry: Records = {}

    def new_epoch(self) -> None:
        """Every batch read so far is stale: nothing of it may be committed."""
        self._epoch += 1
        self._carry.clear()

    async def consume(self) -> None:
        """Until a stop is requested; then finish the batch in flight or abandon it."""
        session = self._session
        while not session.stopping:
            records = self._take_carry() or await session.poll()
            if not records or session.stopping:
                continue
            epoch = self._epoch
            batch = await self._prepare(records)
            if not await self.dead_letter(batch.bad, epoch):
                continue  # rebalanced or stopping: the records will be read again
            await self._wait_for_writer()
            if epoch != self._epoch or session.stopping:
                continue
            self._start_writer(batch, epoch)
        deadline = self._clock.monotonic() + self._settings.shutdown_timeout_s
        await self._wait_for_writer(deadline=deadline)

    async def forget_in_flight_work(self) -> None:
        """Before reconnecting: nothing read by the failed consumer may be committed by the next
        one (it starts again from the committed offsets)."""
        self.new_epoch()
        writer, self._writer = self._writer, None
        if writer is not None and writer.task is not None and not writer.task.done():
            await self._abandon(writer, "reconnect")

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before the partitions go: the batch in flight commits within the revoke timeout, or
        is abandoned; every batch read before now is stale."""
        self.new_epoch()
        metrics.REBALANCES.inc()
        writer = self._writer
        if writer is not None and writer.task is not None and not writer.task.done():
            done, _ = await asyncio.wait({writer.task}, timeout=self._settings.revoke_timeout_s)
            if not done:
                await self._abandon(writer, "rebalance")

    async def _prepare(self, records: Records) -> PreparedBatch:
        """Parse the batch, yielding to the event loop every few hundred records so the writer
        of the previous batch keeps PostgreSQL busy meanwhile."""
        builder = BatchBuilder(
            self._parser, self._settings.topics, copy_rows_from=self._settings.copy_threshold
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

    async def _keepalive(self, seconds: float) -> None:
        merge_records(self._carry, await self._session.keepalive(seconds))

    async def dead_letter(self, bad: list[BadRecord], epoch: int) -> bool:
        """Dead-letter a batch's bad records before anything of the batch is committed, keeping
        the group membership alive while the broker refuses them; False when the batch went
        stale meanwhile."""
        if not bad:
            return True
        try:
            await self._retry.run(
                lambda: self._dead_letters.publish(bad),
                retryable=lambda exc: _dead_letter_retryable(exc, len(bad)),
                pause=self._keepalive,
                stale=lambda: epoch != self._epoch or self._session.stopping,
            )
        except Abandoned:
            return False
        log_dead_lettered(bad)
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
                if self._session.consumer is not None and not self._session.stopping:
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

    def _start_writer(self, batch: PreparedBatch, epoch: int) -> None:
        writer = InFlight(batch, epoch)
        writer.task = asyncio.create_task(self._write(writer), name="notifier-batch-writer")
        self._writer = writer

    async def _write(self, writer: InFlight) -> None:
        """Store the batch, then commit exactly its offsets."""
        started = self._clock.monotonic()
        batch = writer.batch

        def stale() -> bool:
            return writer.abandoned

        try:
            outcome = await self._store.store(batch, stale)
            if not await self._committer.commit(batch.next_offsets, stale):
                return
        except (Abandoned, asyncio.CancelledError):
            return
        metrics.BATCH_SIZE.observe(batch.size)
        metrics.BATCH_DURATION.observe(self._clock.monotonic() - started)
        count_stored(batch, outcome)


def _dead_letter_retryable(exc: Exception, records: int) -> bool:
    if not isinstance(exc, KafkaError | OSError):
        return False
    metrics.TRANSIENT_FAILURES.labels("dead_letter").inc()
    log.warning("dead_letter_failed", error=str(exc), records=records)
    return True
