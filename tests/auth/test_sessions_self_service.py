"""My sessions (contract 4.2): the list (current one, device, truncated address, second factor,
newest use first), ending one (its refresh token refused at once, the others unaffected),
ending all others, and a foreign or unknown session refused with 404 and nothing changed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.auth.sessions.client_devices import Device, describe_device, truncate_address
from tests.auth.conftest import CLIENT_ADDRESS, AuthHarness
from tests.auth.self_service_support import (
    CHROME_ANDROID,
    FIREFOX_WINDOWS,
    SAFARI_IPHONE,
    database_rows,
    refresh,
    session_of,
    sign_in,
)
from tests.auth.two_factor_support import code_at, enable_two_factor, mfa_token, second_step

PROBLEM_BASE = "https://clochette.dev/problems/"


async def my_sessions(auth: AuthHarness, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await auth.client.get("/v1/me/sessions", headers=auth.bearer(tokens))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def end(
    auth: AuthHarness, tokens: dict[str, Any], session_id: str, user_agent: str = FIREFOX_WINDOWS
) -> Any:
    return await auth.client.delete(
        f"/v1/me/sessions/{session_id}",
        headers={**auth.bearer(tokens), "User-Agent": user_agent},
    )


async def session_state(auth: AuthHarness) -> list[dict[str, Any]]:
    """Every session and refresh token as stored, to show that a refusal changed nothing."""
    return await database_rows(
        auth,
        """SELECT s.id, s.revoked_at, s.revoked_reason, s.last_used_at, t.expires_at, t.used_at
           FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
           ORDER BY s.id, t.created_at""",
    )


async def ended_audit(auth: AuthHarness) -> list[dict[str, Any]]:
    return await database_rows(
        auth,
        "SELECT user_id, client_address, user_agent, details FROM audit_log "
        "WHERE event = 'session_ended' ORDER BY id",
    )


async def test_the_list_shows_device_truncated_address_and_the_current_session_newest_first(
    auth: AuthHarness,
) -> None:
    await auth.create_user()  # language nl
    laptop = await sign_in(auth, address="203.0.113.77", user_agent=FIREFOX_WINDOWS)
    auth.clock.advance(60)
    phone = await sign_in(auth, address="2001:db8:1234:5678::1", user_agent=SAFARI_IPHONE)
    auth.clock.advance(60)

    listed = await my_sessions(auth, laptop)
    assert [s["id"] for s in listed] == [session_of(phone), session_of(laptop)]
    assert [s["current"] for s in listed] == [False, True]
    assert listed[0]["device"] == {
        "browser": "Mobile Safari 17",
        "os": "iOS 17",
        "label": "Mobile Safari 17 op iOS 17",
    }
    assert listed[0]["address"] == "2001:db8:1234::/48"
    assert listed[1]["device"] == {
        "browser": "Firefox 133",
        "os": "Windows 10",
        "label": "Firefox 133 op Windows 10",
    }
    assert listed[1]["address"] == "203.0.113.0/24"
    assert [s["second_factor"] for s in listed] == [False, False]
    assert listed[1]["created_at"] == "2026-11-28T09:00:00Z"

    # A refresh is a use: the laptop's session comes first now, and the phone sees it as such.
    assert await refresh(auth, laptop) == 200
    listed = await my_sessions(auth, phone)
    assert [s["id"] for s in listed] == [session_of(laptop), session_of(phone)]
    assert [s["current"] for s in listed] == [False, True]
    assert listed[0]["last_used_at"] == "2026-11-28T09:02:00Z"


async def test_the_device_label_follows_the_callers_language(auth: AuthHarness) -> None:
    await auth.create_user(language="de")
    tokens = await sign_in(auth, user_agent=CHROME_ANDROID)
    (listed,) = await my_sessions(auth, tokens)
    assert listed["device"]["label"] == "Chrome Mobile 131 unter Android 14"
    patched = await auth.client.patch(
        "/v1/me", json={"language": "fr"}, headers=auth.bearer(tokens)
    )
    assert patched.status_code == 200
    (listed,) = await my_sessions(auth, tokens)
    assert listed["device"]["label"] == "Chrome Mobile 131 sous Android 14"


async def test_a_session_signed_in_with_a_second_factor_says_so(auth: AuthHarness) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    stepped = await second_step(auth, await mfa_token(auth), code_at(secret, auth.clock.now()))
    assert stepped.status_code == 200, stepped.text
    listed = await my_sessions(auth, stepped.json())
    mine = [s for s in listed if s["current"]]
    assert [s["second_factor"] for s in mine] == [True]


async def test_ended_expired_and_idle_sessions_are_not_listed(auth: AuthHarness) -> None:
    await auth.create_user()
    old = await sign_in(auth)
    auth.clock.advance(days=10)
    logged_out = await sign_in(auth)
    out = await auth.client.post(
        "/v1/auth/logout", json={"refresh_token": logged_out["refresh_token"]}
    )
    assert out.status_code == 204
    auth.clock.advance(days=5)  # the first one idle for 15 days: its refresh token expired
    current = await sign_in(auth)
    assert [s["id"] for s in await my_sessions(auth, current)] == [session_of(current)]
    assert await refresh(auth, old) == 401


async def test_ending_a_session_stops_its_refresh_token_at_once_and_leaves_the_others(
    auth: AuthHarness,
) -> None:
    user = await auth.create_user()
    laptop = await sign_in(auth, user_agent=FIREFOX_WINDOWS)
    phone = await sign_in(auth, address="198.51.100.9", user_agent=SAFARI_IPHONE)
    tablet = await sign_in(auth, user_agent=CHROME_ANDROID)

    ended = await end(auth, laptop, session_of(phone))
    assert ended.status_code == 204, ended.text
    assert await refresh(auth, phone) == 401
    # The auth service checks the session of every access token it accepts.
    me = await auth.client.get("/v1/me", headers=auth.bearer(phone))
    assert me.status_code == 401
    assert await refresh(auth, tablet) == 200
    assert (await auth.client.get("/v1/me", headers=auth.bearer(laptop))).status_code == 200
    assert session_of(phone) not in {s["id"] for s in await my_sessions(auth, laptop)}

    stored = await database_rows(
        auth,
        "SELECT revoked_reason, revoked_at FROM sessions WHERE id = $1",
        uuid.UUID(session_of(phone)),
    )
    assert stored == [{"revoked_reason": "ended_by_user", "revoked_at": auth.clock.now()}]
    live_tokens = await database_rows(
        auth,
        "SELECT 1 FROM refresh_tokens WHERE session_id = $1 AND expires_at > $2",
        uuid.UUID(session_of(phone)),
        auth.clock.now(),
    )
    assert live_tokens == []
    (entry,) = await ended_audit(auth)
    assert entry["user_id"] == user.id
    assert entry["user_agent"] == FIREFOX_WINDOWS  # ended from the laptop
    assert entry["client_address"] == CLIENT_ADDRESS
    assert entry["details"] == {
        "session_id": session_of(phone),
        "ended_from_session": session_of(laptop),
        "scope": "one",
    }
    # Ended already: 404 like any session that is not an active one of the caller's.
    assert (await end(auth, laptop, session_of(phone))).status_code == 404


async def test_ending_the_current_session_is_a_logout(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await sign_in(auth)
    assert (await end(auth, tokens, session_of(tokens))).status_code == 204
    assert await refresh(auth, tokens) == 401
    listed = await auth.client.get("/v1/me/sessions", headers=auth.bearer(tokens))
    assert listed.status_code == 401


async def test_another_users_or_an_unknown_session_is_404_and_nothing_changes(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    await auth.create_user("an@example.be", organization="Elsewhere")
    await auth.create_user("piet@example.be")  # same organisation
    mine = await sign_in(auth)
    theirs = await sign_in(auth, email="an@example.be")
    colleague = await sign_in(auth, email="piet@example.be")
    before = await session_state(auth)

    for session_id in (session_of(theirs), session_of(colleague), str(uuid.uuid4())):
        refused = await end(auth, mine, session_id)
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == PROBLEM_BASE + "session-not-found"

    assert await session_state(auth) == before
    assert await ended_audit(auth) == []
    assert await refresh(auth, theirs) == 200
    assert await refresh(auth, colleague) == 200


async def test_a_session_id_that_is_not_a_uuid_is_404_and_changes_nothing(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    tokens = await sign_in(auth)
    before = await session_state(auth)
    refused = await end(auth, tokens, "not-a-session")
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await session_state(auth) == before


async def test_revoke_others_keeps_only_the_callers_session(auth: AuthHarness) -> None:
    user = await auth.create_user()
    await auth.create_user("an@example.be")
    laptop = await sign_in(auth)
    phone = await sign_in(auth, user_agent=SAFARI_IPHONE)
    tablet = await sign_in(auth, user_agent=CHROME_ANDROID)
    someone_else = await sign_in(auth, email="an@example.be")

    revoked = await auth.client.post("/v1/me/sessions/revoke-others", headers=auth.bearer(phone))
    assert revoked.status_code == 204, revoked.text
    assert await refresh(auth, laptop) == 401
    assert await refresh(auth, tablet) == 401
    assert await refresh(auth, someone_else) == 200
    assert await refresh(auth, phone) == 200
    assert [s["id"] for s in await my_sessions(auth, phone)] == [session_of(phone)]
    entries = await ended_audit(auth)
    assert {e["details"]["session_id"] for e in entries} == {
        session_of(laptop),
        session_of(tablet),
    }
    assert all(e["user_id"] == user.id and e["details"]["scope"] == "others" for e in entries)

    # Nothing left to end: still 204, and nothing more is audited.
    again = await auth.client.post("/v1/me/sessions/revoke-others", headers=auth.bearer(phone))
    assert again.status_code == 204
    assert len(await ended_audit(auth)) == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/me/sessions"),
        ("DELETE", f"/v1/me/sessions/{uuid.uuid4()}"),
        ("POST", "/v1/me/sessions/revoke-others"),
    ],
)
async def test_the_session_routes_need_an_access_token(
    auth: AuthHarness, method: str, path: str
) -> None:
    response = await auth.client.request(method, path)
    assert response.status_code == 401
    assert response.json()["type"] == PROBLEM_BASE + "unauthenticated"


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX_WINDOWS, Device("Firefox 133", "Windows 10")),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
            Device("Safari 17", "Mac OS X 10.15"),
        ),
        ("curl/8.5.0", Device("curl 8", None)),
        ("python-httpx/0.27.0", Device(None, None)),
        ("", Device(None, None)),
        (None, Device(None, None)),
    ],
)
def test_devices_are_described_from_the_user_agent(user_agent: str | None, device: Device) -> None:
    assert describe_device(user_agent) == device


def test_labels_of_partly_or_un_known_devices() -> None:
    assert Device("curl 8", None).label("nl") == "curl 8"
    assert Device(None, "Linux").label() == "Linux"
    assert Device(None, None).label("fr") == "Appareil inconnu"
    assert Device("Firefox 133", "Ubuntu").label("en") == "Firefox 133 on Ubuntu"


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:192.0.2.10", "192.0.2.0/24"),
        ("testclient", None),
        ("unknown", None),
        (None, None),
    ],
)
def test_addresses_are_truncated_to_their_network(address: str | None, network: str | None) -> None:
    assert truncate_address(address) == network
