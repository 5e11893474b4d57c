"""The Kafka side of the ingest: its supervisor, and the one place its parts are put together.

Why a hand-driven aiokafka consumer and not a FastStream subscriber: FastStream's batch
subscriber merges the records of every partition into one tuple and its `ack()` commits the
consumer's fetch position for *all* partitions, and its retry is an immediate seek-back loop
(see docs/notifier-ingest.md). FastStream is used for the producer side only: its `KafkaBroker`
owns the producer the dead letters are published with (connection settings and lifecycle); the
AsyncAPI document at /asyncapi is written by hand (services/notifier/asyncapi.py).

The parts, each in its module:

- the session (`session.py`) connects, polls, keeps the group membership alive with paused polls
  while the writer is slow (aiokafka #848) and reports rebalances;
- the pipeline (`pipeline.py`) turns polls into batches, one in flight at a time, and drops a
  batch that went stale (rebalance, reconnect) uncommitted;
- the store (`store.py`) writes a batch, retrying outages with capped exponential backoff
  (`backoff.py`, the one retry helper) and isolating refused values;
- the committer (`committer.py`) commits exactly `{tp: last_offset + 1}` of a stored batch and
  keeps the lag gauges.

On a rebalance the batch in flight is finished and committed within `revoke_timeout_s`, or
abandoned uncommitted; on shutdown it is finished within `shutdown_timeout_s` or abandoned, the
consumer leaves its group and nothing else is committed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from services.notifier.ingest.backoff import RetryPolicy
from services.notifier.ingest.committer import Committer
from services.notifier.ingest.dead_letter import DeadLetterPublisher
from services.notifier.ingest.housekeeping import Housekeeping
from services.notifier.ingest.parser import EventParser
from services.notifier.ingest.pipeline import Pipeline
from services.notifier.ingest.repository import IngestRepository
from services.notifier.ingest.session import KafkaSession
from services.notifier.ingest.store import BatchStore
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, SystemClock
from shared.events.registry import platform_registry, user_events_registry
from shared.kafka import PLAINTEXT, KafkaSecurity
from shared.logging import get_logger

log = get_logger(__name__)

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


class IngestConsumer:
    """Consumes the seven platform topics and `auth.users` into the notifier schema: connects,
    consumes, and reconnects after an unexpected failure; runs the lag and housekeeping jobs."""

    def __init__(
        self,
        session: KafkaSession,
        pipeline: Pipeline,
        committer: Committer,
        housekeeping: Housekeeping,
        settings: NotifierSettings,
    ) -> None:
        self._session = session
        self._pipeline = pipeline
        self._committer = committer
        self._housekeeping = housekeeping
        self._settings = settings
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def topics(self) -> tuple[str, ...]:
        return self._session.topics

    async def start(self) -> None:
        """Start consuming in the background: the service starts even while Kafka is
        unreachable, and says so in its readiness check."""
        self._tasks = [
            asyncio.create_task(self._run(), name="notifier-consumer"),
            asyncio.create_task(self._every(self._settings.lag_interval_s, self.update_lag)),
            asyncio.create_task(
                self._every(self._settings.housekeeping_interval_s, self._housekeeping.run)
            ),
        ]

    async def stop(self) -> None:
        """Finish (or abandon, uncommitted) the batch in flight, leave the group."""
        self._session.request_stop()
        if self._tasks:
            run, *periodic = self._tasks
            for task in periodic:
                task.cancel()
            _, pending = await asyncio.wait({run}, timeout=self._settings.shutdown_timeout_s + 2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.disconnect()

    def readiness(self) -> str | None:
        """None when consuming with an assignment; otherwise why not (for /health/ready)."""
        return self._session.readiness()

    async def update_lag(self) -> None:
        """Refresh the lag gauges of the partitions this instance owns."""
        await self._committer.update_lag()

    async def _run(self) -> None:
        session = self._session
        backoff = RetryPolicy(
            self._settings.retry_initial_backoff_s, self._settings.retry_max_backoff_s
        ).backoff()
        while not session.stopping:
            try:
                await session.connect(self._partitions_revoked)
                session.failure = None
                await self._pipeline.consume()
            except (KafkaError, OSError) as exc:
                session.failure = f"the consumer lost Kafka ({type(exc).__name__}: {exc})"
                log.warning("consumer_kafka_unavailable", error=str(exc), group=session.group)
            except Exception as exc:
                session.failure = f"the consumer failed ({type(exc).__name__}); restarting it"
                log.exception("consumer_failed", group=session.group)
            else:
                return
            await self._pipeline.forget_in_flight_work()
            await session.disconnect()
            await session.wait_stop(backoff.next())

    async def _partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._pipeline.partitions_revoked(revoked)
        self._committer.forget(revoked)
        log.info("partitions_revoked", count=len(revoked), group=self._session.group)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while not self._session.stopping:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("periodic_job_failed", job=job.__name__, error=str(exc))
            await self._session.wait_stop(seconds)


def build_ingest_consumer(
    bootstrap_servers: str,
    pool: asyncpg.Pool[Any],
    settings: NotifierSettings,
    *,
    enable_idempotence: bool = False,
    clock: Clock | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> IngestConsumer:
    """The consumer with its parts, writing through `pool` (the service's own pool)."""
    clock = clock or SystemClock()
    retry = RetryPolicy(settings.retry_initial_backoff_s, settings.retry_max_backoff_s)
    broker = KafkaBroker(
        bootstrap_servers,
        security=security.faststream_security(),
        acks="all",
        enable_idempotence=enable_idempotence,
        linger_ms=2,
        request_timeout_ms=15_000,
        client_id="clochette-notifier",
        logger=logging.getLogger("services.notifier.faststream"),
    )
    topics = settings.topics
    dead_letters = DeadLetterPublisher(broker, topics.dead_letter, settings.consumer_group)
    repository = IngestRepository(pool, copy_threshold=settings.copy_threshold)
    session = KafkaSession(bootstrap_servers, settings, broker, clock, security)
    committer = Committer(session, retry, clock)
    pipeline = Pipeline(
        session,
        parser=EventParser(platform_registry(), user_events_registry()),
        dead_letters=dead_letters,
        store=BatchStore(repository, dead_letters, retry, clock),
        committer=committer,
        settings=settings,
        clock=clock,
    )
    return IngestConsumer(session, pipeline, committer, Housekeeping(pool, settings), settings)
