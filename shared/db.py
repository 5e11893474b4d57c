"""asyncpg pool creation shared by both services."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


class RawJson(str):
    """JSON text that is already serialized: a `jsonb` parameter or COPY value stored as is."""

    __slots__ = ()


_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    text = value if isinstance(value, RawJson) else json.dumps(value)
    return _JSONB_VERSION + text.encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # Binary, so that COPY (binary only in asyncpg) can write jsonb columns.
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
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
