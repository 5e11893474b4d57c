"""Fixtures of the auth tests: an app on a fresh database with a manual clock and cheap argon2
parameters, and helpers to create users and log in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar

from services.auth.accounts.accounts import NewUser
from services.auth.app import create_app
from services.auth.domain import Language, Role, User
from services.auth.platform.config import AuthSettings
from shared.clock import ManualClock
from shared.settings import Settings

SECRET_KEY = "test-secret-key-" + "x" * 40
PASSWORD = "violet tram under snow"


def cheap_auth_settings(**overrides: Any) -> AuthSettings:
    """Fast argon2 parameters and no relay, unless a test asks otherwise."""
    values: dict[str, Any] = {
        "argon2_time_cost": 1,
        "argon2_memory_kib": 256,
        "argon2_parallelism": 1,
        "hash_threads": 2,
        "outbox_relay_enabled": False,
        "housekeeping_interval_seconds": 3600,
    }
    values.update(overrides)
    return AuthSettings(**values)


def settings_for(
    database_url: str, kafka: str = "127.0.0.1:9", secret: str = SECRET_KEY
) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        CLOCHETTE_SECRET_KEY=secret,
        CLOCHETTE_ENV="test",
    )


CLIENT_ADDRESS = "198.51.100.20"


def http_client(app: Litestar, address: str = CLIENT_ADDRESS) -> httpx.AsyncClient:
    """A client calling the app in this event loop (so requests really run concurrently), from
    the given client address."""
    transport = httpx.ASGITransport(app=cast(Any, app), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://auth.test")


@dataclass
class AuthHarness:
    """A running app (lifespan entered in the test's event loop), a client and the clock."""

    app: Litestar
    client: httpx.AsyncClient
    clock: ManualClock

    def client_from(self, address: str) -> httpx.AsyncClient:
        return http_client(self.app, address)

    async def create_user(
        self,
        email: str = "jan.peeters@example.be",
        *,
        organization: str = "Brasserie Clochette",
        password: str = PASSWORD,
        role: Role = "member",
        language: Language = "nl",
    ) -> User:
        user, _ = await self.app.state.accounts.create_user_in_named_organization(
            organization, NewUser(email, password, role, language)
        )
        assert isinstance(user, User)
        return user

    async def login(
        self, email: str = "jan.peeters@example.be", password: str = PASSWORD
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def bearer(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[Litestar]:
    """The app's lifespan, entered and left in one task (anyio requires it; pytest-asyncio
    finalises fixtures in another task)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises the start-up error
    try:
        yield app
    finally:
        stop.set()
        await task


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def auth_settings() -> AuthSettings:
    return cheap_auth_settings()


@pytest.fixture
async def auth(
    database_url: str, auth_settings: AuthSettings, clock: ManualClock
) -> AsyncIterator[AuthHarness]:
    app = create_app(settings_for(database_url), auth_settings=auth_settings, clock=clock)
    async with running(app), http_client(app) as client:
        yield AuthHarness(app, client, clock)
