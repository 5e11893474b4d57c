"""The notifier's pool releases connections without asyncpg's reset query (`SELECT
pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`, a round trip per request): safe only
while no notifier code leaves session state on a pooled connection. This drives every route and
the background writers (retention, the ingest's both write paths, housekeeping) through the app's
own pool, then inspects every connection of that pool from inside its session."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.notifier.api.repository import NotificationRepository
from services.notifier.api.retention import RetentionPurger
from services.notifier.categories import category_of
from services.notifier.ingest.batch import NotificationEvent, RecipientChange
from services.notifier.ingest.housekeeping import purge_expired
from services.notifier.ingest.repository import IngestRepository
from tests.notifier_api.conftest import Bell

# What a connection can carry from one use to the next besides its prepared statements: each
# query must return 0 on a connection back from the pool.
SESSION_STATE = {
    "advisory locks": "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
    "AND locktype = 'advisory'",
    "LISTEN channels": "SELECT count(*) FROM pg_listening_channels()",
    "open cursors": "SELECT count(*) FROM pg_cursors WHERE name <> ''",
    # (asyncpg's type introspection sets `jit` back to its own value: source `session`, unchanged)
    "settings changed by SET": "SELECT count(*) FROM pg_settings WHERE source = 'session' "
    "AND setting IS DISTINCT FROM reset_val",
    "SQL-level prepared statements": "SELECT count(*) FROM pg_prepared_statements WHERE from_sql",
    "temporary tables": "SELECT count(*) FROM pg_class WHERE relpersistence = 't'",
}


class _Record:
    topic, partition, offset, key, value, timestamp = "payment.received", 0, 0, None, None, 0


def _event(organization: uuid.UUID, user: uuid.UUID | None) -> NotificationEvent:
    return NotificationEvent(
        "payment.received",
        uuid.uuid4(),
        organization,
        user,
        "payment.received",
        '{"status": "full"}',
        datetime(2026, 11, 28, 9, tzinfo=UTC),
        _Record(),
        str(category_of("payment.received", {"status": "full"})),
    )


async def _state_of(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> dict[str, int]:
    state = {"an open transaction": int(conn.is_in_transaction())}
    return state | {name: int(await conn.fetchval(query)) for name, query in SESSION_STATE.items()}


async def test_pooled_connections_carry_no_session_state(bell: Bell) -> None:
    assert bell.app is not None
    pool: asyncpg.Pool[Any] = bell.app.state.pool
    user = await bell.add_user()
    ids = [await bell.notify(user) for _ in range(3)]
    old = await bell.notify(user, created_at=datetime.now(UTC) - timedelta(days=400))
    get, post, h = bell.client.get, bell.client.post, user.headers

    async def every_route() -> None:
        for query in ("", "?status=unread", "?status=archived", "?category=info", "?limit=1"):
            assert (await get(f"/v1/notifications{query}", headers=h)).status_code == 200
        first = (await get("/v1/notifications?limit=1", headers=h)).json()
        cursor = {"cursor": first["next_cursor"], "limit": 1}
        assert (await get("/v1/notifications", params=cursor, headers=h)).status_code == 200
        groups = (await get("/v1/notifications/groups", headers=h)).json()
        group = {"group": groups["items"][0]["key"]}
        assert (await get("/v1/notifications", params=group, headers=h)).status_code == 200
        assert (await get("/v1/notifications/unread-count", headers=h)).status_code == 200
        for change in ("read", "unread", "archive", "unarchive"):
            answer = await post(f"/v1/notifications/{ids[0]}/{change}", headers=h)
            assert answer.status_code == 204
        assert (await post("/v1/notifications/seen", headers=h)).status_code in (200, 204)
        assert (await post("/v1/notifications/read-all", headers=h)).status_code == 204
        muted = {"muted": ["payment.received"]}
        assert (
            await bell.client.put("/v1/notification-preferences", json=muted, headers=h)
        ).status_code == 200
        assert (await get("/v1/notification-preferences", headers=h)).status_code == 200

    # Concurrently, so the requests spread over several pooled connections.
    await asyncio.gather(*(every_route() for _ in range(4)))
    retention = RetentionPurger(NotificationRepository(pool), max_age=timedelta(days=180))
    assert await retention.purge_expired() >= 1
    ingest = IngestRepository(pool, copy_threshold=2)
    change = RecipientChange(user.id, user.organization_id, language="fr")
    await ingest.store([_event(user.organization_id, user.id)], [change])  # INSERT path
    await ingest.store([_event(user.organization_id, user.id) for _ in range(3)], [])  # COPY
    await purge_expired(pool, 8, 30)
    assert await bell.pool.fetchval("SELECT count(*) FROM notifications WHERE id = $1", old) == 0

    # Every connection of the pool at once, each inspected from inside its own session.
    connections = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        states = [await _state_of(conn) for conn in connections]
    finally:
        for conn in connections:
            await pool.release(conn)
    assert len(states) >= 2
    clean = {"an open transaction": 0} | dict.fromkeys(SESSION_STATE, 0)
    assert states == [clean] * len(states)
