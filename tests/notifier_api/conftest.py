"""Harness for the bell API: an Ed25519 key pair served as a JWKS over real HTTP, tokens minted
like the auth service mints them, the notifier app served by uvicorn on a fresh database, and a
writer that adds notifications the way the ingest does (row and recipient counters in one
transaction). The JWKS server and the token minting are `clochette.jwks_stub`'s (the API
benchmark uses the same).

The app runs in a real server in the test's own event loop (not Litestar's test client, which
runs each request to completion in a portal thread): concurrent requests are really concurrent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar

from clochette.devstack import free_port
from clochette.jwks_stub import JwksServer, SigningKey, mint
from services.notifier.app import create_app
from services.notifier.categories import category_of
from shared.db import create_pool
from shared.settings import Settings

SECRET_KEY = "test-secret-" + "x" * 40
UNUSED_BROKER = "127.0.0.1:9"
WEB_APP = "https://app.example.be"


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey(kid="key-1")


@pytest.fixture
def jwks_server(signing_key: SigningKey) -> Iterator[JwksServer]:
    server = JwksServer([signing_key])
    try:
        yield server
    finally:
        server.close()


def settings_for(database_url: str, jwks_url: str, kafka: str, **extra: Any) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        CLOCHETTE_SECRET_KEY=SECRET_KEY,
        CLOCHETTE_ENV="test",
        AUTH_JWKS_URL=jwks_url,
        WEB_APP_BASE_URL=WEB_APP,
        **extra,
    )


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    organization_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Bell:
    """The notifier app under test plus direct database access for arranging data."""

    def __init__(self, client: httpx.AsyncClient, pool: asyncpg.Pool[Any], key: SigningKey) -> None:
        self.client = client
        self.pool = pool
        self.key = key
        self.app: Litestar | None = None  # the app under test (its state: pool, inbox)

    async def add_user(
        self, language: str = "en", *, with_recipient: bool = True, token_lang: str | None = None
    ) -> User:
        """A user the notifier knows (a recipient row), with a valid access token."""
        user_id, org = uuid.uuid4(), uuid.uuid4()
        if with_recipient:
            await self.pool.execute(
                "INSERT INTO recipients (user_id, organization_id, language) VALUES ($1, $2, $3)",
                user_id,
                org,
                language,
            )
        token = mint(self.key, user_id, org=org, lang=token_lang or language)
        return User(user_id, org, token)

    async def notify(
        self,
        user: User | uuid.UUID,
        notification_type: str = "payment.received",
        params: dict[str, Any] | None = None,
        *,
        created_at: datetime | None = None,
        read: bool = False,
    ) -> uuid.UUID:
        """Store a notification as the ingest does: row, count, version, latest arrival at once."""
        user_id = user.id if isinstance(user, User) else user
        async with self.pool.acquire() as conn, conn.transaction():
            return await insert_notification(
                conn, user_id, notification_type, params, created_at=created_at, read=read
            )

    async def unread_in_database(self, user: User) -> tuple[int, int]:
        """(unread rows, recipients.unread_count) straight from the tables."""
        rows = await self.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", user.id
        )
        counter = await self.pool.fetchval(
            "SELECT unread_count FROM recipients WHERE user_id = $1", user.id
        )
        return int(rows), int(counter)


PAYMENT = {
    "invoice_id": "inv-1",
    "invoice_number": "F2026-0042",
    "customer_name": "Bakkerij Peeters",
    "amount": {"amount": "1234.56", "currency": "EUR"},
    "status": "full",
}


async def insert_notification(
    conn: Any,
    user_id: uuid.UUID,
    notification_type: str = "payment.received",
    params: dict[str, Any] | None = None,
    *,
    created_at: datetime | None = None,
    read: bool = False,
) -> uuid.UUID:
    """The ingest's write, for one notification, inside the caller's transaction: the row with
    its category, and each counter raised when the row is visible (the user's muted types)."""
    notification_id = uuid.uuid4()
    params = params if params is not None else PAYMENT
    category = str(category_of(notification_type, params))
    # the ingest's lock order: the recipient row first (api/sql.py)
    await conn.execute("SELECT 1 FROM recipients WHERE user_id = $1 FOR NO KEY UPDATE", user_id)
    created = await conn.fetchval(
        """INSERT INTO notifications
               (id, user_id, event_id, type, params, category, created_at, read_at, seen_at)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now()),
                   CASE WHEN $8 THEN coalesce($7, now()) END,
                   CASE WHEN $8 THEN coalesce($7, now()) END)
           RETURNING created_at""",
        notification_id,
        user_id,
        uuid.uuid4(),
        notification_type,
        params,
        category,
        created_at,
        read,
    )
    await conn.execute(
        """UPDATE recipients r
           SET (unread_count, unseen_count, unread_action, unread_info, unread_security) = (
                   SELECT r.unread_count + v, r.unseen_count + v,
                          r.unread_action + v * ($2 = 'action')::int,
                          r.unread_info + v * ($2 = 'info')::int,
                          r.unread_security + v * ($2 = 'security')::int
                   FROM (SELECT (NOT $4 AND ($2 <> 'info' OR $5 <> ALL (r.muted_types)))::int
                         AS v) x),
               version = r.version + 1,
               latest_created_at = greatest(r.latest_created_at, $3), updated_at = now()
           WHERE r.user_id = $1""",
        user_id,
        category,
        created,
        read,
        notification_type,
    )
    return notification_id


@pytest.fixture
async def bell(
    database_url: str,
    jwks_server: JwksServer,
    signing_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Bell]:
    # The Kafka consumer is not under test here (and joining a group takes seconds).
    monkeypatch.setenv("NOTIFIER_INGEST_ENABLED", "false")
    app = create_app(settings_for(database_url, jwks_server.url, UNUSED_BROKER))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # start-up failed: raise its error
            raise AssertionError("the notifier stopped before it started")
        await asyncio.sleep(0.01)
    pool = await create_pool(database_url, min_size=1, max_size=8, search_path="notifier")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            bell = Bell(client, pool, signing_key)
            bell.app = app
            yield bell
    finally:
        await pool.close()
        server.should_exit = True
        await serving
