"""PUT /v1/me/password and POST /v1/password-quality."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.auth.app import create_app
from shared.clock import ManualClock
from tests.auth.conftest import (
    PASSWORD,
    AuthHarness,
    cheap_auth_settings,
    http_client,
    running,
    settings_for,
)

NEW_PASSWORD = "quiet lanterns drift east"


def change(
    current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None
) -> dict[str, str]:
    return {
        "current_password": current,
        "new_password": new,
        "new_password_confirmation": new if confirm is None else confirm,
    }


async def refresh_status(auth: AuthHarness, tokens: dict[str, Any]) -> int:
    response = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    return response.status_code


async def test_a_password_change_keeps_this_session_and_ends_the_others(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    current = await auth.login()
    phone = await auth.login()
    laptop = await auth.login()
    response = await auth.client.put("/v1/me/password", json=change(), headers=auth.bearer(current))
    assert response.status_code == 204
    assert await refresh_status(auth, phone) == 401
    assert await refresh_status(auth, laptop) == 401
    assert (await auth.client.get("/v1/me", headers=auth.bearer(phone))).status_code == 401
    assert (await auth.client.get("/v1/me", headers=auth.bearer(current))).status_code == 200
    assert await refresh_status(auth, current) == 200
    old = await auth.client.post(
        "/v1/auth/login", json={"email": "jan.peeters@example.be", "password": PASSWORD}
    )
    assert old.status_code == 401
    await auth.login(password=NEW_PASSWORD)


async def test_every_broken_rule_is_listed(auth: AuthHarness, database_url: str) -> None:
    await auth.create_user(language="en")
    tokens = await auth.login()
    response = await auth.client.put(
        "/v1/me/password",
        json=change(new="jan.peeters", confirm="something else"),
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "https://clochette.dev/problems/password-rejected"
    assert problem["rules"] == ["too_short", "contains_email", "confirmation_mismatch"]
    assert problem["errors"] == [
        {"field": "new_password", "message": "Use at least 12 characters."},
        {
            "field": "new_password",
            "message": "The password must not contain your e-mail address or its name part.",
        },
        {
            "field": "new_password_confirmation",
            "message": "The confirmation does not match the new password.",
        },
    ]


async def test_common_organisation_and_overlong_passwords_are_refused(auth: AuthHarness) -> None:
    await auth.create_user(organization="Brasserie Clochette", language="nl")
    tokens = await auth.login()
    cases = {
        "1q2w3e4r5t6y": ["too_common"],
        "brasserie clochette forever": ["contains_organization"],
        "x" * 257: ["too_long"],
    }
    for password, expected in cases.items():
        response = await auth.client.put(
            "/v1/me/password", json=change(new=password), headers=auth.bearer(tokens)
        )
        assert response.status_code == 422
        assert response.json()["rules"] == expected
    too_long = await auth.client.put(
        "/v1/me/password", json=change(new="x" * 257), headers=auth.bearer(tokens)
    )
    assert too_long.json()["errors"][0]["message"] == "Gebruik hoogstens 256 tekens."
    long_ok = "een lange zin " * 18  # 252 characters: long passphrases are welcome
    response = await auth.client.put(
        "/v1/me/password", json=change(new=long_ok), headers=auth.bearer(tokens)
    )
    assert response.status_code == 204


async def test_a_wrong_current_password_is_401_and_counts_toward_throttling(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    tokens = await auth.login()
    statuses = []
    for _ in range(7):
        response = await auth.client.put(
            "/v1/me/password", json=change(current="wrong guess"), headers=auth.bearer(tokens)
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429] * 2
    assert response.headers["retry-after"]
    login = await auth.client.post(
        "/v1/auth/login", json={"email": "jan.peeters@example.be", "password": PASSWORD}
    )
    assert login.status_code == 429  # the same account counter as logins


async def test_the_wrong_current_password_problem(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    response = await auth.client.put(
        "/v1/me/password", json=change(current="wrong guess"), headers=auth.bearer(tokens)
    )
    assert response.json()["type"] == "https://clochette.dev/problems/wrong-current-password"
    missing = await auth.client.put(
        "/v1/me/password",
        json={"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
        headers=auth.bearer(tokens),
    )
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["current_password"]


async def test_the_score_is_recorded_and_shown_in_me(auth: AuthHarness, database_url: str) -> None:
    await auth.create_user(language="en")
    tokens = await auth.login()
    weakish = "aaaaaaaaaaaaaaaa"
    assert (
        await auth.client.put(
            "/v1/me/password", json=change(new=weakish), headers=auth.bearer(tokens)
        )
    ).status_code == 204
    me = (await auth.client.get("/v1/me", headers=auth.bearer(tokens))).json()
    assert me["password_quality"] == {"score": 0, "label": "Very weak"}
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT password_score, password_hash FROM auth.users WHERE email = $1",
            "jan.peeters@example.be",
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["password_score"] == 0
    assert weakish not in row["password_hash"]
    assert row["password_hash"].startswith("$argon2id$")


async def test_quality_is_in_the_language_of_the_accept_language_header(
    auth: AuthHarness,
) -> None:
    response = await auth.client.post(
        "/v1/password-quality", json={"password": "password"}, headers={"Accept-Language": "nl-BE"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"score", "label", "warnings", "suggestions"}
    assert body["score"] == 0
    assert body["label"] == "Zeer zwak"
    assert "Dit is een van de 10 meest gebruikte wachtwoorden." in body["warnings"]
    english = await auth.client.post("/v1/password-quality", json={"password": "password"})
    assert english.json()["label"] == "Very weak"
    strong = await auth.client.post(
        "/v1/password-quality",
        json={"password": "violet tram under snow"},
        headers={"Accept-Language": "fr"},
    )
    assert strong.json() == {"score": 4, "label": "Très fort", "warnings": [], "suggestions": []}


async def test_quality_uses_the_tokens_language_and_the_callers_identity(
    auth: AuthHarness,
) -> None:
    await auth.create_user(language="de")
    tokens = await auth.login()
    response = await auth.client.post(
        "/v1/password-quality",
        json={"password": "brasserie clochette sunny"},
        headers={**auth.bearer(tokens), "Accept-Language": "fr"},
    )
    body = response.json()
    assert body["label"] in {"Sehr schwach", "Schwach"}
    assert "Das Passwort darf den Namen Ihrer Organisation nicht enthalten." in body["warnings"]
    stale = await auth.client.post(
        "/v1/password-quality",
        json={"password": "x"},
        headers={"Authorization": "Bearer expired.or.broken", "Accept-Language": "nl"},
    )
    assert stale.status_code == 200
    assert stale.json()["label"] == "Zeer zwak"


async def test_quality_rejects_non_string_and_huge_inputs(auth: AuthHarness) -> None:
    for body in ({"password": 5}, {}, {"password": "x" * 5000}, {"password": "x", "user": "y"}):
        response = await auth.client.post("/v1/password-quality", json=body)
        assert response.status_code == 422, body


async def test_quality_is_rate_limited_per_address_with_a_problem_and_retry_after(
    database_url: str, clock: ManualClock
) -> None:
    settings = cheap_auth_settings(password_quality_per_minute=3)
    app = create_app(settings_for(database_url), auth_settings=settings, clock=clock)
    body = {"password": "violet tram under snow"}
    async with running(app), http_client(app, "203.0.113.7") as client:
        answers = [await client.post("/v1/password-quality", json=body) for _ in range(4)]
        async with http_client(app, "203.0.113.8") as neighbour:
            other = await neighbour.post("/v1/password-quality", json=body)
        clock.advance(seconds=20)  # one call's worth of budget back (3 a minute)
        later = await client.post("/v1/password-quality", json=body)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "https://clochette.dev/problems/too-many-requests"
    assert refused.json()["status"] == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert other.status_code == 200, "another address has its own budget"
    assert later.status_code == 200
