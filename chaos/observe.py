"""What the soak watches while it runs: consumer lag and the services' resident memory.

Lag is read like `clochette lag` does — a librdkafka consumer that carries the notifier's group
id without joining the group (tansu drops the admin OffsetFetch call) — with the high-water mark
of the platform topics taken from the producer's own acknowledgements where they are larger
(tansu's ListOffsets answers short by the last batch's size).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import psutil
from confluent_kafka import Consumer, KafkaException, TopicPartition

from chaos.invariants import LagSample
from shared.topics import PLATFORM_TOPICS, USER_EVENTS_TOPIC

GROUP = "clochette-notifier"
CONSUMED_TOPICS = (*PLATFORM_TOPICS, USER_EVENTS_TOPIC)


class LagReader:
    """Committed offsets and high-water marks of every partition the notifier consumes."""

    def __init__(self, bootstrap: str, acked_high_water: Callable[[], dict[str, int]]) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": GROUP,
                "enable.auto.commit": False,
                "socket.timeout.ms": 3000,
                "log_level": 3,  # the broker pause times requests out: expected, not news
            }
        )
        self._acked = acked_high_water
        metadata = self._consumer.list_topics(timeout=10)
        self.partitions = [
            TopicPartition(topic, p)
            for topic in CONSUMED_TOPICS
            for p in sorted(metadata.topics[topic].partitions)
        ]

    def sample(self) -> LagSample:
        """One measurement; committed and high-water None when the broker did not answer."""
        at = time.monotonic()
        try:
            committed = self._consumer.committed(self.partitions, timeout=3)
            high_water: dict[str, int] = {}
            for tp in self.partitions:
                _, high = self._consumer.get_watermark_offsets(tp, timeout=3, cached=False)
                high_water[f"{tp.topic}:{tp.partition}"] = high
        except KafkaException:
            return LagSample(at, None, None)
        for key, value in self._acked().items():
            high_water[key] = max(high_water.get(key, 0), value)
        return LagSample(
            at,
            {f"{tp.topic}:{tp.partition}": max(tp.offset, 0) for tp in committed},
            high_water,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._consumer.close()


async def sample_lag(
    reader: LagReader, samples: list[LagSample], stop: asyncio.Event, interval: float = 2.0
) -> None:
    while not stop.is_set():
        samples.append(await asyncio.to_thread(reader.sample))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def sample_rss(
    pids: Callable[[], dict[str, int | None]],
    samples: dict[str, list[tuple[float, int]]],
    stop: asyncio.Event,
    interval: float = 3.0,
) -> None:
    """RSS of each service process every `interval` seconds. Keyed by service and pid: a
    restarted notifier is a new process whose memory starts again from nothing."""
    while not stop.is_set():
        now = time.monotonic()
        for name, pid in pids().items():
            if pid is None:
                continue
            with contextlib.suppress(psutil.Error):
                rss: Any = psutil.Process(pid).memory_info().rss
                samples.setdefault(f"{name}#{pid}", []).append((now, int(rss)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
