"""The second login step with a passkey, driven by the software authenticator: tokens like the
code path (device token, audit), the counter and last use move; a replayed assertion, an
expired challenge, another origin or RP id, a counter that went backwards and another user's
passkey are refused."""

from __future__ import annotations

from typing import Any

import pytest

from services.auth.platform.config import AuthSettings
from tests.auth.conftest import AuthHarness, cheap_auth_settings
from tests.auth.passkey_support import (
    authenticator,
    passkey_auth,  # noqa: F401 - the `auth` fixture of this module
    passkey_options,
    passkey_step,
    register,
    stored_passkey,
)
from tests.auth.self_service_support import new_sign_in_alerts, session_of
from tests.auth.soft_authenticator import SoftAuthenticator
from tests.auth.two_factor_support import audit_events, enable_two_factor, mfa_token, second_step


@pytest.fixture
def auth_settings() -> AuthSettings:
    # The mfa_token outlives the 5-minute WebAuthn challenge, so the challenge can expire alone.
    return cheap_auth_settings(mfa_token_seconds=900)


async def _with_passkey(
    auth: AuthHarness, **device: Any
) -> tuple[SoftAuthenticator, dict[str, Any]]:
    await auth.create_user()
    key = authenticator(**device)
    passkey = await register(auth, auth.bearer(await auth.login()), key)
    return key, passkey


async def _options(auth: AuthHarness, token: str) -> dict[str, Any]:
    options = await passkey_options(auth, token)
    assert options.status_code == 200, options.text
    body: dict[str, Any] = options.json()
    return body


async def _failed_attempts(auth: AuthHarness) -> list[int]:
    async with auth.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT failed_attempts FROM mfa_challenges ORDER BY created_at")
    return [r["failed_attempts"] for r in rows]


async def test_a_passkey_completes_the_login(auth: AuthHarness) -> None:
    key, passkey = await _with_passkey(auth)
    assert (await stored_passkey(auth, passkey["id"])) == {"sign_count": 0, "last_used_at": None}
    token = await mfa_token(auth)
    options = await _options(auth, token)
    assert options["rpId"] == "app.clochette.test"
    assert options["userVerification"] == "preferred"
    assert key.allowed_by(options)
    auth.clock.advance(5)

    answer = await passkey_step(auth, token, key.assertion(options))
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert {"access_token", "refresh_token", "device_token"} <= set(tokens)
    me = await auth.client.get("/v1/me", headers=auth.bearer(tokens))
    assert me.status_code == 200
    assert await stored_passkey(auth, passkey["id"]) == {
        "sign_count": 1,
        "last_used_at": auth.clock.now(),
    }
    assert "login_succeeded" in await audit_events(auth)
    listed = (await auth.client.get("/v1/me/2fa/passkeys", headers=auth.bearer(tokens))).json()
    assert listed["items"][0]["last_used_at"] is not None

    # The mfa_token is used up: the same assertion again is refused.
    replayed = await passkey_step(auth, token, key.assertion(options, sign_count=1))
    assert replayed.status_code == 401
    # And under another login: its challenge was used once already.
    other = await mfa_token(auth)
    await _options(auth, other)
    again = await passkey_step(auth, other, key.assertion(options))
    assert again.status_code == 400, again.text
    assert again.json()["type"].endswith("/passkey-challenge-expired")
    assert await _failed_attempts(auth) == [0, 0]


async def test_an_expired_challenge_is_refused_and_changes_nothing(auth: AuthHarness) -> None:
    key, passkey = await _with_passkey(auth)
    token = await mfa_token(auth)
    options = await _options(auth, token)
    auth.clock.advance(301)
    expired = await passkey_step(auth, token, key.assertion(options))
    assert expired.status_code == 400, expired.text
    assert expired.json()["type"].endswith("/passkey-challenge-expired")
    assert await stored_passkey(auth, passkey["id"]) == {"sign_count": 0, "last_used_at": None}
    assert await _failed_attempts(auth) == [0]
    # New options for the same login work.
    fresh = await passkey_step(auth, token, key.assertion(await _options(auth, token)))
    assert fresh.status_code == 200, fresh.text


@pytest.mark.parametrize(
    "tamper",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"flags": 0x04},  # no user presence
    ],
)
async def test_another_origin_or_rp_id_is_refused(auth: AuthHarness, tamper: Any) -> None:
    key, passkey = await _with_passkey(auth)
    token = await mfa_token(auth)
    options = await _options(auth, token)
    refused = await passkey_step(auth, token, key.assertion(options, **tamper))
    assert refused.status_code == 401, refused.text
    assert refused.json()["type"].endswith("/passkey-verification-failed")
    assert await stored_passkey(auth, passkey["id"]) == {"sign_count": 0, "last_used_at": None}
    # Counted against the login like a wrong code, and audited.
    assert await _failed_attempts(auth) == [1]
    assert "passkey_refused" in await audit_events(auth)
    assert (await passkey_step(auth, token, key.assertion(options))).status_code == 200


async def test_a_counter_that_goes_backwards_is_refused_as_a_possible_clone(
    auth: AuthHarness,
) -> None:
    key, passkey = await _with_passkey(auth, sign_count=0)
    token = await mfa_token(auth)
    assert (await passkey_step(auth, token, key.assertion(await _options(auth, token)))).is_success
    key.sign_count = 10
    token = await mfa_token(auth)
    assert (await passkey_step(auth, token, key.assertion(await _options(auth, token)))).is_success
    assert (await stored_passkey(auth, passkey["id"]))["sign_count"] == 11

    token = await mfa_token(auth)
    clone = await passkey_step(
        auth, token, key.assertion(await _options(auth, token), sign_count=11)
    )
    assert clone.status_code == 401, clone.text
    assert clone.json()["type"].endswith("/passkey-verification-failed")
    assert (await stored_passkey(auth, passkey["id"]))["sign_count"] == 11
    assert "passkey_clone_suspected" in await audit_events(auth)


async def test_an_authenticator_without_a_counter_is_accepted(auth: AuthHarness) -> None:
    key, passkey = await _with_passkey(auth, counter_step=0)
    for _ in range(2):
        token = await mfa_token(auth)
        answer = await passkey_step(auth, token, key.assertion(await _options(auth, token)))
        assert answer.status_code == 200, answer.text
    assert (await stored_passkey(auth, passkey["id"]))["sign_count"] == 0


async def test_a_passkey_of_another_user_is_refused(auth: AuthHarness) -> None:
    await _with_passkey(auth)
    await auth.create_user("an.janssens@example.be")
    an_key = authenticator()
    await register(auth, auth.bearer(await auth.login("an.janssens@example.be")), an_key)

    token = await mfa_token(auth)  # Jan's login
    options = await _options(auth, token)
    assert not an_key.allowed_by(options)
    refused = await passkey_step(auth, token, an_key.assertion(options))
    assert refused.status_code == 401, refused.text
    assert refused.json()["type"].endswith("/passkey-verification-failed")
    # An unknown credential too.
    stranger = authenticator()
    assert (await passkey_step(auth, token, stranger.assertion(options))).status_code == 401
    assert await _failed_attempts(auth) == [2]


async def test_a_run_of_refused_assertions_ends_the_login(auth: AuthHarness) -> None:
    key, _ = await _with_passkey(auth)
    token = await mfa_token(auth)
    options = await _options(auth, token)
    for _ in range(5):
        wrong = await passkey_step(auth, token, key.assertion(options, origin="https://x.test"))
        assert wrong.status_code == 401
    dead = await passkey_step(auth, token, key.assertion(options))
    assert dead.status_code == 401
    assert dead.json()["type"].endswith("/invalid-second-factor")


@pytest.mark.parametrize(
    "assertion",
    [{}, {"id": "x", "rawId": "x", "type": "public-key", "response": {"clientDataJSON": "!"}}],
)
async def test_an_unreadable_assertion_is_a_422(auth: AuthHarness, assertion: Any) -> None:
    await _with_passkey(auth)
    token = await mfa_token(auth)
    await _options(auth, token)
    refused = await passkey_step(auth, token, assertion)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "passkey"
    assert await _failed_attempts(auth) == [0]


async def test_code_or_passkey_but_not_both(auth: AuthHarness) -> None:
    key, _ = await _with_passkey(auth)
    token = await mfa_token(auth)
    options = await _options(auth, token)
    for body in (
        {"mfa_token": token},
        {"mfa_token": token, "code": "123456", "passkey": key.assertion(options)},
    ):
        refused = await auth.client.post("/v1/auth/login/2fa", json=body)
        assert refused.status_code == 422, refused.text


async def test_passkey_options_need_a_live_login_and_a_passkey(auth: AuthHarness) -> None:
    dead = await passkey_options(auth, "not-a-token")
    assert dead.status_code == 401
    assert dead.json()["type"].endswith("/invalid-second-factor")
    await auth.create_user()
    await enable_two_factor(auth, auth.bearer(await auth.login()))
    none = await passkey_options(auth, await mfa_token(auth))
    assert none.status_code == 409
    assert none.json()["type"].endswith("/no-passkey")


async def test_a_passkey_only_user_logs_in_with_a_recovery_code(auth: AuthHarness) -> None:
    _, passkey = await _with_passkey(auth)
    token = await mfa_token(auth)
    assert (await second_step(auth, token, "123456")).status_code == 401
    answer = await second_step(auth, token, passkey["recovery_codes"][0])
    assert answer.status_code == 200, answer.text


async def test_the_device_token_is_renewed_as_with_a_code(auth: AuthHarness) -> None:
    key, _ = await _with_passkey(auth)
    token = await mfa_token(auth)
    first = await passkey_step(auth, token, key.assertion(await _options(auth, token)))
    device = first.json()["device_token"]

    token = await mfa_token(auth)
    options = await _options(auth, token)
    again = await auth.client.post(
        "/v1/auth/login/2fa",
        json={"mfa_token": token, "passkey": key.assertion(options), "device_token": device},
    )
    assert again.status_code == 200, again.text
    assert again.json()["device_token"] == device


async def test_a_passkey_sign_in_raises_the_new_sign_in_alert_like_a_code(
    auth: AuthHarness,
) -> None:
    key, _ = await _with_passkey(auth)
    before = len(await new_sign_in_alerts(auth))

    # Without a device token of this account: the alert, in the session's transaction.
    token = await mfa_token(auth)
    assert len(await new_sign_in_alerts(auth)) == before  # the password step alone: none
    first = await passkey_step(auth, token, key.assertion(await _options(auth, token)))
    assert first.status_code == 200, first.text
    alerts = await new_sign_in_alerts(auth)
    assert len(alerts) == before + 1
    assert alerts[-1]["data"]["session_id"] == session_of(first.json())

    # With the device token the first sign-in left: none.
    auth.clock.advance(30)
    token = await mfa_token(auth)
    options = await _options(auth, token)
    known = await auth.client.post(
        "/v1/auth/login/2fa",
        json={
            "mfa_token": token,
            "passkey": key.assertion(options),
            "device_token": first.json()["device_token"],
        },
    )
    assert known.status_code == 200, known.text
    assert len(await new_sign_in_alerts(auth)) == before + 1

    # A refused assertion starts no session and raises none either.
    token = await mfa_token(auth)
    refused = await passkey_step(
        auth, token, authenticator().assertion(await _options(auth, token))
    )
    assert refused.status_code == 401, refused.text
    assert len(await new_sign_in_alerts(auth)) == before + 1
