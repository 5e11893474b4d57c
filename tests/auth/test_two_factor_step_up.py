"""A session that knows only the password cannot undo the second factor: turning 2FA on ends the
other sessions, and replacing the recovery codes or turning 2FA off needs a code too (with the
replay guard and the same per-user cap as the login step)."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.two_factor_support import (
    code_at,
    confirm_phone,
    enable_two_factor,
    mfa_token,
    outbox_types,
    second_step,
    secret_of,
)


async def _regenerate(auth: AuthHarness, headers: dict[str, str], **body: str) -> Any:
    return await auth.client.post(
        "/v1/me/2fa/recovery-codes", json={"password": PASSWORD, **body}, headers=headers
    )


async def _turn_off(auth: AuthHarness, headers: dict[str, str], **body: str) -> Any:
    return await auth.client.request(
        "DELETE", "/v1/me/2fa", json={"password": PASSWORD, **body}, headers=headers
    )


async def _enabled(auth: AuthHarness, headers: dict[str, str]) -> bool:
    me = (await auth.client.get("/v1/me", headers=headers)).json()
    enabled: bool = me["two_factor"]["enabled"]
    return enabled


async def test_turning_two_factor_on_ends_every_other_session(auth: AuthHarness) -> None:
    await auth.create_user()
    mine = await auth.login()
    other = await auth.login()  # e.g. a thief's password-only session
    headers = auth.bearer(mine)
    enrollment = await confirm_phone(auth, headers)
    secret = secret_of(enrollment["otpauth_uri"])
    activated = await auth.client.post(
        "/v1/me/2fa/activate", json={"code": code_at(secret, auth.clock.now())}, headers=headers
    )
    assert activated.status_code == 200, activated.text
    refused = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert refused.status_code == 401
    assert (await auth.client.get("/v1/me", headers=auth.bearer(other))).status_code == 401
    # The caller's own session goes on.
    assert (await auth.client.get("/v1/me", headers=headers)).status_code == 200
    kept = await auth.client.post("/v1/auth/refresh", json={"refresh_token": mine["refresh_token"]})
    assert kept.status_code == 200, kept.text


async def test_a_password_alone_can_neither_replace_the_codes_nor_turn_two_factor_off(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    _, codes = await enable_two_factor(auth, headers)
    for answer in (await _regenerate(auth, headers), await _turn_off(auth, headers)):
        assert answer.status_code == 401, answer.text
        assert answer.json()["type"].endswith("/second-factor-required")
    assert await _enabled(auth, headers)
    # The old recovery codes still work.
    assert (await second_step(auth, await mfa_token(auth), codes[0])).status_code == 200


async def test_a_step_up_code_is_accepted_once(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    secret, _ = await enable_two_factor(auth, headers)
    code = code_at(secret, auth.clock.now())
    assert (await _regenerate(auth, headers, code=code)).status_code == 200
    replayed = await _turn_off(auth, headers, code=code)
    assert replayed.status_code == 422
    assert replayed.json()["type"].endswith("/invalid-code")
    assert await _enabled(auth, headers)
    auth.clock.advance(30)
    off = await _turn_off(auth, headers, code=code_at(secret, auth.clock.now()))
    assert off.status_code == 204, off.text
    assert not await _enabled(auth, headers)


async def test_a_recovery_code_works_for_a_step_up_and_is_used_up(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    _, codes = await enable_two_factor(auth, headers)
    renewed = await _regenerate(auth, headers, code=codes[0])
    assert renewed.status_code == 200, renewed.text
    new_codes = renewed.json()["recovery_codes"]
    assert (await _turn_off(auth, headers, code=codes[1])).status_code == 422  # replaced
    assert (await _regenerate(auth, headers, code=new_codes[0])).status_code == 200
    assert (await _regenerate(auth, headers, code=new_codes[0])).status_code == 422
    types = [kind for kind, _ in await outbox_types(auth)]
    assert types.count("user.recovery_codes_regenerated") == 2


async def test_wrong_step_up_codes_count_toward_the_login_code_cap(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    secret, _ = await enable_two_factor(auth, headers)
    wrong = "000000" if code_at(secret, auth.clock.now()) != "000000" else "111111"
    for _ in range(5):
        assert (await _turn_off(auth, headers, code=wrong)).status_code == 422
    token = await mfa_token(auth)
    for _ in range(5):
        assert (await second_step(auth, token, wrong)).status_code == 401
    capped = await _turn_off(auth, headers, code=code_at(secret, auth.clock.now()))
    assert capped.status_code == 429
    assert int(capped.headers["retry-after"]) > 0
    assert await _enabled(auth, headers)
    login = await second_step(auth, await mfa_token(auth), code_at(secret, auth.clock.now()))
    assert login.status_code == 429
