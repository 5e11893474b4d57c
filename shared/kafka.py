"""Kafka helpers shared by both services: how every client connects (TLS, SASL), a producer
with the house settings and a cheap reachability probe for readiness checks."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.logging import get_logger

if TYPE_CHECKING:
    from faststream.security import BaseSecurity

    from shared.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client authenticates to the brokers and protects the connection: the
    KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CA_FILE settings, already validated."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        password = settings.kafka_sasl_password
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_ca_file=settings.kafka_ssl_ca_file,
        )

    @property
    def uses_tls(self) -> bool:
        return self.protocol in {"SSL", "SASL_SSL"}

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in {"SASL_PLAINTEXT", "SASL_SSL"}

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (the system's CAs, or KAFKA_SSL_CA_FILE's); None without TLS."""
        if not self.uses_tls:
            return None
        cafile = str(self.ssl_ca_file) if self.ssl_ca_file else None
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)

    def faststream_security(self) -> BaseSecurity | None:
        """The same connection for FastStream's KafkaBroker (which turns it back into the
        aiokafka keyword arguments of `kafka_client_options`)."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        context = self.ssl_context()
        if not self.uses_sasl:
            return BaseSecurity(ssl_context=context, use_ssl=self.uses_tls)
        kinds = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }
        kind = kinds[self.sasl_mechanism or "PLAIN"]
        return kind(
            self.sasl_username or "",
            self.sasl_password or "",
            ssl_context=context,
            use_ssl=self.uses_tls,
        )


PLAINTEXT = KafkaSecurity()


def kafka_client_options(
    bootstrap_servers: str, security: KafkaSecurity = PLAINTEXT
) -> dict[str, Any]:
    """The connection keyword arguments of every aiokafka client (consumer, producer, admin):
    the one place that turns the Kafka settings into bootstrap, TLS and SASL options."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "security_protocol": security.protocol,
    }
    context = security.ssl_context()
    if context is not None:
        options["ssl_context"] = context
    if security.uses_sasl:
        options["sasl_mechanism"] = security.sasl_mechanism
        options["sasl_plain_username"] = security.sasl_username
        options["sasl_plain_password"] = security.sasl_password
    return options


def create_producer(
    bootstrap_servers: str,
    *,
    enable_idempotence: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> Any:
    """An aiokafka producer that waits for all in-sync replicas. Idempotence stays configurable:
    Apache Kafka supports it, the embedded tansu broker does not (InitProducerId fails)."""
    return AIOKafkaProducer(
        **kafka_client_options(bootstrap_servers, security),
        acks="all",
        enable_idempotence=enable_idempotence,
        linger_ms=5,
        request_timeout_ms=15_000,
    )


class BrokerProbe:
    """Answers "is the broker reachable?" with one metadata request, cached for a moment so a
    readiness endpoint polled often does not load the broker."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        security: KafkaSecurity = PLAINTEXT,
        ttl: float = 2.0,
        timeout: float = 3.0,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._security = security
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
                    **kafka_client_options(self._bootstrap, self._security),
                    request_timeout_ms=int(self._timeout * 1000),
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
