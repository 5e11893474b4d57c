"""My security history (contract 4.2): the caller's own audit entries, newest first, paged with
an opaque cursor, titled in the caller's language; nothing about other users; a bad cursor or
limit is a problem document."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.self_service_support import (
    FIREFOX_WINDOWS,
    SAFARI_IPHONE,
    database_rows,
    session_of,
    sign_in,
)

PROBLEM_BASE = "https://clochette.dev/problems/"
NEW_PASSWORD = "amber lantern over dunes"


async def history(auth: AuthHarness, tokens: dict[str, Any], **query: Any) -> dict[str, Any]:
    response = await auth.client.get(
        "/v1/me/security-events", params=query, headers=auth.bearer(tokens)
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    page: dict[str, Any] = response.json()
    return page


async def test_the_history_tells_what_happened_newest_first_in_the_callers_language(
    auth: AuthHarness,
) -> None:
    await auth.create_user()  # language nl
    phone = await sign_in(auth, address="2001:db8:1234:5678::1", user_agent=SAFARI_IPHONE)
    auth.clock.advance(60)
    async with auth.client_from("192.0.2.44") as guesser:
        wrong = await guesser.post(
            "/v1/auth/login",
            json={"email": "jan.peeters@example.be", "password": "not the password"},
            headers={"User-Agent": "curl/8.5.0"},
        )
    assert wrong.status_code == 401
    auth.clock.advance(60)
    laptop = await sign_in(auth, address="203.0.113.77", user_agent=FIREFOX_WINDOWS)
    auth.clock.advance(60)
    changed = await auth.client.put(
        "/v1/me/password",
        json={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirmation": NEW_PASSWORD,
        },
        headers={**auth.bearer(laptop), "User-Agent": FIREFOX_WINDOWS},
    )
    assert changed.status_code == 204, changed.text
    auth.clock.advance(60)
    # A language change is not a security event: it is not in the history.
    patched = await auth.client.patch(
        "/v1/me", json={"language": "fr"}, headers=auth.bearer(laptop)
    )
    assert patched.status_code == 200

    page = await history(auth, laptop)
    assert page["next_cursor"] is None
    assert [(i["type"], i["title"]) for i in page["items"]] == [
        ("password_changed", "Mot de passe modifié"),
        ("sign_in", "Connexion"),
        ("sign_in_failed", "Tentative de connexion échouée"),
        ("sign_in", "Connexion"),
    ]
    changed_item, laptop_item, failed_item, phone_item = page["items"]
    assert changed_item["occurred_at"] == "2026-11-28T09:03:00Z"
    assert changed_item["device"] == {
        "browser": "Firefox 133",
        "os": "Windows 10",
        "label": "Firefox 133 sous Windows 10",
    }
    assert laptop_item["address"] == "203.0.113.0/24"
    assert failed_item["address"] == "192.0.2.0/24"
    assert failed_item["device"] == {"browser": "curl 8", "os": None, "label": "curl 8"}
    assert phone_item["address"] == "2001:db8:1234::/48"
    assert phone_item["device"]["label"] == "Mobile Safari 17 sous iOS 17"
    assert phone_item["occurred_at"] == "2026-11-28T09:00:00Z"
    assert session_of(phone) != session_of(laptop)

    await auth.client.patch("/v1/me", json={"language": "de"}, headers=auth.bearer(laptop))
    titles = [i["title"] for i in (await history(auth, laptop))["items"]]
    assert titles == [
        "Passwort geändert",
        "Angemeldet",
        "Fehlgeschlagener Anmeldeversuch",
        "Angemeldet",
    ]


async def test_sessions_ended_and_sign_outs_are_in_the_history(auth: AuthHarness) -> None:
    await auth.create_user(language="en")
    laptop = await sign_in(auth)
    phone = await sign_in(auth, user_agent=SAFARI_IPHONE)
    other = await sign_in(auth)
    await auth.client.delete(f"/v1/me/sessions/{session_of(phone)}", headers=auth.bearer(laptop))
    await auth.client.post("/v1/auth/logout", json={"refresh_token": other["refresh_token"]})
    items = (await history(auth, laptop))["items"]
    assert [(i["type"], i["title"]) for i in items[:2]] == [
        ("sign_out", "Signed out"),
        ("session_ended", "Session ended"),
    ]


async def test_pages_follow_each_other_without_gaps_or_repeats(auth: AuthHarness) -> None:
    await auth.create_user()
    for _ in range(6):
        tokens = await sign_in(auth)
        auth.clock.advance(1)
    # Two entries at the same instant: the id breaks the tie, none is lost at a page edge.
    await sign_in(auth)
    await sign_in(auth)

    everything = (await history(auth, tokens, limit=100))["items"]
    assert len(everything) == 8
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            query["cursor"] = cursor
        page = await history(auth, tokens, **query)
        pages += 1
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [i["id"] for i in everything]
    assert len(set(seen)) == 8


async def test_only_the_callers_own_events_are_shown_even_to_an_administrator(
    auth: AuthHarness,
) -> None:
    admin = await auth.create_user("boss@example.be", role="admin", language="en")
    boss = await sign_in(auth, email="boss@example.be")
    created = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users",
        json={
            "email": "an@example.be",
            "password": "copper kettle morning rain",
            "language": "fr",
            "role": "member",
        },
        headers=auth.bearer(boss),
    )
    assert created.status_code == 201, created.text
    an = await sign_in(auth, email="an@example.be", password="copper kettle morning rain")
    async with auth.client_from("192.0.2.44") as guesser:
        await guesser.post("/v1/auth/login", json={"email": "an@example.be", "password": "no"})
    deactivated = await auth.client.post(
        f"/v1/organizations/{admin.organization_id}/users/{created.json()['id']}/deactivate",
        headers=auth.bearer(boss),
    )
    assert deactivated.status_code == 200

    boss_items = (await history(auth, boss))["items"]
    assert [i["type"] for i in boss_items] == ["sign_in"]
    ids = [
        r["id"]
        for r in await database_rows(auth, "SELECT id FROM audit_log WHERE user_id = $1", admin.id)
    ]
    assert {i["id"] for i in boss_items} <= set(ids)
    # The member's entries exist, but are theirs only (and they can no longer read them).
    assert (
        await auth.client.get("/v1/me/security-events", headers=auth.bearer(an))
    ).status_code == 401


async def test_entries_from_before_user_agents_were_kept_have_no_device(auth: AuthHarness) -> None:
    user = await auth.create_user(language="en")
    tokens = await sign_in(auth)
    async with auth.app.state.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO audit_log (occurred_at, event, user_id, organization_id, client_address)
               VALUES ($1, 'password_changed', $2, $3, 'testclient')""",
            auth.clock.advance(1),
            user.id,
            user.organization_id,
        )
    newest = (await history(auth, tokens))["items"][0]
    assert newest["type"] == "password_changed"
    assert newest["device"] is None
    assert newest["address"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "garbled!"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"cursor": "A" * 129}, "cursor"),
    ],
)
async def test_a_bad_limit_or_cursor_is_a_422_naming_it(
    auth: AuthHarness, query: dict[str, Any], field: str
) -> None:
    await auth.create_user()
    tokens = await sign_in(auth)
    response = await auth.client.get(
        "/v1/me/security-events", params=query, headers=auth.bearer(tokens)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_cursor_is_good_only_for_the_user_it_was_issued_to(auth: AuthHarness) -> None:
    await auth.create_user()
    await auth.create_user("an@example.be")
    for _ in range(3):
        mine = await sign_in(auth)
    theirs = await sign_in(auth, email="an@example.be")
    cursor = (await history(auth, mine, limit=1))["next_cursor"]
    assert cursor is not None
    refused = await auth.client.get(
        "/v1/me/security-events", params={"cursor": cursor}, headers=auth.bearer(theirs)
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == PROBLEM_BASE + "invalid-cursor"
    # One changed character of a genuine cursor is refused too.
    forged = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    tampered = await auth.client.get(
        "/v1/me/security-events", params={"cursor": forged}, headers=auth.bearer(mine)
    )
    assert tampered.status_code == 422


async def test_the_history_needs_an_access_token(auth: AuthHarness) -> None:
    response = await auth.client.get("/v1/me/security-events")
    assert response.status_code == 401
    assert response.json()["type"] == PROBLEM_BASE + "unauthenticated"
