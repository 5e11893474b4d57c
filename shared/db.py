"""The database conventions of both services: the pool, the one classifier of database errors
and the unit of work every transaction goes through."""

from __future__ import annotations

import asyncio
import enum
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, TypeAlias, TypeVar

import asyncpg
import msgspec


class RawJson(str):
    """JSON text that is already serialized: a `jsonb` parameter or COPY value stored as is."""

    __slots__ = ()


_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    text = value if isinstance(value, RawJson) else json.dumps(value)
    return _JSONB_VERSION + text.encode()


_JSON_DECODER: Final = msgspec.json.Decoder()


def _decode_jsonb(data: bytes) -> Any:
    # msgspec decodes a page's params about 7x faster than json.loads (measured: 21 rows of
    # event params, 8 us against 56 us) into the same values; PostgreSQL prints jsonb numbers
    # without exponents, but a value msgspec refuses (1e400) is still json.loads's to decode.
    try:
        return _JSON_DECODER.decode(data[1:])
    except msgspec.MsgspecError:
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


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """A release without asyncpg's reset query (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`, one round trip per release): asyncpg still rolls back a transaction
    left open and drops the connection's Python listeners before calling this."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    search_path: str | None = None,
    reset_session: bool = True,
) -> asyncpg.Pool[Any]:
    """A pool whose connections decode JSON and run in the service's own schema.

    `reset_session=False` skips asyncpg's reset query on every release: only for a service
    whose code never leaves session state on a pooled connection (no session advisory lock,
    LISTEN, SET without LOCAL, or cursor outside a transaction), which the notifier's tests
    check (tests/notifier_api/test_pool_session.py)."""
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
        reset=None if reset_session else _keep_session,
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


class DatabaseFault(enum.Enum):
    """What a database error means for whoever runs the statement."""

    UNAVAILABLE = "unavailable"
    """The server cannot be reached or is going away: the same work succeeds later, as is."""
    CONFLICT = "conflict"
    """A serialization failure, deadlock or lock conflict: the transaction can run again now."""
    REJECTED_DATA = "rejected_data"
    """PostgreSQL refuses the data itself (classes 22 and 23): running it again never helps."""
    OTHER = "other"
    """Anything else: a bug or a schema problem."""


# SQLSTATE classes and codes: 08 connection, 53 resources (too many connections, out of memory),
# 57 operator intervention (shutdown, crash, statement timeout), 58 system or I/O error.
_UNAVAILABLE_CLASSES: Final = frozenset({"08", "53", "57", "58"})
_CONFLICT_STATES: Final = frozenset({"40001", "40P01", "55P03", "55006"})
_REJECTED_DATA_CLASSES: Final = frozenset({"22", "23"})


def classify_database_error(exc: BaseException) -> DatabaseFault | None:
    """The one reading of a database error, used by the HTTP boundary, the unit of work and the
    ingest; None for an exception that does not come from the database at all."""
    # InternalClientError: a pooled connection left mid-operation by a server restart ("cannot
    # switch to state …", seen in the chaos soak); asyncpg discards it on release.
    if isinstance(
        exc, OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.InternalClientError
    ):
        return DatabaseFault.UNAVAILABLE
    if not isinstance(exc, asyncpg.PostgresError):
        return None
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate in _CONFLICT_STATES:
        return DatabaseFault.CONFLICT
    if sqlstate[:2] in _UNAVAILABLE_CLASSES:
        return DatabaseFault.UNAVAILABLE
    if sqlstate[:2] in _REJECTED_DATA_CLASSES:
        return DatabaseFault.REJECTED_DATA
    return DatabaseFault.OTHER


def is_database_unavailable(exc: BaseException) -> bool:
    """The database cannot serve this right now, but the request was fine and can be retried."""
    return classify_database_error(exc) in (DatabaseFault.UNAVAILABLE, DatabaseFault.CONFLICT)


def is_transient_database_error(exc: BaseException) -> bool:
    """Retrying the same work later can succeed (unavailable, or a conflict that outlived the
    unit of work's own retries)."""
    return is_database_unavailable(exc)


def is_rejected_data_error(exc: BaseException) -> bool:
    """PostgreSQL refuses the data itself, e.g. a `\\u0000` that JSON allows but jsonb does not."""
    return classify_database_error(exc) is DatabaseFault.REJECTED_DATA


Connection: TypeAlias = "asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]"
Isolation = Literal["read_committed", "repeatable_read", "serializable"]
T = TypeVar("T")


class UnitOfWork:
    """The one transaction convention: acquire a pooled connection, run the work in one
    transaction, and run it again (a few times, after a short jittered pause) when PostgreSQL
    reports a serialization failure or a deadlock. Any other error rolls back and propagates.

    Work functions take the connection and hold no state between attempts, so running one again
    is safe; they never commit or roll back themselves.
    """

    def __init__(
        self, pool: asyncpg.Pool[Any], *, attempts: int = 3, conflict_pause_s: float = 0.005
    ) -> None:
        self._pool = pool
        self._attempts = max(1, attempts)
        self._pause = conflict_pause_s

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        return self._pool

    async def run(
        self,
        work: Callable[[Connection], Awaitable[T]],
        *,
        isolation: Isolation = "read_committed",
        readonly: bool = False,
    ) -> T:
        """`work` inside one transaction; its result once committed."""
        for attempt in range(1, self._attempts + 1):
            try:
                async with (
                    self._pool.acquire() as conn,
                    conn.transaction(isolation=isolation, readonly=readonly),
                ):
                    return await work(conn)
            except asyncpg.PostgresError as exc:
                if attempt == self._attempts or (
                    classify_database_error(exc) is not DatabaseFault.CONFLICT
                ):
                    raise
            await asyncio.sleep(self._pause * attempt * (0.5 + random.random()))  # noqa: S311
        raise AssertionError("unreachable")  # pragma: no cover

    async def read(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on a pooled connection without an explicit transaction: one statement, or
        several that need no common snapshot."""
        async with self._pool.acquire() as conn:
            return await work(conn)
