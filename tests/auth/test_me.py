"""GET and PATCH /v1/me: the profile, the display language, and the e-mail that cannot change."""

from __future__ import annotations

import asyncpg
import jwt

from tests.auth.conftest import AuthHarness


async def user_row(database_url: str, email: str) -> asyncpg.Record:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM auth.users WHERE email = $1", email)
    finally:
        await conn.close()
    assert row is not None
    return row


async def test_me_has_exactly_the_contract_fields(auth: AuthHarness) -> None:
    user = await auth.create_user(role="member", language="nl")
    tokens = await auth.login()
    response = await auth.client.get("/v1/me", headers=auth.bearer(tokens))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "id": str(user.id),
        "email": "jan.peeters@example.be",
        "organization_id": str(user.organization_id),
        "role": "member",
        "language": "nl",
        "two_factor": {"enabled": False, "phone_number": None, "passkeys": 0, "methods": []},
        "password_quality": {"score": 4, "label": "Zeer sterk"},
    }


async def test_patch_changes_the_language_at_once(auth: AuthHarness, database_url: str) -> None:
    await auth.create_user(language="nl")
    tokens = await auth.login()
    response = await auth.client.patch(
        "/v1/me", json={"language": "fr"}, headers=auth.bearer(tokens)
    )
    assert response.status_code == 200
    assert response.json()["language"] == "fr"
    assert response.json()["password_quality"]["label"] == "Très fort"
    assert (await user_row(database_url, "jan.peeters@example.be"))["language"] == "fr"
    me = (await auth.client.get("/v1/me", headers=auth.bearer(tokens))).json()
    assert me["language"] == "fr"
    refreshed = (
        await auth.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["lang"] == (
        "fr"
    )


async def test_changing_the_email_is_forbidden_and_explained(
    auth: AuthHarness, database_url: str
) -> None:
    await auth.create_user()
    tokens = await auth.login()
    for body in (
        {"email": "jan@new-domain.be"},
        {"email": "jan@new-domain.be", "language": "de"},
        {"email": "jan@new-domain.be", "nickname": "jan"},
        {"email": None},
    ):
        response = await auth.client.patch("/v1/me", json=body, headers=auth.bearer(tokens))
        assert response.status_code == 403, body
        problem = response.json()
        assert problem["type"] == "https://clochette.dev/problems/email-change-not-allowed"
        assert "administrator" in problem["detail"]
        assert "new user" in problem["detail"]
    row = await user_row(database_url, "jan.peeters@example.be")
    assert row["language"] == "nl"  # nothing changed, not even the language


async def test_sending_back_the_same_email_is_not_a_change(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    response = await auth.client.patch(
        "/v1/me",
        json={"email": "Jan.Peeters@example.be", "language": "en"},
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 200
    assert response.json()["language"] == "en"


async def test_unknown_fields_and_bad_values_are_422_and_change_nothing(
    auth: AuthHarness, database_url: str
) -> None:
    await auth.create_user(language="nl")
    tokens = await auth.login()
    response = await auth.client.patch(
        "/v1/me",
        json={"language": "es", "role": "admin", "nickname": "jan"},
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "https://clochette.dev/problems/validation-error"
    assert {e["field"] for e in problem["errors"]} == {"language", "role", "nickname"}
    row = await user_row(database_url, "jan.peeters@example.be")
    assert (row["language"], row["role"]) == ("nl", "member")
    for body in ({"language": None}, {"language": 5}, {"language": "NL"}):
        response = await auth.client.patch("/v1/me", json=body, headers=auth.bearer(tokens))
        assert response.status_code == 422, body
    not_an_object = await auth.client.patch("/v1/me", json=["fr"], headers=auth.bearer(tokens))
    assert not_an_object.status_code == 422
    assert (await user_row(database_url, "jan.peeters@example.be"))["language"] == "nl"


async def test_an_empty_patch_changes_nothing(auth: AuthHarness) -> None:
    await auth.create_user(language="de")
    tokens = await auth.login()
    response = await auth.client.patch("/v1/me", json={}, headers=auth.bearer(tokens))
    assert response.status_code == 200
    assert response.json()["language"] == "de"


async def test_me_requires_a_token(auth: AuthHarness) -> None:
    for method in ("GET", "PATCH"):
        response = await auth.client.request(method, "/v1/me", json={"language": "fr"})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_deactivated_user_loses_access_at_once(auth: AuthHarness) -> None:
    user = await auth.create_user()
    tokens = await auth.login()
    await auth.app.state.accounts.deactivate(user.id)
    response = await auth.client.get("/v1/me", headers=auth.bearer(tokens))
    assert response.status_code == 401
    assert response.json()["detail"] == "The session has ended: log in again."
