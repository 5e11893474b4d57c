"""Administrators manage the users of their organisation."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import PASSWORD, AuthHarness


def new_user(email: str = "an.janssens@example.be", **overrides: Any) -> dict[str, Any]:
    return {
        "email": email,
        "password": "copper kettle morning rain",
        "language": "fr",
        "role": "member",
        **overrides,
    }


async def test_an_admin_creates_a_user_who_can_log_in(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin")
    tokens = await auth.login("boss@example.be")
    response = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users",
        json=new_user("An.Janssens@Example.be"),
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "an.janssens@example.be"
    assert body["organization_id"] == str(admin.organization_id)
    assert (body["role"], body["language"], body["active"]) == ("member", "fr", True)
    assert "password" not in body
    assert "password_hash" not in body
    await auth.login("an.janssens@example.be", "copper kettle morning rain")


async def test_a_taken_email_is_409_whatever_its_case(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin")
    tokens = await auth.login("boss@example.be")
    response = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users",
        json=new_user(" BOSS@example.BE "),
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 409
    assert response.json()["type"] == "https://clochette.dev/problems/email-taken"


async def test_members_and_admins_of_other_organisations_get_403(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin")
    await auth.create_user("worker@example.be", role="member")
    await auth.create_user("rival@other.be", organization="Other BV", role="admin")
    for email in ("worker@example.be", "rival@other.be"):
        tokens = await auth.login(email)
        response = await auth.client.post(
            f"/v1/organizations/{admin.organization_id}/users",
            json=new_user(),
            headers=auth.bearer(tokens),
        )
        assert response.status_code == 403, email
        assert response.json()["type"] == "https://clochette.dev/problems/not-an-administrator"
    anonymous = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users", json=new_user()
    )
    assert anonymous.status_code == 401


async def test_the_role_is_checked_in_the_database_not_only_in_the_token(
    auth: AuthHarness, database_url: str
) -> None:
    import asyncpg

    admin = await auth.create_user("boss@example.be", role="admin")
    tokens = await auth.login("boss@example.be")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE auth.users SET role = 'member' WHERE id = $1", admin.id)
    finally:
        await conn.close()
    response = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users",
        json=new_user(),
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 403


async def test_invalid_users_are_422_with_every_field(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin", language="en")
    tokens = await auth.login("boss@example.be")
    url = f"/v1/organizations/{admin.organization_id}/users"
    response = await auth.client.post(
        url,
        json={"email": "x@y.be", "password": "pw", "language": "es", "role": "owner"},
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"language", "role"}
    bad_email = await auth.client.post(
        url, json=new_user("not-an-address"), headers=auth.bearer(tokens)
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"
    weak = await auth.client.post(
        url, json=new_user(password="an.janssens rules"), headers=auth.bearer(tokens)
    )
    assert weak.status_code == 422
    assert weak.json()["rules"] == ["contains_email"]


async def test_an_admin_lists_and_deactivates_users(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin")
    worker = await auth.create_user("worker@example.be")
    boss_tokens = await auth.login("boss@example.be")
    worker_tokens = await auth.login("worker@example.be")
    base = f"/v1/organizations/{admin.organization_id}/users"
    listing = await auth.client.get(base, headers=auth.bearer(boss_tokens))
    assert [u["email"] for u in listing.json()["items"]] == ["boss@example.be", "worker@example.be"]
    response = await auth.client.post(
        f"{base}/{worker.id}/deactivate", headers=auth.bearer(boss_tokens)
    )
    assert response.status_code == 200
    assert response.json()["active"] is False
    refresh = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": worker_tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    login = await auth.client.post(
        "/v1/auth/login", json={"email": "worker@example.be", "password": PASSWORD}
    )
    assert login.status_code == 401
    myself = await auth.client.post(
        f"{base}/{admin.id}/deactivate", headers=auth.bearer(boss_tokens)
    )
    assert myself.status_code == 409


async def test_an_admin_cannot_deactivate_users_of_another_organisation(auth: AuthHarness) -> None:
    admin = await auth.create_user("boss@example.be", role="admin")
    outsider = await auth.create_user("someone@other.be", organization="Other BV")
    tokens = await auth.login("boss@example.be")
    response = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users/{outsider.id}/deactivate",
        headers=auth.bearer(tokens),
    )
    assert response.status_code == 404
    elsewhere = await auth.client.post(
        f"/v1/organizations/{outsider.organization_id}/users/{outsider.id}/deactivate",
        headers=auth.bearer(tokens),
    )
    assert elsewhere.status_code == 403
