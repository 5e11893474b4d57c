"""Consumer lag: measured from a Kafka consumer, judged the way Burrow judges a group.

Lag = high-water mark - committed offset, never below 0, from the log start when the group never
committed: `consumer_lag`, the same arithmetic as the notifier's lag gauges. The admin
OffsetFetch call is not used (the embedded tansu broker drops the connection on it); a consumer
that carries the group id but never joins the group reads the committed offsets instead.

A verdict needs history, so `sample_lag` measures several times over a short window:

- OK: the partition has no lag at the end, or its committed offset moves and the lag does not
  keep growing;
- WARN: the committed offset moves but the lag grew at every sample (the group falls behind);
- STALL: the committed offset did not move although there is lag, while the group committed
  elsewhere (this partition is stuck, the consumer is alive);
- STOP: there is lag and no partition of the group moved during the window (commits stopped).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.notifier.ingest.committer import consumer_lag
from shared.kafka import PLAINTEXT, KafkaSecurity, kafka_client_options


class LagUnavailable(Exception):
    """The lag cannot be measured (the broker is unreachable); the message says why."""


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"
    STALL = "STALL"
    STOP = "STOP"


_SEVERITY = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.STALL: 2, Verdict.STOP: 3}


@dataclass(frozen=True)
class OffsetSample:
    """One measurement of one partition: `committed` is None when the group never committed."""

    at: float
    committed: int | None
    high_water: int
    log_start: int = 0

    @property
    def lag(self) -> int:
        return consumer_lag(self.high_water, self.committed, self.log_start)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    samples: tuple[OffsetSample, ...]
    verdict: Verdict

    @property
    def last(self) -> OffsetSample:
        return self.samples[-1]

    @property
    def lag(self) -> int:
        return self.last.lag


def moved(samples: Sequence[OffsetSample]) -> bool:
    """Whether the committed offset changed during the samples."""
    return len({s.committed for s in samples}) > 1


def judge(samples: Sequence[OffsetSample], group_moved: bool) -> Verdict:
    """The Burrow-style verdict of one partition from its samples, oldest first."""
    if not samples:
        raise ValueError("a verdict needs at least one sample")
    lags = [s.lag for s in samples]
    if lags[-1] == 0:
        return Verdict.OK
    if not moved(samples):
        return Verdict.STALL if group_moved else Verdict.STOP
    growing = all(later > earlier for earlier, later in itertools.pairwise(lags))
    return Verdict.WARN if growing and len(lags) > 1 else Verdict.OK


def judge_group(history: dict[tuple[str, int], list[OffsetSample]]) -> list[PartitionLag]:
    """Verdicts of every partition, sorted by topic and partition."""
    group_moved = any(moved(samples) for samples in history.values())
    return [
        PartitionLag(topic, partition, tuple(samples), judge(samples, group_moved))
        for (topic, partition), samples in sorted(history.items())
    ]


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.OK)


async def read_offsets(
    consumer: Any,
    partitions: Sequence[TopicPartition],
    *,
    fetched_high_water: Callable[[TopicPartition], int | None] = lambda _: None,
    clock: Callable[[], float] = time.time,
) -> dict[tuple[str, int], OffsetSample]:
    """One sample per partition through a started consumer that carries the group id.

    The high-water mark is the larger of ListOffsets' answer and the one the last fetch response
    reported: both are lower bounds of the truth, and tansu answers ListOffsets with the last
    record *batch*'s base offset + 1, short by the batch's size.
    """
    ends = await consumer.end_offsets(list(partitions))
    starts = await consumer.beginning_offsets(list(partitions))
    committed = await asyncio.gather(*(consumer.committed(tp) for tp in partitions))
    now = clock()
    return {
        (tp.topic, tp.partition): OffsetSample(
            now, offset, max(ends[tp], fetched_high_water(tp) or 0), starts[tp]
        )
        for tp, offset in zip(partitions, committed, strict=True)
    }


async def sample_lag(
    bootstrap_servers: str,
    group: str,
    topics: Sequence[str],
    *,
    samples: int = 3,
    interval: float = 2.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    security: KafkaSecurity = PLAINTEXT,
) -> list[PartitionLag]:
    """Measure `samples` times, `interval` seconds apart, and judge every partition.

    A second, group-less consumer reads the tail of every partition: its fetch responses carry
    the exact high-water mark.
    """
    options: dict[str, Any] = {
        **kafka_client_options(bootstrap_servers, security),
        "request_timeout_ms": 10_000,
    }
    consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **options)
    tail = AIOKafkaConsumer(
        group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50, **options
    )
    try:
        await consumer.start()
        await tail.start()
    except KafkaError as exc:
        await tail.stop()
        await consumer.stop()
        raise LagUnavailable(f"Kafka at {bootstrap_servers} is not reachable ({exc})") from None
    try:
        existing = await consumer.topics()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            if topic in existing
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        await _follow_tails(tail, partitions, await consumer.end_offsets(partitions))
        history: dict[tuple[str, int], list[OffsetSample]] = {}
        for index in range(max(1, samples)):
            if index:
                await sleep(interval)
            await tail.getmany(timeout_ms=200)
            measured = await read_offsets(consumer, partitions, fetched_high_water=tail.highwater)
            for key, sample in measured.items():
                history.setdefault(key, []).append(sample)
        return judge_group(history)
    finally:
        await tail.stop()
        await consumer.stop()


async def _follow_tails(
    tail: Any, partitions: Sequence[TopicPartition], ends: dict[TopicPartition, int]
) -> None:
    """Position `tail` on the last batch of every partition and fetch once."""
    if not partitions:
        return
    tail.assign(list(partitions))
    for tp in partitions:
        tail.seek(tp, max(0, ends[tp] - 1))
    await tail.getmany(timeout_ms=500)


def format_lag_table(group: str, lags: Sequence[PartitionLag]) -> str:
    """The `clochette lag` table."""
    header = ("TOPIC", "PARTITION", "COMMITTED", "HIGH-WATER", "LAG", "LAG TREND", "VERDICT")
    rows = [header]
    for entry in lags:
        first, last = entry.samples[0], entry.last
        committed = "-" if last.committed is None else str(last.committed)
        trend = f"{first.lag} -> {last.lag}" if len(entry.samples) > 1 else str(last.lag)
        rows.append(
            (
                entry.topic,
                str(entry.partition),
                committed,
                str(last.high_water),
                str(last.lag),
                trend,
                entry.verdict.value,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    total = sum(entry.lag for entry in lags)
    overall = worst([entry.verdict for entry in lags])
    lines.append("")
    lines.append(f"group {group}: total lag {total}, verdict {overall.value}")
    return "\n".join(lines)


async def lag_report(
    bootstrap_servers: str,
    group: str,
    topics: Sequence[str],
    *,
    samples: int,
    interval: float,
    as_json: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> str:
    """What `clochette lag` prints: the table, or JSON for scripts."""
    lags = await sample_lag(
        bootstrap_servers, group, topics, samples=samples, interval=interval, security=security
    )
    if not as_json:
        return format_lag_table(group, lags)
    return json.dumps(
        {
            "group": group,
            "verdict": worst([entry.verdict for entry in lags]).value,
            "partitions": [
                {
                    "topic": entry.topic,
                    "partition": entry.partition,
                    "committed": entry.last.committed,
                    "high_water": entry.last.high_water,
                    "lag": entry.lag,
                    "lag_samples": [sample.lag for sample in entry.samples],
                    "verdict": entry.verdict.value,
                }
                for entry in lags
            ],
        },
        indent=2,
    )
