"""Helpers of the security self-service tests: signing in from a given device and address, and
reading what the database holds about sessions, audit entries and alerts."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.auth.conftest import PASSWORD, AuthHarness

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
EMAIL = "jan.peeters@example.be"


async def sign_in(
    auth: AuthHarness,
    *,
    address: str = "203.0.113.77",
    user_agent: str = FIREFOX_WINDOWS,
    email: str = EMAIL,
    password: str = PASSWORD,
    device_token: str | None = None,
) -> dict[str, Any]:
    """A successful password-only login from `address` with `user_agent`: the token pair."""
    body: dict[str, Any] = {"email": email, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    async with auth.client_from(address) as client:
        response = await client.post(
            "/v1/auth/login", json=body, headers={"User-Agent": user_agent}
        )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def session_of(tokens: dict[str, Any]) -> str:
    """The `sid` claim of the pair's access token (read, not verified)."""
    payload = tokens["access_token"].split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return str(claims["sid"])


async def refresh(auth: AuthHarness, tokens: dict[str, Any]) -> int:
    """The status of a refresh with the pair's refresh token."""
    response = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    return response.status_code


async def database_rows(auth: AuthHarness, query: str, *args: Any) -> list[dict[str, Any]]:
    async with auth.app.state.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(query, *args)]


async def new_sign_in_alerts(auth: AuthHarness) -> list[dict[str, Any]]:
    """The `user.new_sign_in` events queued in the outbox, oldest first."""
    rows = await database_rows(
        auth,
        """SELECT payload FROM outbox
           WHERE topic = 'auth.users' AND payload->>'type' = 'user.new_sign_in' ORDER BY id""",
    )
    return [r["payload"] for r in rows]
