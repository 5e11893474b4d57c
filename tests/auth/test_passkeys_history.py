"""Passkeys in my security history (contract 4.2): adding, removing, an assertion refused at
sign-in and a suspected clone appear in GET /v1/me/security-events with stable public types and
titles in the caller's language (nl, fr, en, de)."""

from __future__ import annotations

from typing import Any

from services.auth.self_service.titles import PUBLIC_TYPES, TITLES
from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.passkey_support import (
    authenticator,
    passkey_auth,  # noqa: F401 - the `auth` fixture of this module
    passkey_options,
    passkey_step,
    register,
    remove,
)
from tests.auth.two_factor_support import mfa_token

PASSKEY_TITLES = {
    "nl": [
        ("passkey_removed", "Toegangssleutel verwijderd"),
        ("passkey_refused", "Toegangssleutel geweigerd bij het aanmelden"),
        ("passkey_clone_suspected", "Toegangssleutel geweigerd: mogelijk gekopieerd"),
        ("passkey_refused", "Toegangssleutel geweigerd bij het aanmelden"),
        ("passkey_added", "Toegangssleutel toegevoegd"),
        ("passkey_added", "Toegangssleutel toegevoegd"),
    ],
    "fr": [
        ("passkey_removed", "Clé d'accès supprimée"),
        ("passkey_refused", "Clé d'accès refusée à la connexion"),
        ("passkey_clone_suspected", "Clé d'accès refusée : elle a peut-être été copiée"),
        ("passkey_refused", "Clé d'accès refusée à la connexion"),
        ("passkey_added", "Clé d'accès ajoutée"),
        ("passkey_added", "Clé d'accès ajoutée"),
    ],
    "en": [
        ("passkey_removed", "Passkey removed"),
        ("passkey_refused", "Passkey not accepted at sign-in"),
        ("passkey_clone_suspected", "Passkey refused: it may have been copied"),
        ("passkey_refused", "Passkey not accepted at sign-in"),
        ("passkey_added", "Passkey added"),
        ("passkey_added", "Passkey added"),
    ],
    "de": [
        ("passkey_removed", "Passkey entfernt"),
        ("passkey_refused", "Passkey bei der Anmeldung abgelehnt"),
        ("passkey_clone_suspected", "Passkey abgelehnt: möglicherweise kopiert"),
        ("passkey_refused", "Passkey bei der Anmeldung abgelehnt"),
        ("passkey_added", "Passkey hinzugefügt"),
        ("passkey_added", "Passkey hinzugefügt"),
    ],
}


async def _options(auth: AuthHarness, token: str) -> dict[str, Any]:
    options = await passkey_options(auth, token)
    assert options.status_code == 200, options.text
    body: dict[str, Any] = options.json()
    return body


async def _passkey_items(auth: AuthHarness, headers: dict[str, str]) -> list[tuple[str, str]]:
    page = await auth.client.get("/v1/me/security-events", headers=headers)
    assert page.status_code == 200, page.text
    return [(i["type"], i["title"]) for i in page.json()["items"] if "passkey" in i["type"]]


async def test_passkey_events_are_in_the_history_in_the_callers_language(
    auth: AuthHarness,
) -> None:
    await auth.create_user()  # language nl
    headers = auth.bearer(await auth.login())
    key = authenticator()
    first = await register(auth, headers, key)
    codes = first["recovery_codes"]
    auth.clock.advance(60)
    await register(auth, headers, authenticator(), "Phone", password=PASSWORD, code=codes[0])

    # At sign-in: an assertion for another origin, then one whose counter went backwards.
    auth.clock.advance(60)
    token = await mfa_token(auth)
    wrong = await passkey_step(
        auth, token, key.assertion(await _options(auth, token), origin="https://x.test")
    )
    assert wrong.status_code == 401, wrong.text
    auth.clock.advance(60)
    assert (await passkey_step(auth, token, key.assertion(await _options(auth, token)))).is_success
    auth.clock.advance(60)
    token = await mfa_token(auth)
    clone = await passkey_step(
        auth, token, key.assertion(await _options(auth, token), sign_count=1)
    )
    assert clone.status_code == 401, clone.text

    auth.clock.advance(60)
    assert (await remove(auth, headers, first["id"], code=codes[1])).status_code == 204

    for language, expected in PASSKEY_TITLES.items():
        patched = await auth.client.patch("/v1/me", json={"language": language}, headers=headers)
        assert patched.status_code == 200, patched.text
        assert await _passkey_items(auth, headers) == expected


def test_every_passkey_audit_event_has_a_public_type_titled_in_four_languages() -> None:
    for event in ("passkey_added", "passkey_removed", "passkey_refused", "passkey_clone_suspected"):
        assert set(TITLES[PUBLIC_TYPES[event]]) == {"nl", "fr", "en", "de"}
