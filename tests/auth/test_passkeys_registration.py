"""Registering passkeys (WebAuthn) as a second factor, driven by the software authenticator:
the first one turns 2FA on like activating the app; later ones need a step-up; a response from
another origin or RP id, an expired or used challenge and an unreadable response change
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.passkey_support import (
    RP_ID,
    WEB_APP,
    authenticator,
    list_passkeys,
    passkey_auth,  # noqa: F401 - the `auth` fixture of this module
    register,
    registration_options,
)
from tests.auth.soft_authenticator import b64url
from tests.auth.two_factor_support import audit_events, outbox_types


async def _me(auth: AuthHarness, headers: dict[str, str]) -> dict[str, Any]:
    me: dict[str, Any] = (await auth.client.get("/v1/me", headers=headers)).json()
    return me


async def _open_challenges(auth: AuthHarness) -> int:
    async with auth.app.state.pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM webauthn_challenges")
    return count


async def _post_credential(
    auth: AuthHarness, headers: dict[str, str], credential: Any, name: str = "Laptop"
) -> Any:
    return await auth.client.post(
        "/v1/me/2fa/passkeys", json={"name": name, "credential": credential}, headers=headers
    )


async def test_the_first_passkey_turns_two_factor_on(auth: AuthHarness) -> None:
    await auth.create_user()
    mine = await auth.login()
    other = await auth.login()  # a password-only session elsewhere
    headers = auth.bearer(mine)

    options = await registration_options(auth, headers)
    assert options.status_code == 200, options.text
    body = options.json()
    assert body["rp"] == {"id": RP_ID, "name": "Clochette"}
    assert body["user"]["name"] == "jan.peeters@example.be"
    assert body["excludeCredentials"] == []
    assert body["authenticatorSelection"]["userVerification"] == "preferred"
    device = authenticator()
    created = await _post_credential(auth, headers, device.register(body), name="  Laptop  ")
    assert created.status_code == 201, created.text
    passkey = created.json()
    assert passkey["name"] == "Laptop"  # trimmed
    assert len(passkey["recovery_codes"]) == 10

    me = await _me(auth, headers)
    assert me["two_factor"] == {
        "enabled": True,
        "phone_number": None,
        "passkeys": 1,
        "methods": ["passkey"],
    }
    assert [p["id"] for p in await list_passkeys(auth, headers)] == [passkey["id"]]
    assert (await auth.client.get("/v1/me", headers=auth.bearer(other))).status_code == 401
    assert ("user.two_factor_enabled", {}) in await outbox_types(auth)
    assert {"passkey_added", "two_factor_enabled"} <= set(await audit_events(auth))
    # Login now asks for the second factor.
    assert (await auth.login())["mfa_required"] is True

    # The next options exclude the registered passkey (the browser would refuse it).
    code = passkey["recovery_codes"][0]
    again = await registration_options(auth, headers, password=PASSWORD, code=code)
    assert again.status_code == 200, again.text
    assert [c["id"] for c in again.json()["excludeCredentials"]] == [b64url(device.credential_id)]


async def test_a_passkey_while_two_factor_is_on_needs_a_step_up(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    codes = (await register(auth, headers, authenticator()))["recovery_codes"]

    for step_up in ({}, {"password": PASSWORD}):
        refused = await registration_options(auth, headers, **step_up)
        assert refused.status_code == 401, refused.text
        assert refused.json()["type"].endswith("/second-factor-required")
    wrong_password = await registration_options(
        auth, headers, password="not my password", code=codes[0]
    )
    assert wrong_password.status_code == 401
    assert wrong_password.json()["type"].endswith("/wrong-current-password")
    wrong_code = await registration_options(auth, headers, password=PASSWORD, code="123456")
    assert wrong_code.status_code == 422
    assert wrong_code.json()["type"].endswith("/invalid-code")

    auth.clock.advance(1)
    second = await register(
        auth, headers, authenticator(), "Phone", password=PASSWORD, code=codes[0]
    )
    assert second["recovery_codes"] is None  # 2FA was on already: the codes stay
    assert [p["name"] for p in await list_passkeys(auth, headers)] == ["Laptop", "Phone"]
    assert (await _me(auth, headers))["two_factor"]["passkeys"] == 2
    # The recovery code of the step-up is spent.
    spent = await registration_options(auth, headers, password=PASSWORD, code=codes[0])
    assert spent.status_code == 422


async def _refused_without_change(
    auth: AuthHarness, headers: dict[str, str], answer: Any, status: int, slug: str
) -> None:
    refused = await _post_credential(auth, headers, answer)
    assert refused.status_code == status, refused.text
    assert refused.json()["type"].endswith("/" + slug)
    assert await list_passkeys(auth, headers) == []
    assert (await _me(auth, headers))["two_factor"]["enabled"] is False
    assert "passkey_added" not in await audit_events(auth)


async def test_a_response_from_another_origin_or_rp_id_is_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    options = (await registration_options(auth, headers)).json()
    device = authenticator()
    for answer in (
        device.register(options, origin="https://evil.example"),
        device.register(options, origin="http://app.clochette.test"),
        device.register(options, rp_id="clochette.evil"),
        device.register(options, flags=0x40),  # no user presence
    ):
        await _refused_without_change(auth, headers, answer, 400, "passkey-verification-failed")
    # The challenge was not used up by the refusals.
    created = await _post_credential(auth, headers, device.register(options))
    assert created.status_code == 201, created.text


async def test_an_expired_or_used_challenge_is_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    options = (await registration_options(auth, headers)).json()
    auth.clock.advance(301)
    expired = authenticator().register(options)
    await _refused_without_change(auth, headers, expired, 400, "passkey-challenge-expired")
    # A challenge that was never issued.
    forged = dict(options, challenge=b64url(b"x" * 32))
    await _refused_without_change(
        auth, headers, authenticator().register(forged), 400, "passkey-challenge-expired"
    )

    options = (await registration_options(auth, headers)).json()
    assert await _open_challenges(auth) == 1  # the expired one went with the new one
    answer = authenticator().register(options)
    assert (await _post_credential(auth, headers, answer)).status_code == 201
    assert await _open_challenges(auth) == 0
    replayed = await _post_credential(auth, headers, answer, name="Again")
    assert replayed.status_code == 400
    assert replayed.json()["type"].endswith("/passkey-challenge-expired")
    assert len(await list_passkeys(auth, headers)) == 1


async def test_the_challenge_belongs_to_the_user_who_asked(auth: AuthHarness) -> None:
    await auth.create_user()
    await auth.create_user("an.janssens@example.be")
    jan = auth.bearer(await auth.login())
    an = auth.bearer(await auth.login("an.janssens@example.be"))
    options = (await registration_options(auth, jan)).json()
    refused = await _post_credential(auth, an, authenticator().register(options))
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("/passkey-challenge-expired")
    assert await list_passkeys(auth, an) == []


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
        {
            "id": "x",
            "rawId": "x",
            "type": "public-key",
            "response": {"clientDataJSON": "!!!", "attestationObject": "AA"},
        },
        {
            "id": "x",
            "rawId": "x",
            "type": "public-key",
            "response": {"clientDataJSON": b64url(b"not json"), "attestationObject": "AA"},
        },
    ],
)
async def test_an_unreadable_response_is_a_422(auth: AuthHarness, credential: Any) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    await registration_options(auth, headers)
    refused = await _post_credential(auth, headers, credential)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/malformed-passkey-response")
    assert refused.json()["errors"][0]["field"] == "credential"
    assert await list_passkeys(auth, headers) == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
async def test_a_name_must_have_1_to_64_characters(auth: AuthHarness, name: str) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    options = (await registration_options(auth, headers)).json()
    refused = await _post_credential(auth, headers, authenticator().register(options), name)
    assert refused.status_code == 422, refused.text
    assert await list_passkeys(auth, headers) == []


async def test_the_web_app_origin_is_the_relying_party(auth: AuthHarness) -> None:
    rp = auth.app.state.passkeys._rp
    assert (rp.id, rp.origins) == (RP_ID, (WEB_APP,))


async def test_one_response_sent_twice_at_once_registers_once(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    options = (await registration_options(auth, headers)).json()
    answer = authenticator().register(options)
    first, second = await asyncio.gather(
        _post_credential(auth, headers, answer), _post_credential(auth, headers, answer)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 400]
    assert len(await list_passkeys(auth, headers)) == 1
    assert (await _me(auth, headers))["two_factor"]["passkeys"] == 1
