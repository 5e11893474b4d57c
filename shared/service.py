"""The start and stop of a service's database, the same for both services: refuse a schema that
is behind the code, open the pool, publish it as `app.state.pool`, answer readiness, close it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar

from shared.db import create_pool, database_is_reachable
from shared.migrations import require_current_schema
from shared.settings import Settings


class ServiceDatabase:
    """One service's schema and pool. Its `lifespan` runs first among the app's lifespans, so
    every later one finds `app.state.pool` open (and closed only after they ended)."""

    def __init__(
        self, settings: Settings, schema: str, migrations: Path, *, reset_session: bool = True
    ) -> None:
        self._dsn = settings.require_database_url()
        self._schema = schema
        self._migrations = migrations
        self._min_size = settings.db_pool_min_size
        self._max_size = settings.db_pool_max_size
        self._reset_session = reset_session  # see shared.db.create_pool
        self._pool: asyncpg.Pool[Any] | None = None

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        if self._pool is None:
            raise RuntimeError("the database pool is opened by the app's lifespan")
        return self._pool

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        await require_current_schema(self._dsn, self._schema, self._migrations)
        self._pool = await create_pool(
            self._dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            search_path=self._schema,
            reset_session=self._reset_session,
        )
        app.state.pool = self._pool
        try:
            yield
        finally:
            await self._pool.close()

    async def readiness(self) -> str | None:
        """None while a pooled connection answers; the reason otherwise (for /health/ready)."""
        if self._pool is None or not await database_is_reachable(self._pool):
            return "PostgreSQL is not reachable"
        return None
