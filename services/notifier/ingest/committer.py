"""Commits of explicit per-partition offsets (exactly a stored batch's `last offset + 1`), and
the lag gauges of the partitions this instance owns, from what it committed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from services.notifier.ingest import metrics
from services.notifier.ingest.backoff import Abandoned, RetryPolicy
from services.notifier.ingest.session import KafkaSession
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)


def consumer_lag(high_water: int, committed: int | None, log_start: int = 0) -> int:
    """Lag = high-water mark - the group's position, never below 0 (kminion's arithmetic), the
    one computation behind the lag gauges and `clochette lag`. The position is the committed
    offset, or the log start when the group never committed on the partition (or committed
    below records retention already deleted)."""
    position = log_start if committed is None else max(committed, log_start)
    return max(0, high_water - position)


class Committer:
    """Commits for the session's consumer and keeps the offset and lag gauges."""

    def __init__(self, session: KafkaSession, retry: RetryPolicy, clock: Clock) -> None:
        self._session = session
        self._retry = retry
        self._clock = clock
        self._committed: dict[tuple[str, int], int] = {}

    async def commit(
        self, next_offsets: Mapping[tuple[str, int], int], stale: Callable[[], bool]
    ) -> bool:
        """Commit `next_offsets`, retrying while the broker is unreachable; False when the
        partitions moved to another member or the batch went stale (nothing committed)."""
        offsets = {
            TopicPartition(topic, partition): offset
            for (topic, partition), offset in next_offsets.items()
        }
        try:
            await self._retry.run(
                lambda: self._session.consumer.commit(offsets),
                retryable=_commit_retryable,
                pause=self._clock.sleep,
                stale=lambda: stale() or self._session.consumer is None,
            )
        except Abandoned:
            return False
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another member: it reads these records again, and the
            # unique (event, user) key makes that harmless.
            metrics.COMMIT_FAILURES.inc()
            log.warning("commit_refused", error=str(exc))
            return False
        now = time.time()
        group = self._session.group
        for (topic, partition), offset in next_offsets.items():
            self._committed[(topic, partition)] = offset
            metrics.GROUP_OFFSET.labels(group, topic, str(partition)).set(offset)
            metrics.LAST_COMMIT.labels(group, topic, str(partition)).set(now)
        return True

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """The partitions went to another member: drop their offsets and gauges."""
        group = self._session.group
        for tp in partitions:
            self._committed.pop((tp.topic, tp.partition), None)
            for gauge in (metrics.GROUP_LAG, metrics.GROUP_OFFSET, metrics.LAST_COMMIT):
                with suppress(KeyError):
                    gauge.remove(group, tp.topic, str(tp.partition))
            with suppress(KeyError):
                metrics.LATEST_OFFSET.remove(tp.topic, str(tp.partition))

    async def update_lag(self) -> None:
        """Refresh the lag gauges of the partitions this instance owns. A partition the group
        never committed on counts its lag from the log start (a consumer stuck on its first
        batch shows lag, and raises the alert)."""
        consumer = self._session.consumer
        if consumer is None or not self._session.joined:
            return
        assigned = sorted(consumer.assignment())
        if not assigned:
            return
        ends = await consumer.end_offsets(assigned)
        starts = await consumer.beginning_offsets(assigned)
        group = self._session.group
        for tp in assigned:
            key = (tp.topic, tp.partition)
            committed = self._committed.get(key)
            if committed is None:
                committed = await consumer.committed(tp)
                if committed is not None:
                    self._committed[key] = committed
            # tansu answers ListOffsets with the last batch's base offset + 1; the fetch
            # responses carry the true high-water mark (both are lower bounds: take the larger)
            high_water = max(ends[tp], consumer.highwater(tp) or 0)
            labels = (group, tp.topic, str(tp.partition))
            metrics.LATEST_OFFSET.labels(tp.topic, str(tp.partition)).set(high_water)
            if committed is not None:
                metrics.GROUP_OFFSET.labels(*labels).set(committed)
            metrics.GROUP_LAG.labels(*labels).set(consumer_lag(high_water, committed, starts[tp]))


def _commit_retryable(exc: Exception) -> bool:
    if isinstance(exc, CommitFailedError | IllegalStateError) or not isinstance(exc, KafkaError):
        return False
    metrics.TRANSIENT_FAILURES.labels("commit").inc()
    log.warning("commit_retrying", error=str(exc))
    return True
