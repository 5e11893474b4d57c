"""Kafka helpers shared by both services: a producer with the house settings and a cheap
reachability probe for readiness checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.logging import get_logger

log = get_logger(__name__)


def create_producer(bootstrap_servers: str, *, enable_idempotence: bool = False) -> Any:
    """An aiokafka producer that waits for all in-sync replicas. Idempotence stays configurable:
    Apache Kafka supports it, the embedded tansu broker does not (InitProducerId fails)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=enable_idempotence,
        linger_ms=5,
        request_timeout_ms=15_000,
    )


class BrokerProbe:
    """Answers "is the broker reachable?" with one metadata request, cached for a moment so a
    readiness endpoint polled often does not load the broker."""

    def __init__(self, bootstrap_servers: str, *, ttl: float = 2.0, timeout: float = 3.0) -> None:
        self._bootstrap = bootstrap_servers
        self._ttl, self._timeout = ttl, timeout
        self._admin: Any = None
        self._checked_at = 0.0
        self._last: str | None = "not checked yet"
        self._lock = asyncio.Lock()

    async def check(self) -> str | None:
        async with self._lock:
            if time.monotonic() - self._checked_at < self._ttl:
                return self._last
            self._last = await self._probe()
            self._checked_at = time.monotonic()
            return self._last

    async def _probe(self) -> str | None:
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self._bootstrap, request_timeout_ms=int(self._timeout * 1000)
                )
                await asyncio.wait_for(admin.start(), self._timeout)
                self._admin = admin
            await asyncio.wait_for(self._admin.list_topics(), self._timeout)
        except Exception as exc:
            await self.close()
            return f"Kafka at {self._bootstrap} is not reachable ({type(exc).__name__})"
        return None

    async def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            try:
                await admin.close()
            except Exception:
                log.debug("broker_probe_close_failed")
