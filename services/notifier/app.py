"""Composition root of the notifier service: wires settings, database, broker and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from shared.db import create_pool, database_is_reachable
from shared.http import build_app, health_routes, openapi_config
from shared.kafka import BrokerProbe
from shared.logging import get_logger
from shared.migrations import require_current_schema
from shared.settings import Settings

SCHEMA = "notifier"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def create_app(settings: Settings) -> Litestar:
    """The notifier: platform events on Kafka become the notifications behind the bell."""
    dsn = settings.require_database_url()
    probe = BrokerProbe(settings.kafka_bootstrap_servers)

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
        log.info("notifier_started", host=settings.notifier_host, port=settings.notifier_port)
        try:
            yield
        finally:
            await probe.close()
            await pool.close()

    async def database_ready() -> str | None:
        pool: Any = getattr(app.state, "pool", None)
        if pool is None or not await database_is_reachable(pool):
            return "PostgreSQL is not reachable"
        return None

    app = build_app(
        route_handlers=[*health_routes({"database": database_ready, "broker": probe.check})],
        openapi=openapi_config(
            "Clochette notifier",
            "1.0.0",
            "Per-user notifications behind the bell: list, unread count, mark as read.",
        ),
        lifespan=[resources],
    )
    return app
