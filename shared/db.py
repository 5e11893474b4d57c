"""asyncpg pool creation shared by both services."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, search_path: str | None = None
) -> asyncpg.Pool[Any]:
    """A pool whose connections decode JSON and run in the service's own schema."""
    server_settings = {"application_name": "clochette"}
    if search_path:
        server_settings["search_path"] = search_path
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings=server_settings,
        command_timeout=30,
    )
    if pool is None:  # pragma: no cover - asyncpg returns None only when awaited differently
        raise RuntimeError("asyncpg did not create a pool")
    return pool


async def database_is_reachable(pool: asyncpg.Pool[Any], seconds: float = 2.0) -> bool:
    """True when a pooled connection answers a trivial query within `seconds`."""
    try:
        async with pool.acquire(timeout=seconds) as conn:
            await conn.fetchval("SELECT 1", timeout=seconds)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True
