"""The dead-letter topic: records the notifier can never process, kept with their original bytes
and key, and headers saying where they came from and why they were refused.

Published through FastStream's Kafka broker (it owns the producer's lifecycle and connection
settings). A batch's dead letters are all sent before any is awaited: aiokafka keeps at most one
request in flight per partition, so records with the same key stay in their original order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker

from services.notifier.ingest.batch import BadRecord

HEADER_TOPIC = "dlq.original.topic"
HEADER_PARTITION = "dlq.original.partition"
HEADER_OFFSET = "dlq.original.offset"
HEADER_TIMESTAMP = "dlq.original.timestamp"
HEADER_ERROR_CLASS = "dlq.error.class"
HEADER_REASON = "dlq.error.reason"
HEADER_GROUP = "dlq.consumer.group"
HEADER_DEAD_LETTERED_AT = "dlq.dead_lettered_at"

# Kafka headers are small; a validation reason listing many fields is cut, not the record.
MAX_REASON_LENGTH = 2000


def dead_letter_headers(bad: BadRecord, group: str, now: datetime) -> dict[str, str]:
    """The headers of one dead letter."""
    reason = bad.reason if len(bad.reason) <= MAX_REASON_LENGTH else bad.reason[:1997] + "..."
    return {
        HEADER_TOPIC: bad.topic,
        HEADER_PARTITION: str(bad.partition),
        HEADER_OFFSET: str(bad.offset),
        HEADER_TIMESTAMP: str(bad.timestamp_ms),
        HEADER_ERROR_CLASS: bad.error_class,
        HEADER_REASON: reason,
        HEADER_GROUP: group,
        HEADER_DEAD_LETTERED_AT: now.isoformat(timespec="milliseconds"),
    }


class DeadLetterPublisher:
    """Sends bad records to the dead-letter topic and waits until the broker has them all."""

    def __init__(self, broker: KafkaBroker, topic: str, group: str) -> None:
        self.topic = topic
        self._group = group
        self._publisher = broker.publisher(
            topic,
            title=f"{topic}:publish",
            description="Records the notifier could not process: original value and key, "
            "reason and origin in headers.",
            include_in_schema=False,
        )

    async def publish(self, records: Sequence[BadRecord]) -> None:
        """Raises a Kafka error when any record was not acknowledged; the caller retries the
        whole set (a duplicate dead letter is harmless, a lost one is not)."""
        if not records:
            return
        now = datetime.now(UTC)
        pending: list[asyncio.Future[Any]] = []
        for bad in records:
            future = await self._publisher.publish(
                bad.value if bad.value is not None else b"",
                key=bad.key,
                headers=dead_letter_headers(bad, self._group, now),
                no_confirm=True,
            )
            pending.append(future)
        await asyncio.gather(*pending)
