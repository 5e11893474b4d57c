"""Storing one prepared batch: retried until PostgreSQL has it (never skipped), and when
PostgreSQL refuses some value of it, stored in halves until the refused events are alone and
dead-lettered. Also the counters of what a stored batch contained."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from aiokafka.errors import KafkaError

from services.notifier.ingest import metrics
from services.notifier.ingest.backoff import RetryPolicy
from services.notifier.ingest.batch import (
    BadRecord,
    NotificationEvent,
    PreparedBatch,
    bad_record,
    organization_changed,
)
from services.notifier.ingest.dead_letter import DeadLetterPublisher
from services.notifier.ingest.repository import IngestRepository, StoreOutcome
from shared.clock import Clock
from shared.db import classify_database_error, is_rejected_data_error, is_transient_database_error
from shared.logging import get_logger

log = get_logger(__name__)


def log_dead_lettered(records: Sequence[BadRecord]) -> None:
    """Count and log records the dead-letter topic acknowledged."""
    for record in records:
        metrics.RECORDS_DEAD_LETTERED.labels(record.topic, record.error_class).inc()
        log.warning(
            "record_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_class=record.error_class,
            reason=record.reason[:300],
        )


def _store_retryable(exc: Exception) -> bool:
    """Everything but refused data is retried: outages quietly, unknown failures loudly (a
    batch is never skipped)."""
    if is_rejected_data_error(exc):
        return False
    stage = "database" if classify_database_error(exc) is not None else "broker"
    metrics.TRANSIENT_FAILURES.labels(stage).inc()
    if is_transient_database_error(exc) or isinstance(exc, KafkaError):
        log.warning("batch_store_retrying", stage=stage, error=f"{exc!r}"[:300])
    else:
        # Called from the retry loop's `except` block: the traceback is the one being handled.
        log.exception("batch_store_failed_retrying", stage=stage)  # noqa: LOG004
    return True


class BatchStore:
    """Writes batches through the ingest repository; refused events go to the dead letters."""

    def __init__(
        self,
        repository: IngestRepository,
        dead_letters: DeadLetterPublisher,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._dead_letters = dead_letters
        self._retry = retry
        self._clock = clock

    async def store(self, batch: PreparedBatch, stale: Callable[[], bool]) -> StoreOutcome:
        """Raises Abandoned once `stale()` (the batch's records will be read again). The user
        events that would move a confirmed user to another organisation go to the dead letters
        (stored again on a redelivery, they are refused again: nothing is lost or doubled)."""
        outcome = await self._store(batch, stale)
        if outcome.moved_recipients:
            await self._dead_letter(
                [
                    organization_changed(
                        record,
                        moved.change.user_id,
                        moved.organization_id,
                        moved.change.organization_id,
                    )
                    for moved in outcome.moved_recipients
                    for record in moved.change.records
                ],
                stale,
            )
        return outcome

    async def _store(self, batch: PreparedBatch, stale: Callable[[], bool]) -> StoreOutcome:
        if not batch.needs_database:
            return StoreOutcome()
        repository = self._repository
        try:
            return await self._retry.run(
                lambda: repository.store(batch.events, batch.recipient_changes),
                retryable=_store_retryable,
                pause=self._clock.sleep,
                stale=stale,
            )
        except Exception as exc:
            if not is_rejected_data_error(exc):
                raise
            log.warning("batch_rejected_isolating", error=str(exc), events=len(batch.events))
            return await self._store_isolating(batch, stale)

    async def _store_isolating(
        self, batch: PreparedBatch, stale: Callable[[], bool]
    ) -> StoreOutcome:
        """Store the batch in halves until the refused events are alone, and dead-letter those
        (a partition is never stuck on one record)."""
        total = StoreOutcome()
        if batch.recipient_changes:
            _merge(
                total,
                await self._retried(
                    partial(self._repository.store, [], batch.recipient_changes), stale
                ),
            )
        pending: list[list[NotificationEvent]] = [batch.events]
        refused: list[BadRecord] = []
        while pending:
            part = pending.pop()
            try:
                _merge(total, await self._retried(partial(self._repository.store, part, []), stale))
            except Exception as exc:
                if not is_rejected_data_error(exc):
                    raise
                if len(part) == 1:
                    refused.append(bad_record(part[0].record, "storage_rejected", str(exc)))
                else:
                    middle = len(part) // 2
                    pending += [part[middle:], part[:middle]]
        await self._dead_letter(refused, stale)
        return total

    async def _dead_letter(self, refused: list[BadRecord], stale: Callable[[], bool]) -> None:
        refused.sort(key=lambda r: (r.topic, r.partition, r.offset))
        await self._retry.run(
            partial(self._dead_letters.publish, refused),
            retryable=_store_retryable,
            pause=self._clock.sleep,
            stale=stale,
        )
        log_dead_lettered(refused)

    async def _retried(
        self, attempt: Callable[[], Awaitable[StoreOutcome]], stale: Callable[[], bool]
    ) -> StoreOutcome:
        return await self._retry.run(
            attempt, retryable=_store_retryable, pause=self._clock.sleep, stale=stale
        )


def count_stored(batch: PreparedBatch, outcome: StoreOutcome) -> None:
    """The counters of a batch that was stored and committed."""
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


def _merge(total: StoreOutcome, part: StoreOutcome) -> None:
    total.notifications_inserted += part.notifications_inserted
    total.users_notified += part.users_notified
    total.duplicate_events |= part.duplicate_events
    total.unrouted_events |= part.unrouted_events
    total.moved_recipients += part.moved_recipients
