"""The ingest's Kafka session: connect (once the topics exist), poll, keep the group membership
alive while the writer is slow, report rebalances, disconnect. It knows nothing of batches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import ConsumerStoppedError
from faststream.kafka import KafkaBroker

from services.notifier.ingest import metrics
from services.notifier.ingest.backoff import Backoff
from services.notifier.settings import NotifierSettings
from shared.clock import Clock
from shared.kafka import PLAINTEXT, KafkaSecurity, kafka_client_options
from shared.logging import get_logger

log = get_logger(__name__)

Records = dict[tuple[str, int], list[Any]]
OnRevoked = Callable[[set[TopicPartition]], Awaitable[None]]


def merge_records(into: dict[tuple[str, int], list[Any]], more: Mapping[Any, Iterable[Any]]) -> int:
    """Append `more` (records per topic-partition, from one poll) to `into`; returns how many."""
    added = 0
    for tp, records in more.items():
        key = (tp[0], tp[1])
        bucket = into.setdefault(key, [])
        before = len(bucket)
        bucket.extend(records)
        added += len(bucket) - before
    return added


async def keepalive(consumer: Any, seconds: float) -> Records:
    """Wait while staying in the group: poll with every partition paused. Records can only come
    from partitions assigned meanwhile (a rebalance); they are returned for the next batch."""
    consumer.pause(*consumer.assignment())
    try:
        more = await consumer.getmany(timeout_ms=max(0, int(seconds * 1000)))
    finally:
        consumer.resume(*consumer.assignment())
    records: Records = {}
    merge_records(records, more)
    return records


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, session: KafkaSession, on_revoked: OnRevoked) -> None:
        self._session, self._on_revoked = session, on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._session.partitions_assigned(assigned)


class KafkaSession:
    """One group member at a time over the consumed topics, and the FastStream broker whose
    producer sends the dead letters."""

    def __init__(
        self,
        bootstrap_servers: str,
        settings: NotifierSettings,
        broker: KafkaBroker,
        clock: Clock,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._security = security
        self._settings = settings
        self._broker = broker
        self._clock = clock
        self._stop_requested = asyncio.Event()
        self.consumer: Any = None
        self.connected = False
        self.joined = False
        self.failure: str | None = None

    @property
    def group(self) -> str:
        return self._settings.consumer_group

    @property
    def topics(self) -> tuple[str, ...]:
        return self._settings.topics.consumed

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def wait_stop(self, seconds: float) -> None:
        """Sleep `seconds`, or less when a stop is requested meanwhile."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    def readiness(self) -> str | None:
        """None when consuming with an assignment; otherwise why not (for /health/ready)."""
        if self.failure is not None:
            return self.failure
        if not self.connected:
            return "the consumer is not connected to Kafka"
        if not self.joined:
            return f"the consumer has not joined group {self.group!r} yet"
        return None

    async def connect(self, on_revoked: OnRevoked) -> None:
        """Start the broker and a consumer, and subscribe once every topic exists."""
        await self._broker.start()
        settings = self._settings
        consumer = AIOKafkaConsumer(
            **kafka_client_options(self._bootstrap, self._security),
            group_id=self.group,
            client_id="clochette-notifier",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.batch_max_records,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            max_poll_interval_ms=settings.max_poll_interval_ms,
            rebalance_timeout_ms=max(
                settings.session_timeout_ms, int(settings.revoke_timeout_s * 1000) + 5000
            ),
        )
        self.consumer = consumer
        await consumer.start()
        self.connected = True
        if not await self._wait_for_topics(consumer):
            return  # stopping
        # Subscribing only now: a subscription to a missing topic would create it (aiokafka's
        # metadata requests allow auto-creation) with the broker's default partition count.
        consumer.subscribe(list(self.topics), listener=_Listener(self, on_revoked))
        log.info("consumer_started", group=self.group, topics=list(self.topics))

    async def _wait_for_topics(self, consumer: Any) -> bool:
        """Topics are created by `clochette topics` / the deployment, never by the notifier.
        False when stopping before they exist."""
        backoff = Backoff(1.0, 10.0)
        while not self.stopping:
            missing = sorted(set(self.topics) - set(await consumer.topics()))
            if not missing:
                self.failure = None
                return True
            self.failure = (
                f"topics {', '.join(missing)} do not exist: create them (`clochette topics`)"
            )
            log.warning("consumer_waiting_for_topics", missing=missing)
            await self.wait_stop(backoff.next())
        return False

    async def disconnect(self) -> None:
        self.connected = False
        self.joined = False
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            try:
                await consumer.stop()  # leaves the group; auto-commit is off: commits nothing
            except Exception:
                log.warning("consumer_stop_failed", exc_info=True)
        with suppress(Exception):
            await self._broker.stop()
        metrics.ASSIGNED_PARTITIONS.set(0)

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.joined = True
        metrics.ASSIGNED_PARTITIONS.set(len(assigned))
        log.info(
            "partitions_assigned",
            group=self.group,
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )

    async def poll(self) -> Records:
        """One batch: the first records available, plus what arrives within the linger time."""
        limit = self._settings.batch_max_records
        try:
            first = await self.consumer.getmany(
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
            more = await self.consumer.getmany(
                timeout_ms=max(1, int(remaining * 1000)), max_records=limit - count
            )
            if not more:
                break
            count += merge_records(records, more)
        return records

    async def keepalive(self, seconds: float) -> Records:
        """See `keepalive`: the records of partitions assigned meanwhile."""
        return await keepalive(self.consumer, seconds)
