"""Composition root of the notifier service: wires settings, database, broker and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from services.notifier.api.groups import notification_groups
from services.notifier.api.http_metrics import instrument_http
from services.notifier.api.longpoll_wiring import LongPolling
from services.notifier.api.wiring import api_lifespan, api_route_handlers
from services.notifier.asyncapi import asyncapi_route
from services.notifier.ingest.consumer import IngestConsumer, build_ingest_consumer
from services.notifier.settings import NotifierSettings
from shared.cors import cors_config, with_cors
from shared.http import build_app, health_routes, internal_app, openapi_config
from shared.kafka import BrokerProbe, KafkaSecurity
from shared.logging import get_logger
from shared.metrics import metrics_endpoint
from shared.service import ServiceDatabase
from shared.settings import Settings

SCHEMA = "notifier"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def internal_routes(settings: Settings, notifier: NotifierSettings) -> list[Any]:
    """/metrics and the AsyncAPI document."""
    return [
        metrics_endpoint,
        asyncapi_route(notifier.topics, notifier.consumer_group, settings.kafka_bootstrap_servers),
    ]


def create_internal_app(settings: Settings, notifier: NotifierSettings | None = None) -> Litestar:
    """The metrics listener: never on the public port in production."""
    return internal_app(internal_routes(settings, notifier or NotifierSettings()))


def create_app(settings: Settings, *, notifier: NotifierSettings | None = None) -> Litestar:
    """The notifier: platform events on Kafka become the notifications behind the bell."""
    notifier = notifier or NotifierSettings()
    # No reset query on every release of a pooled connection (a round trip per request): no
    # notifier code leaves session state on one (tests/notifier_api/test_pool_session.py).
    database = ServiceDatabase(settings, SCHEMA, MIGRATIONS, reset_session=False)
    settings.require_notifier_secret_key()  # refuse to start without it, not at the first page
    kafka_security = KafkaSecurity.from_settings(settings)
    probe = BrokerProbe(settings.kafka_bootstrap_servers, security=kafka_security)
    running: list[IngestConsumer] = []
    long_polling = LongPolling(settings, notifier)

    @asynccontextmanager
    async def ingest(app: Litestar) -> AsyncIterator[None]:
        """The Kafka ingest, writing through the app's pool (opened by the database lifespan,
        which runs first and closes the pool last)."""
        if notifier.ingest_enabled:
            consumer = build_ingest_consumer(
                settings.kafka_bootstrap_servers,
                database.pool,
                notifier,
                enable_idempotence=settings.kafka_enable_idempotence,
                security=kafka_security,
            )
            await consumer.start()
            running.append(consumer)
        log.info("notifier_started", host=settings.notifier_host, port=settings.notifier_port)
        try:
            yield
        finally:
            for consumer in running:
                await consumer.stop()
            running.clear()
            await probe.close()

    async def consumer_ready() -> str | None:
        if not notifier.ingest_enabled:
            return None
        if not running:
            return "the consumer is not connected to Kafka"
        return running[0].readiness()

    return build_app(
        route_handlers=[
            *health_routes(
                {
                    "database": database.readiness,
                    "broker": probe.check,
                    "consumer": consumer_ready,
                    "longpoll": long_polling.readiness,
                }
            ),
            *api_route_handlers(),
            *(internal_routes(settings, notifier) if settings.public_metrics else []),
        ],
        openapi=openapi_config(
            "Clochette notifier",
            "1.0.0",
            "Per-user notifications behind the bell: list, unread count, mark as read.",
        ),
        lifespan=[
            database.lifespan,
            ingest,
            api_lifespan(settings, notifier),
            long_polling.lifespan,
        ],
        on_app_init=[
            instrument_http,
            # GET /v1/notifications/groups
            notification_groups(settings, page_cache_size=notifier.page_cache_size),
            # The bell polls from the web app's origin and must read ETag and X-Poll-Interval;
            # If-None-Match is not a CORS-safelisted header, so the preflight must allow it.
            # Bell v2: the long poll sends Prefer and reads Preference-Applied; the preferences
            # are saved with PUT.
            with_cors(
                cors_config(
                    settings,
                    methods=["GET", "POST", "PUT"],
                    allow_headers=["If-None-Match", "Prefer"],
                    expose_headers=["ETag", "X-Poll-Interval", "Preference-Applied"],
                )
            ),
        ],
    )
