"""Composition root of the auth service: wires settings, database and routes into one app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from shared.db import create_pool, database_is_reachable
from shared.http import build_app, health_routes, openapi_config
from shared.logging import get_logger
from shared.migrations import require_current_schema
from shared.settings import Settings

SCHEMA = "auth"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def create_app(settings: Settings) -> Litestar:
    """The auth service: credentials, display language, two-factor state and tokens."""
    dsn = settings.require_database_url()
    settings.require_secret_key()

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        await require_current_schema(dsn, SCHEMA, MIGRATIONS)
        pool = await create_pool(
            dsn,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            search_path=SCHEMA,
        )
        app.state.pool = pool
        log.info("auth_started", host=settings.auth_host, port=settings.auth_port)
        try:
            yield
        finally:
            await pool.close()

    async def database_ready() -> str | None:
        pool: Any = getattr(app.state, "pool", None)
        if pool is None or not await database_is_reachable(pool):
            return "PostgreSQL is not reachable"
        return None

    app = build_app(
        route_handlers=[*health_routes({"database": database_ready})],
        openapi=openapi_config(
            "Clochette auth",
            "1.0.0",
            "Credentials, display language, two-factor authentication and access tokens.",
        ),
        lifespan=[database],
    )
    return app
