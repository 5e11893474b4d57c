"""Helpers of the two-factor tests: read the SMS code from the outbox, walk a user through
enrollment, compute codes with the hand-written reference TOTP."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.auth.conftest import AuthHarness
from tests.auth.test_second_factor_units import reference_totp

MOBILE = "0470 12 34 56"
MOBILE_E164 = "+32470123456"


async def last_sms(auth: AuthHarness) -> dict[str, Any]:
    async with auth.app.state.pool.acquire() as conn:
        payload: dict[str, Any] = await conn.fetchval(
            "SELECT payload FROM outbox WHERE topic = 'sms.requested' ORDER BY id DESC LIMIT 1"
        )
    return payload


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    return match.group(1)


def secret_of(otpauth_uri: str) -> str:
    return parse_qs(urlsplit(otpauth_uri).query)["secret"][0]


def code_at(secret: str, at: datetime, seconds: float = 0) -> str:
    return reference_totp(secret, at + timedelta(seconds=seconds))


async def confirm_phone(auth: AuthHarness, headers: dict[str, str]) -> dict[str, Any]:
    sent = await auth.client.post(
        "/v1/me/2fa/phone", json={"phone_number": MOBILE}, headers=headers
    )
    assert sent.status_code == 202, sent.text
    sms = await last_sms(auth)
    verified = await auth.client.post(
        "/v1/me/2fa/phone/verify", json={"code": code_in(sms["text"])}, headers=headers
    )
    assert verified.status_code == 200, verified.text
    body: dict[str, Any] = verified.json()
    return body


async def enable_two_factor(auth: AuthHarness, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Confirm the phone and activate; returns the base32 secret and the recovery codes. The
    clock moves on by one step, so the activation code is not the next login's code."""
    enrollment = await confirm_phone(auth, headers)
    secret = secret_of(enrollment["otpauth_uri"])
    activated = await auth.client.post(
        "/v1/me/2fa/activate", json={"code": code_at(secret, auth.clock.now())}, headers=headers
    )
    assert activated.status_code == 200, activated.text
    auth.clock.advance(30)
    return secret, activated.json()["recovery_codes"]


async def mfa_token(auth: AuthHarness, email: str = "jan.peeters@example.be") -> str:
    body = await auth.login(email)
    assert body["mfa_required"] is True, body
    assert "access_token" not in body
    token: str = body["mfa_token"]
    return token


async def second_step(auth: AuthHarness, token: str, code: str) -> Any:
    return await auth.client.post("/v1/auth/login/2fa", json={"mfa_token": token, "code": code})


async def audit_events(auth: AuthHarness) -> list[str]:
    async with auth.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT event FROM audit_log ORDER BY id")
    return [r["event"] for r in rows]


async def outbox_types(auth: AuthHarness) -> list[tuple[str, Any]]:
    async with auth.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE topic = 'auth.users' ORDER BY id")
    return [(r["payload"]["type"], r["payload"]["data"]) for r in rows]
