"""The bell's second version over HTTP (contract 5.1): categories, seen vs read, unread,
archive, filters with cursors bound to them, scoped read-all and preferences; after each change
every counter equals its list (services.notifier.api.invariants)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier.api.invariants import counter_drift
from services.notifier.categories import ALL_TYPES, MUTABLE_TYPES
from tests.notifier_api.conftest import PAYMENT, Bell, User

COUNT = "/v1/notifications/unread-count"
PREFERENCES = "/v1/notification-preferences"
DOUBLE = {**PAYMENT, "status": "double"}
SECURITY = {"occurred_at": "2026-11-28T09:00:00Z"}


async def counts(bell: Bell, user: User) -> dict[str, Any]:
    response = await bell.client.get(COUNT, headers=user.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert await counter_drift(bell.pool) == []
    return body


async def ids(bell: Bell, user: User, query: str = "") -> list[str]:
    response = await bell.client.get(f"/v1/notifications?limit=100&{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def post(bell: Bell, user: User, path: str, json: Any = None) -> int:
    response = await bell.client.post(f"/v1/notifications{path}", headers=user.headers, json=json)
    return response.status_code


async def test_counts_by_category_and_seen_is_not_read(bell: Bell) -> None:
    user = await bell.add_user()
    info = await bell.notify(user)
    action = await bell.notify(user, "payment.received", DOUBLE)
    await bell.notify(user, "security.password_changed", SECURITY)
    body = await counts(bell, user)
    assert body["unread_count"] == body["unseen_count"] == 3
    assert body["by_category"] == {"action": 1, "info": 1, "security": 1}

    assert await post(bell, user, "/seen") == 204
    body = await counts(bell, user)
    assert (body["unread_count"], body["unseen_count"]) == (3, 0)
    listed = (await bell.client.get("/v1/notifications", headers=user.headers)).json()["items"]
    assert all(i["seen_at"] is not None and i["read_at"] is None for i in listed)

    late = await bell.notify(user)  # arrives after the bell was opened: the dot comes back
    assert (await counts(bell, user))["unseen_count"] == 1
    assert await post(bell, user, f"/{late}/read") == 204  # reading implies seeing
    body = await counts(bell, user)
    assert (body["unread_count"], body["unseen_count"]) == (3, 0)

    assert await post(bell, user, f"/{action}/read") == 204
    assert (await counts(bell, user))["by_category"] == {"action": 0, "info": 1, "security": 1}
    assert await post(bell, user, f"/{action}/unread") == 204
    assert await post(bell, user, f"/{action}/unread") == 204  # idempotent
    body = await counts(bell, user)
    assert body["by_category"] == {"action": 1, "info": 1, "security": 1}
    assert body["unseen_count"] == 0  # unread again, still seen
    assert await ids(bell, user, "category=action") == [str(action)]
    assert await ids(bell, user, "category=info&status=unread") == [str(info)]


async def test_archive_leaves_lists_and_counts_and_comes_back(bell: Bell) -> None:
    user = await bell.add_user()
    kept = await bell.notify(user)
    archived = await bell.notify(user, "payment.received", DOUBLE)
    etag = (await bell.client.get(COUNT, headers=user.headers)).headers["etag"]
    assert await post(bell, user, f"/{archived}/archive") == 204
    assert await post(bell, user, f"/{archived}/archive") == 204  # idempotent
    assert (await bell.client.get(COUNT, headers=user.headers)).headers["etag"] != etag
    body = await counts(bell, user)
    assert (body["unread_count"], body["unseen_count"], body["by_category"]["action"]) == (1, 1, 0)
    assert await ids(bell, user) == [str(kept)]
    assert await ids(bell, user, "status=unread") == [str(kept)]
    assert await ids(bell, user, "status=archived") == [str(archived)]
    archived_item = (
        await bell.client.get("/v1/notifications?status=archived", headers=user.headers)
    ).json()["items"][0]
    assert archived_item["archived_at"] is not None
    assert archived_item["category"] == "action"
    # read-all leaves the archive alone
    assert await post(bell, user, "/read-all") == 204
    assert await post(bell, user, f"/{archived}/unarchive") == 204
    assert await post(bell, user, f"/{archived}/unarchive") == 204
    body = await counts(bell, user)
    assert (body["unread_count"], body["by_category"]["action"]) == (1, 1)
    assert await ids(bell, user, "status=archived") == []


async def test_a_user_never_touches_another_users_items(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    bobs = await bell.notify(bob)
    for action in ("read", "unread", "archive", "unarchive"):
        response = await bell.client.post(
            f"/v1/notifications/{bobs}/{action}", headers=alice.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (
            await post(bell, alice, f"/{uuid.uuid4()}/{action}") == 404
        )  # alike for an unknown id
    for scope in (None, {"category": "info"}):
        assert await post(bell, alice, "/read-all", scope) == 204
    assert await post(bell, alice, "/seen") == 204
    row = await bell.pool.fetchrow(
        "SELECT read_at, seen_at, archived_at FROM notifications WHERE id = $1", bobs
    )
    assert row is not None
    assert tuple(row) == (None, None, None)
    assert (await counts(bell, bob))["unseen_count"] == 1


async def test_read_all_of_one_category_or_one_group(bell: Bell) -> None:
    user = await bell.add_user()
    day = datetime(2026, 11, 27, 10, tzinfo=UTC)
    action = await bell.notify(user, "payment.received", DOUBLE, created_at=day)
    same_group = [await bell.notify(user, created_at=day + timedelta(hours=h)) for h in range(2)]
    # 23:30 UTC on the 27th is already the 28th in Brussels: another group
    next_day = await bell.notify(user, created_at=datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    group = "2026-11-27.payment.received"
    assert sorted(await ids(bell, user, f"group={group}")) == sorted(
        [str(action), *map(str, same_group)]
    )
    assert await post(bell, user, "/read-all", {"category": "action"}) == 204
    assert await ids(bell, user, "status=unread&category=action") == []
    assert (await counts(bell, user))["unread_count"] == 3
    assert await post(bell, user, "/read-all", {"group": group}) == 204
    assert await ids(bell, user, "status=unread") == [str(next_day)]
    assert (await counts(bell, user))["by_category"] == {"action": 0, "info": 1, "security": 0}
    assert await post(bell, user, "/read-all", {}) == 204  # an empty body: everything
    assert (await counts(bell, user))["unread_count"] == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"category": "urgent"}, {"category"}),
        ({"group": "yesterday"}, {"group"}),
        ({"group": "2026-11-27.payment.refunded"}, {"group"}),
        ({"category": "info", "group": "2026-11-27.payment.received"}, {"category", "group"}),
    ],
)
async def test_bad_read_all_scopes_are_422_and_change_nothing(
    bell: Bell, body: dict[str, str], fields: set[str]
) -> None:
    user = await bell.add_user()
    await bell.notify(user)
    response = await bell.client.post("/v1/notifications/read-all", headers=user.headers, json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert {e["field"] for e in problem["errors"]} == fields
    assert (await counts(bell, user))["unread_count"] == 1


async def test_a_cursor_is_bound_to_its_filter(bell: Bell) -> None:
    user = await bell.add_user()
    for _ in range(3):
        await bell.notify(user)
    first = (
        await bell.client.get("/v1/notifications?limit=1&category=info", headers=user.headers)
    ).json()
    cursor = first["next_cursor"]
    assert cursor
    same = await bell.client.get(
        f"/v1/notifications?limit=1&category=info&cursor={cursor}", headers=user.headers
    )
    assert same.status_code == 200
    assert same.json()["items"][0]["id"] != first["items"][0]["id"]
    for other in ("", "&status=unread", "&category=action"):
        response = await bell.client.get(
            f"/v1/notifications?limit=1&cursor={cursor}{other}", headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_preferences_mute_hides_and_unmute_restores_at_once(bell: Bell) -> None:
    user = await bell.add_user()
    full = await bell.notify(user)
    double = await bell.notify(user, "payment.received", DOUBLE)
    invoiced = await bell.notify(user, "subscription.invoiced", {"x": 1})
    initial = (await bell.client.get(PREFERENCES, headers=user.headers)).json()
    assert set(initial["types"]) == set(ALL_TYPES)
    assert initial["types"]["payment.received"] == {"muted": False, "mutable": True}
    assert initial["types"]["reminder.created"] == {"muted": False, "mutable": False}
    assert initial["types"]["security.new_sign_in"]["mutable"] is False
    etag = (await bell.client.get(COUNT, headers=user.headers)).headers["etag"]

    response = await bell.client.put(
        PREFERENCES, headers=user.headers, json={"muted": ["payment.received"]}
    )
    assert response.status_code == 200
    assert response.json()["types"]["payment.received"]["muted"] is True
    assert (await bell.client.get(COUNT, headers=user.headers)).headers["etag"] != etag
    body = await counts(bell, user)
    # the full payment is hidden; the double one is an action and stays
    assert (body["unread_count"], body["unseen_count"]) == (2, 2)
    assert body["by_category"] == {"action": 1, "info": 1, "security": 0}
    assert await ids(bell, user) == [str(invoiced), str(double)]
    await bell.notify(user)  # a muted item still to come: stored, not counted
    assert (await counts(bell, user))["unread_count"] == 2
    assert await post(bell, user, "/read-all") == 204  # marks the visible items only
    assert await post(bell, user, f"/{full}/read") == 204  # a hidden item can still be read

    response = await bell.client.put(PREFERENCES, headers=user.headers, json={"muted": []})
    assert response.status_code == 200
    assert not any(t["muted"] for t in response.json()["types"].values())
    body = await counts(bell, user)
    assert body["unread_count"] == 1  # the muted item that came meanwhile, unread
    assert len(await ids(bell, user)) == 4


@pytest.mark.parametrize(
    "muted",
    [["reminder.created"], ["security.password_changed", "payment.received"], ["nope.nope"]],
)
async def test_muting_what_cannot_be_muted_is_422_naming_it(bell: Bell, muted: list[str]) -> None:
    user = await bell.add_user()
    await bell.notify(user)
    response = await bell.client.put(PREFERENCES, headers=user.headers, json={"muted": muted})
    assert response.status_code == 422
    named = {e["field"] for e in response.json()["errors"]}
    assert named == {f"muted[{t}]" for t in muted if t not in MUTABLE_TYPES}
    stored = await bell.pool.fetchval(
        "SELECT muted_types FROM recipients WHERE user_id = $1", user.id
    )
    assert stored == []


async def test_a_user_unknown_to_the_notifier_can_mute(bell: Bell) -> None:
    user = await bell.add_user("fr", with_recipient=False)
    response = await bell.client.put(
        PREFERENCES, headers=user.headers, json={"muted": ["offer.signed"]}
    )
    assert response.status_code == 200
    row = await bell.pool.fetchrow(
        "SELECT organization_id, language, provisional, muted_types FROM recipients "
        "WHERE user_id = $1",
        user.id,
    )
    assert row is not None
    assert tuple(row) == (user.organization_id, "fr", True, ["offer.signed"])
    got = (await bell.client.get(PREFERENCES, headers=user.headers)).json()
    assert got["types"]["offer.signed"]["muted"] is True
