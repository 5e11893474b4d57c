"""Helpers of the passkey tests: an auth app whose web app lives at https://app.clochette.test
(the relying party is derived from WEB_APP_BASE_URL, as in production without WEBAUTHN_*), and
the ceremonies driven through the HTTP API with the software authenticator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.auth.app import create_app
from services.auth.platform.config import AuthSettings
from shared.clock import ManualClock
from shared.settings import Settings
from tests.auth.conftest import PASSWORD, SECRET_KEY, AuthHarness, http_client, running
from tests.auth.soft_authenticator import SoftAuthenticator

WEB_APP = "https://app.clochette.test"
RP_ID = "app.clochette.test"


@asynccontextmanager
async def passkey_app(
    database_url: str, auth_settings: AuthSettings, clock: ManualClock
) -> AsyncIterator[AuthHarness]:
    settings = Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
        CLOCHETTE_SECRET_KEY=SECRET_KEY,
        CLOCHETTE_ENV="test",
        WEB_APP_BASE_URL=WEB_APP,
    )
    app = create_app(settings, auth_settings=auth_settings, clock=clock)
    async with running(app), http_client(app) as client:
        yield AuthHarness(app, client, clock)


@pytest.fixture(name="auth")
async def passkey_auth(
    database_url: str, auth_settings: AuthSettings, clock: ManualClock
) -> AsyncIterator[AuthHarness]:
    """The `auth` fixture of the passkey tests (the app with a WebAuthn origin); a module
    imports it to use it instead of conftest's."""
    async with passkey_app(database_url, auth_settings, clock) as harness:
        yield harness


def authenticator(**kwargs: Any) -> SoftAuthenticator:
    return SoftAuthenticator(origin=WEB_APP, **kwargs)


async def registration_options(
    auth: AuthHarness, headers: dict[str, str], **step_up: str
) -> httpx.Response:
    return await auth.client.post(
        "/v1/me/2fa/passkeys/options", json=step_up or None, headers=headers
    )


async def register(
    auth: AuthHarness,
    headers: dict[str, str],
    device: SoftAuthenticator,
    name: str = "Laptop",
    **step_up: str,
) -> dict[str, Any]:
    """Options, the authenticator's answer, registration: the 201 body."""
    options = await registration_options(auth, headers, **step_up)
    assert options.status_code == 200, options.text
    created = await auth.client.post(
        "/v1/me/2fa/passkeys",
        json={"name": name, "credential": device.register(options.json())},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def passkey_options(auth: AuthHarness, token: str) -> httpx.Response:
    return await auth.client.post("/v1/auth/login/2fa/passkey-options", json={"mfa_token": token})


async def passkey_step(auth: AuthHarness, token: str, assertion: Any) -> httpx.Response:
    return await auth.client.post(
        "/v1/auth/login/2fa", json={"mfa_token": token, "passkey": assertion}
    )


async def list_passkeys(auth: AuthHarness, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = await auth.client.get("/v1/me/2fa/passkeys", headers=headers)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def remove(
    auth: AuthHarness, headers: dict[str, str], passkey_id: str, **body: str
) -> httpx.Response:
    return await auth.client.request(
        "DELETE",
        f"/v1/me/2fa/passkeys/{passkey_id}",
        json={"password": PASSWORD, **body},
        headers=headers,
    )


async def stored_passkey(auth: AuthHarness, passkey_id: str) -> dict[str, Any]:
    async with auth.app.state.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT sign_count, last_used_at FROM passkeys WHERE id = $1::uuid", passkey_id
        )
    assert row is not None
    return dict(row)
