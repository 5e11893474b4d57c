"""Removing passkeys: a step-up like turning 2FA off, only the caller's own (404 otherwise), never
the last second factor (409: turn 2FA off instead) until the app is on too; turning 2FA off
removes every passkey; a passkey user can add the authenticator app."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.passkey_support import (
    authenticator,
    list_passkeys,
    passkey_auth,  # noqa: F401 - the `auth` fixture of this module
    register,
    remove,
)
from tests.auth.two_factor_support import (
    audit_events,
    code_at,
    confirm_phone,
    mfa_token,
    outbox_types,
    second_step,
    secret_of,
)


async def _two_factor(auth: AuthHarness, headers: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = (await auth.client.get("/v1/me", headers=headers)).json()["two_factor"]
    return state


async def test_the_last_second_factor_stays_until_the_app_is_on(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    passkey = await register(auth, headers, authenticator())
    codes = passkey["recovery_codes"]

    refused = await remove(auth, headers, passkey["id"], code=codes[0])
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/last-second-factor")
    assert len(await list_passkeys(auth, headers)) == 1
    # Nothing changed: not even the recovery code of the step-up was spent.
    token = await mfa_token(auth)
    assert (await second_step(auth, token, codes[0])).status_code == 200

    # The authenticator app beside the passkey.
    enrollment = await confirm_phone(auth, headers)
    secret = secret_of(enrollment["otpauth_uri"])
    activated = await auth.client.post(
        "/v1/me/2fa/activate", json={"code": code_at(secret, auth.clock.now())}, headers=headers
    )
    assert activated.status_code == 200, activated.text
    assert (await _two_factor(auth, headers))["methods"] == ["totp", "passkey"]
    # 2FA was on already: the bell heard of it once, when the passkey turned it on.
    assert [t for t, _ in await outbox_types(auth)].count("user.two_factor_enabled") == 1
    auth.clock.advance(30)

    removed = await remove(auth, headers, passkey["id"], code=code_at(secret, auth.clock.now()))
    assert removed.status_code == 204, removed.text
    assert await list_passkeys(auth, headers) == []
    state = await _two_factor(auth, headers)
    assert (state["enabled"], state["passkeys"], state["methods"]) == (True, 0, ["totp"])
    assert "passkey_removed" in await audit_events(auth)


async def test_one_of_two_passkeys_can_go_with_a_step_up(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    first = await register(auth, headers, authenticator())
    codes = first["recovery_codes"]
    auth.clock.advance(1)
    await register(auth, headers, authenticator(), "Phone", password=PASSWORD, code=codes[0])

    password_only = await remove(auth, headers, first["id"])
    assert password_only.status_code == 401
    assert password_only.json()["type"].endswith("/second-factor-required")
    wrong_password = await auth.client.request(
        "DELETE",
        f"/v1/me/2fa/passkeys/{first['id']}",
        json={"password": "not my password", "code": codes[1]},
        headers=headers,
    )
    assert wrong_password.status_code == 401
    assert len(await list_passkeys(auth, headers)) == 2

    assert (await remove(auth, headers, first["id"], code=codes[1])).status_code == 204
    assert [p["name"] for p in await list_passkeys(auth, headers)] == ["Phone"]
    assert (await _two_factor(auth, headers))["passkeys"] == 1


async def test_another_users_passkey_is_not_found(auth: AuthHarness) -> None:
    await auth.create_user()
    await auth.create_user("an.janssens@example.be")
    jan = auth.bearer(await auth.login())
    an = auth.bearer(await auth.login("an.janssens@example.be"))
    jans = await register(auth, jan, authenticator())
    ans = await register(auth, an, authenticator())
    auth.clock.advance(1)
    await register(auth, an, authenticator(), password=PASSWORD, code=ans["recovery_codes"][0])

    missing = await remove(auth, an, jans["id"], code=ans["recovery_codes"][1])
    assert missing.status_code == 404, missing.text
    assert missing.json()["type"].endswith("/passkey-not-found")
    assert len(await list_passkeys(auth, jan)) == 1
    assert [p["id"] for p in await list_passkeys(auth, an)] != [jans["id"]]
    unknown = await remove(
        auth, an, "00000000-0000-0000-0000-000000000000", code=ans["recovery_codes"][1]
    )
    assert unknown.status_code == 404


async def test_turning_two_factor_off_removes_the_passkeys(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    key = authenticator()
    passkey = await register(auth, headers, key)
    off = await auth.client.request(
        "DELETE",
        "/v1/me/2fa",
        json={"password": PASSWORD, "code": passkey["recovery_codes"][0]},
        headers=headers,
    )
    assert off.status_code == 204, off.text
    assert await list_passkeys(auth, headers) == []
    assert await _two_factor(auth, headers) == {
        "enabled": False,
        "phone_number": None,
        "passkeys": 0,
        "methods": [],
    }
    assert "access_token" in await auth.login()
    # The same authenticator can register again (a fresh start).
    again = await register(auth, headers, key)
    assert len(again["recovery_codes"]) == 10


async def test_adding_and_removing_a_passkey_tell_the_bell(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    first = await register(auth, headers, authenticator(), "Laptop")
    codes = first["recovery_codes"]
    auth.clock.advance(1)
    phone = await register(
        auth, headers, authenticator(), "Phone", password=PASSWORD, code=codes[0]
    )
    # A refused removal (wrong password) publishes nothing.
    wrong = await auth.client.request(
        "DELETE",
        f"/v1/me/2fa/passkeys/{phone['id']}",
        json={"password": "not my password", "code": codes[1]},
        headers=headers,
    )
    assert wrong.status_code == 401
    assert (await remove(auth, headers, phone["id"], code=codes[1])).status_code == 204

    published = [(t, d) for t, d in await outbox_types(auth) if t.startswith("user.passkey_")]
    assert published == [
        ("user.passkey_added", {"passkey_id": first["id"], "name": "Laptop"}),
        ("user.passkey_added", {"passkey_id": phone["id"], "name": "Phone"}),
        ("user.passkey_removed", {"passkey_id": phone["id"], "name": "Phone"}),
    ]

    # Turning 2FA off removes the last one too, but the bell hears of that as 2FA turned off.
    off = await auth.client.request(
        "DELETE", "/v1/me/2fa", json={"password": PASSWORD, "code": codes[2]}, headers=headers
    )
    assert off.status_code == 204, off.text
    types = [t for t, _ in await outbox_types(auth)]
    assert types.count("user.passkey_removed") == 1
    assert types.count("user.two_factor_disabled") == 1
