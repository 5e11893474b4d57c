"""Two-factor authentication through HTTP on a real PostgreSQL: enrollment, the second login
step, the time window, replay, the per-token and per-user limits under concurrency, recovery
codes, the sealed secret, and deactivation."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import unquote

import pytest

from services.auth.platform.crypto import Sealer
from services.auth.two_factor import verifier
from services.auth.two_factor.verifier import TOTP_SEALING_PURPOSE
from tests.auth.conftest import PASSWORD, SECRET_KEY, AuthHarness
from tests.auth.database_use import counted_database_use
from tests.auth.two_factor_support import (
    MOBILE_E164,
    audit_events,
    code_at,
    confirm_phone,
    enable_two_factor,
    mfa_token,
    outbox_types,
    second_step,
    secret_of,
)


def claims(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_the_whole_flow_from_activation_to_a_two_step_login(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    me = (await auth.client.get("/v1/me", headers=headers)).json()
    assert me["two_factor"] == {
        "enabled": False,
        "phone_number": None,
        "passkeys": 0,
        "methods": [],
    }

    enrollment = await confirm_phone(auth, headers)
    assert unquote(enrollment["otpauth_uri"]).startswith(
        "otpauth://totp/Clochette:jan.peeters@example.be?"
    )
    assert enrollment["qr_svg"].startswith("<svg")
    me = (await auth.client.get("/v1/me", headers=headers)).json()
    assert me["two_factor"] == {
        "enabled": False,
        "phone_number": MOBILE_E164,
        "passkeys": 0,
        "methods": [],
    }
    # Nothing counts before activation: login is still password-only.
    assert "access_token" in await auth.login()

    secret = secret_of(enrollment["otpauth_uri"])
    activated = await auth.client.post(
        "/v1/me/2fa/activate", json={"code": code_at(secret, auth.clock.now())}, headers=headers
    )
    assert activated.status_code == 200, activated.text
    codes = activated.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    me = (await auth.client.get("/v1/me", headers=headers)).json()
    assert me["two_factor"] == {
        "enabled": True,
        "phone_number": MOBILE_E164,
        "passkeys": 0,
        "methods": ["totp"],
    }
    assert ("user.two_factor_enabled", {}) in await outbox_types(auth)

    auth.clock.advance(30)
    body = await auth.login()
    assert body["mfa_required"] is True
    assert body["expires_in"] == 300
    assert set(body) == {"mfa_required", "mfa_token", "expires_in"}
    done = await second_step(auth, body["mfa_token"], code_at(secret, auth.clock.now()))
    assert done.status_code == 200, done.text
    assert claims(done.json()["access_token"])["amr"] == ["pwd", "otp"]
    # The mfa_token is single use.
    again = await second_step(auth, body["mfa_token"], code_at(secret, auth.clock.now(), 30))
    assert again.status_code == 401
    assert "two_factor_enabled" in await audit_events(auth)


async def test_activation_needs_a_confirmed_phone_and_a_right_code(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    early = await auth.client.post("/v1/me/2fa/activate", json={"code": "123456"}, headers=headers)
    assert early.status_code == 409
    enrollment = await confirm_phone(auth, headers)
    secret = secret_of(enrollment["otpauth_uri"])
    wrong = code_at(secret, auth.clock.now(), 120)
    refused = await auth.client.post("/v1/me/2fa/activate", json={"code": wrong}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/invalid-code")
    assert (await auth.client.get("/v1/me", headers=headers)).json()["two_factor"][
        "enabled"
    ] is False


@pytest.mark.parametrize("offset", [-30, 0, 30])
async def test_codes_one_step_away_are_accepted(auth: AuthHarness, offset: int) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    auth.clock.advance(60)  # well past the activation step
    token = await mfa_token(auth)
    answer = await second_step(auth, token, code_at(secret, auth.clock.now(), offset))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("offset", [-60, 60])
async def test_codes_two_steps_away_are_refused(auth: AuthHarness, offset: int) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    auth.clock.advance(90)
    token = await mfa_token(auth)
    answer = await second_step(auth, token, code_at(secret, auth.clock.now(), offset))
    assert answer.status_code == 401
    assert answer.json()["type"].endswith("/invalid-second-factor")


async def test_a_code_is_never_accepted_twice(auth: AuthHarness) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    code = code_at(secret, auth.clock.now())
    assert (await second_step(auth, await mfa_token(auth), code)).status_code == 200
    replay = await second_step(auth, await mfa_token(auth), code)
    assert replay.status_code == 401
    assert "two_factor_code_replayed" in await audit_events(auth)
    # An earlier step is refused too, once a later one was used.
    earlier = code_at(secret, auth.clock.now(), -30)
    assert (await second_step(auth, await mfa_token(auth), earlier)).status_code == 401
    auth.clock.advance(30)
    fresh = code_at(secret, auth.clock.now())
    assert (await second_step(auth, await mfa_token(auth), fresh)).status_code == 200


async def test_the_sixth_code_on_a_token_is_refused_even_when_right(auth: AuthHarness) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    token = await mfa_token(auth)
    for _ in range(5):
        assert (await second_step(auth, token, "000000")).status_code == 401
    right = code_at(secret, auth.clock.now())
    assert (await second_step(auth, token, right)).status_code == 401
    events = await audit_events(auth)
    assert events.count("two_factor_code_failed") == 5
    assert events.count("two_factor_suspicious_codes") == 1
    assert ("user.suspicious_codes", {"failed_attempts": 5}) in await outbox_types(auth)
    # Starting over with the password works.
    assert (await second_step(auth, await mfa_token(auth), right)).status_code == 200


async def test_twenty_parallel_guesses_evaluate_no_more_than_five(
    auth: AuthHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await auth.create_user()
    await enable_two_factor(auth, auth.bearer(await auth.login()))
    token = await mfa_token(auth)
    evaluated = 0
    original = verifier.CodeVerifier.check

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal evaluated
        evaluated += 1
        await asyncio.sleep(0.01)  # widen any race window
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(verifier.CodeVerifier, "check", counting)
    guesses = [f"{n:06d}" for n in range(100000, 100020)]
    answers = await asyncio.gather(*(second_step(auth, token, g) for g in guesses))
    assert {a.status_code for a in answers} == {401}
    assert evaluated <= 5
    async with auth.app.state.pool.acquire() as conn:
        failed = await conn.fetchval("SELECT failed_attempts FROM mfa_challenges")
    assert failed == 5


async def test_wrong_codes_across_tokens_hit_a_per_user_cap(auth: AuthHarness) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    for _ in range(2):
        token = await mfa_token(auth)
        for _ in range(5):
            assert (await second_step(auth, token, "000000")).status_code == 401
    token = await mfa_token(auth)
    capped = await second_step(auth, token, code_at(secret, auth.clock.now()))
    assert capped.status_code == 429
    assert int(capped.headers["retry-after"]) > 0
    # The half-done login is discarded: the token does not come back to life later.
    auth.clock.advance(60)
    assert (await second_step(auth, token, code_at(secret, auth.clock.now()))).status_code == 401
    auth.clock.advance(15 * 60)
    fresh = await mfa_token(auth)
    assert (await second_step(auth, fresh, code_at(secret, auth.clock.now()))).status_code == 200


async def test_a_recovery_code_works_once(auth: AuthHarness) -> None:
    await auth.create_user()
    _, codes = await enable_two_factor(auth, auth.bearer(await auth.login()))
    used = await second_step(auth, await mfa_token(auth), codes[3].lower().replace("-", " "))
    assert used.status_code == 200, used.text
    assert claims(used.json()["access_token"])["amr"] == ["pwd", "otp"]
    assert (await second_step(auth, await mfa_token(auth), codes[3])).status_code == 401
    assert (await second_step(auth, await mfa_token(auth), codes[4])).status_code == 200
    assert "recovery_code_used" in await audit_events(auth)
    published = await outbox_types(auth)
    left = [data for kind, data in published if kind == "user.recovery_code_used"]
    assert left == [{"remaining": 9}, {"remaining": 8}]


async def test_regenerating_recovery_codes_needs_the_password_and_a_code(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    secret, old = await enable_two_factor(auth, headers)
    code = code_at(secret, auth.clock.now())
    wrong = await auth.client.post(
        "/v1/me/2fa/recovery-codes",
        json={"password": "not my password", "code": code},
        headers=headers,
    )
    assert wrong.status_code == 401
    assert wrong.json()["type"].endswith("/wrong-current-password")
    new = await auth.client.post(
        "/v1/me/2fa/recovery-codes", json={"password": PASSWORD, "code": code}, headers=headers
    )
    assert new.status_code == 200, new.text
    assert len(new.json()["recovery_codes"]) == 10
    assert ("user.recovery_codes_regenerated", {}) in await outbox_types(auth)
    assert (await second_step(auth, await mfa_token(auth), old[0])).status_code == 401
    fresh = new.json()["recovery_codes"][0]
    assert (await second_step(auth, await mfa_token(auth), fresh)).status_code == 200


async def test_the_stored_secret_is_sealed_not_the_base32_secret(auth: AuthHarness) -> None:
    user = await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    async with auth.app.state.pool.acquire() as conn:
        sealed = await conn.fetchval("SELECT sealed_secret FROM two_factor")
        digests = await conn.fetch("SELECT code_digest FROM recovery_codes")
    assert secret.encode() not in sealed
    assert base64.b32encode(base64.b32decode(secret + "=" * (-len(secret) % 8))) not in sealed
    assert Sealer(SECRET_KEY, TOTP_SEALING_PURPOSE).unseal(sealed, user.id.bytes) == secret.encode()
    assert len(digests) == 10
    assert all(len(r["code_digest"]) == 32 for r in digests)


async def test_deactivation_needs_the_password_and_a_code_and_restores_password_only_login(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    secret, _ = await enable_two_factor(auth, headers)
    other = await second_step(auth, await mfa_token(auth), code_at(secret, auth.clock.now()))
    other_refresh = other.json()["refresh_token"]

    auth.clock.advance(30)
    code = code_at(secret, auth.clock.now())
    wrong = await auth.client.request(
        "DELETE", "/v1/me/2fa", json={"password": "not my password", "code": code}, headers=headers
    )
    assert wrong.status_code == 401
    assert "two_factor_password_refused" in await audit_events(auth)
    off = await auth.client.request(
        "DELETE", "/v1/me/2fa", json={"password": PASSWORD, "code": code}, headers=headers
    )
    assert off.status_code == 204, off.text

    me = (await auth.client.get("/v1/me", headers=headers)).json()
    assert me["two_factor"] == {
        "enabled": False,
        "phone_number": None,
        "passkeys": 0,
        "methods": [],
    }
    body = await auth.login()
    assert "access_token" in body
    assert "mfa_required" not in body
    gone = await auth.client.post("/v1/auth/refresh", json={"refresh_token": other_refresh})
    assert gone.status_code == 401
    assert ("user.two_factor_disabled", {}) in await outbox_types(auth)
    async with auth.app.state.pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT (SELECT count(*) FROM two_factor) + (SELECT count(*) FROM recovery_codes)"
        )
    assert left == 0


async def test_each_login_step_with_two_factor_stays_within_two_transactions(
    auth: AuthHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    with counted_database_use(monkeypatch) as password_step:
        token = await mfa_token(auth)
    with counted_database_use(monkeypatch) as code_step:
        done = await second_step(auth, token, code_at(secret, auth.clock.now()))
    assert done.status_code == 200, done.text
    assert (password_step.acquisitions, password_step.transactions) == (2, 2)
    # The code check, its bookkeeping and the new session commit together.
    assert (code_step.acquisitions, code_step.transactions) == (1, 1)
