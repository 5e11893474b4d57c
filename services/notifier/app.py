"""Composition root of the notifier service: wires settings, database, broker and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from services.notifier.api.http_metrics import instrument_http
from services.notifier.api.wiring import api_lifespan, api_route_handlers
from services.notifier.asyncapi import asyncapi_route
from services.notifier.ingest.consumer import IngestConsumer
from services.notifier.settings import IngestSettings
from shared.cors import cors_config, with_cors
from shared.db import create_pool, database_is_reachable
from shared.http import build_app, health_routes, openapi_config
from shared.kafka import BrokerProbe
from shared.logging import get_logger
from shared.migrations import require_current_schema
from shared.settings import Settings

SCHEMA = "notifier"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def create_app(settings: Settings, *, ingest: IngestSettings | None = None) -> Litestar:
    """The notifier: platform events on Kafka become the notifications behind the bell."""
    dsn = settings.require_database_url()
    probe = BrokerProbe(settings.kafka_bootstrap_servers)
    ingest = ingest or IngestSettings()
    consumer = (
        IngestConsumer(
            settings.kafka_bootstrap_servers,
            dsn,
            ingest,
            enable_idempotence=settings.kafka_enable_idempotence,
        )
        if ingest.enabled
        else None
    )

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        await require_current_schema(dsn, SCHEMA, MIGRATIONS)
        pool = await create_pool(
            dsn,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            search_path=SCHEMA,
        )
        app.state.pool = pool
        if consumer is not None:
            await consumer.start()
        log.info("notifier_started", host=settings.notifier_host, port=settings.notifier_port)
        try:
            yield
        finally:
            if consumer is not None:
                await consumer.stop()
            await probe.close()
            await pool.close()

    async def database_ready() -> str | None:
        pool: Any = getattr(app.state, "pool", None)
        if pool is None or not await database_is_reachable(pool):
            return "PostgreSQL is not reachable"
        return None

    async def consumer_ready() -> str | None:
        return consumer.readiness() if consumer is not None else None

    app = build_app(
        route_handlers=[
            *health_routes(
                {"database": database_ready, "broker": probe.check, "consumer": consumer_ready}
            ),
            *api_route_handlers(),
            asyncapi_route(ingest.topics, ingest.consumer_group, settings.kafka_bootstrap_servers),
        ],
        openapi=openapi_config(
            "Clochette notifier",
            "1.0.0",
            "Per-user notifications behind the bell: list, unread count, mark as read.",
        ),
        lifespan=[resources, api_lifespan(settings)],
        on_app_init=[
            instrument_http,
            # The bell polls from the web app's origin and must read ETag and X-Poll-Interval;
            # If-None-Match is not a CORS-safelisted header, so the preflight must allow it.
            with_cors(
                cors_config(
                    settings,
                    methods=["GET", "POST"],
                    allow_headers=["If-None-Match"],
                    expose_headers=["ETag", "X-Poll-Interval"],
                )
            ),
        ],
    )
    return app
