"""The bell's HTTP API (contract section 5): list, unread count, mark read, read all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clochette.jwks_stub import mint
from tests.notifier_api.conftest import WEB_APP, Bell

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://clochette.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def test_list_is_newest_first_rendered_in_the_users_language(bell: Bell) -> None:
    user = await bell.add_user("nl")
    base = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    older = await bell.notify(user, created_at=base)
    newer = await bell.notify(
        user,
        "reminder.created",
        {
            "invoice_id": "inv-7",
            "invoice_number": "F2026-0007",
            "customer_name": "Garage Janssens",
            "reminder_level": 2,
            "due_date": "2026-10-31",
            "amount_due": {"amount": "99.5", "currency": "EUR"},
        },
        created_at=base + timedelta(minutes=5),
    )

    response = await bell.client.get("/v1/notifications", headers=user.headers)

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [str(newer), str(older)]
    assert body["unread_count"] == 2
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first == {
        "id": str(newer),
        "type": "reminder.created",
        "title": "Tweede herinnering voor factuur F2026-0007",
        "body": "Garage Janssens moet nog €\xa099,50 betalen; de vervaldag was 31 oktober 2026.",
        "link": f"{WEB_APP}/invoices/inv-7",
        "created_at": "2026-11-28T09:05:00Z",
        "read_at": None,
        "data": {
            "invoice_id": "inv-7",
            "invoice_number": "F2026-0007",
            "customer_name": "Garage Janssens",
            "reminder_level": 2,
            "due_date": "2026-10-31",
            "amount_due": {"amount": "99.5", "currency": "EUR"},
        },
        "category": "action",
        "seen_at": None,
        "archived_at": None,
    }


async def test_a_language_change_rerenders_existing_notifications(bell: Bell) -> None:
    user = await bell.add_user("fr")
    await bell.notify(user)
    before = await bell.client.get("/v1/notifications", headers=user.headers)
    await bell.pool.execute("UPDATE recipients SET language = 'de' WHERE user_id = $1", user.id)
    after = await bell.client.get("/v1/notifications", headers=user.headers)
    assert before.json()["items"][0]["title"] == "Facture F2026-0042 entièrement payée"
    assert after.json()["items"][0]["title"] == "Rechnung F2026-0042 vollständig bezahlt"


async def test_token_language_is_the_fallback_for_an_unknown_user(bell: Bell) -> None:
    user = await bell.add_user(with_recipient=False, token_lang="de")
    response = await bell.client.get("/v1/notifications", headers=user.headers)
    assert response.json() == {"items": [], "next_cursor": None, "unread_count": 0}
    # A provisional recipient row (created by the ingest before the user event) has a
    # placeholder language: the token's language wins.
    await bell.pool.execute(
        "INSERT INTO recipients (user_id, organization_id, provisional) VALUES ($1, $2, true)",
        user.id,
        user.organization_id,
    )
    await bell.notify(user)
    response = await bell.client.get("/v1/notifications", headers=user.headers)
    assert response.json()["items"][0]["title"] == "Rechnung F2026-0042 vollständig bezahlt"


async def test_pages_follow_the_cursor_to_the_end(bell: Bell) -> None:
    user = await bell.add_user()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Two rows share a timestamp: the id breaks the tie, so none is skipped or repeated.
    stamps = [base + timedelta(seconds=i // 2) for i in range(7)]
    ids = [await bell.notify(user, created_at=stamp) for stamp in stamps]
    expected = [
        str(i) for _, i in sorted(zip(stamps, ids, strict=True), key=lambda p: (p[0], p[1]))
    ][::-1]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (
            await bell.client.get("/v1/notifications", params=params, headers=user.headers)
        ).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3


async def test_unread_filter_and_read_state(bell: Bell) -> None:
    user = await bell.add_user()
    read = await bell.notify(user, read=True)
    unread = await bell.notify(user)
    everything = (await bell.client.get("/v1/notifications", headers=user.headers)).json()
    only_unread = (
        await bell.client.get("/v1/notifications?status=unread", headers=user.headers)
    ).json()
    assert {i["id"] for i in everything["items"]} == {str(read), str(unread)}
    assert [i["id"] for i in only_unread["items"]] == [str(unread)]
    assert only_unread["unread_count"] == everything["unread_count"] == 1
    read_item = next(i for i in everything["items"] if i["id"] == str(read))
    assert read_item["read_at"] is not None


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "status=deleted",
        "status=",
        "category=urgent",
        "group=yesterday",
    ],
)
async def test_bad_query_parameters_are_422_problems(bell: Bell, query: str) -> None:
    user = await bell.add_user()
    response = await bell.client.get(f"/v1/notifications?{query}", headers=user.headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"]


async def test_limit_bounds_are_inclusive(bell: Bell) -> None:
    user = await bell.add_user()
    for limit in (1, 100):
        response = await bell.client.get(f"/v1/notifications?limit={limit}", headers=user.headers)
        assert response.status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "A" * 54, "%%%", "A" * 200])
async def test_a_made_up_cursor_is_a_422_problem(bell: Bell, cursor: str) -> None:
    user = await bell.add_user()
    response = await bell.client.get(
        "/v1/notifications", params={"cursor": cursor}, headers=user.headers
    )
    assert_problem(response, 422, "validation-error")


async def test_another_users_cursor_is_refused(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    for _ in range(3):
        await bell.notify(alice)
        await bell.notify(bob)
    page = (await bell.client.get("/v1/notifications?limit=1", headers=alice.headers)).json()
    response = await bell.client.get(
        "/v1/notifications", params={"cursor": page["next_cursor"]}, headers=bob.headers
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "cursor", "message": "not a valid cursor"}]


async def test_a_user_only_ever_sees_their_own_notifications(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    mine = await bell.notify(alice)
    await bell.notify(bob)
    await bell.notify(bob)
    body = (await bell.client.get("/v1/notifications", headers=alice.headers)).json()
    assert [i["id"] for i in body["items"]] == [str(mine)]
    assert body["unread_count"] == 1
    count = (await bell.client.get("/v1/notifications/unread-count", headers=alice.headers)).json()
    assert count["unread_count"] == 1


async def test_unread_count_headers_and_conditional_polling(bell: Bell) -> None:
    user = await bell.add_user()
    created = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    await bell.notify(user, created_at=created)

    first = await bell.client.get("/v1/notifications/unread-count", headers=user.headers)
    assert first.status_code == 200
    assert first.json() == {
        "unread_count": 1,
        "unseen_count": 1,
        "by_category": {"action": 0, "info": 1, "security": 0},
        "latest_created_at": "2026-11-28T09:15:00Z",
    }
    etag = first.headers["etag"]
    assert etag.startswith('"')  # strong: no W/ prefix
    assert etag.endswith('"')
    assert first.headers["x-poll-interval"] == "30"
    assert first.headers["cache-control"] == "private, no-cache"

    again = await bell.client.get(
        "/v1/notifications/unread-count", headers={**user.headers, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["x-poll-interval"] == "30"

    listed = await bell.client.get(
        "/v1/notifications/unread-count",
        headers={**user.headers, "If-None-Match": f'"nope", W/{etag}'},
    )
    assert listed.status_code == 304

    stale = await bell.client.get(
        "/v1/notifications/unread-count", headers={**user.headers, "If-None-Match": '"0"'}
    )
    assert stale.status_code == 200


async def test_unread_count_of_a_user_without_notifications(bell: Bell) -> None:
    user = await bell.add_user(with_recipient=False)
    first = await bell.client.get("/v1/notifications/unread-count", headers=user.headers)
    second = await bell.client.get(
        "/v1/notifications/unread-count",
        headers={**user.headers, "If-None-Match": first.headers["etag"]},
    )
    assert first.json() == {
        "unread_count": 0,
        "unseen_count": 0,
        "by_category": {"action": 0, "info": 0, "security": 0},
        "latest_created_at": None,
    }
    assert second.status_code == 304


async def test_etags_differ_between_users_at_the_same_version(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    a = await bell.client.get("/v1/notifications/unread-count", headers=alice.headers)
    b = await bell.client.get(
        "/v1/notifications/unread-count",
        headers={**bob.headers, "If-None-Match": a.headers["etag"]},
    )
    assert b.status_code == 200
    assert a.headers["etag"] != b.headers["etag"]


async def test_mark_read_is_idempotent_and_moves_the_count(bell: Bell) -> None:
    user = await bell.add_user()
    target = await bell.notify(user)
    await bell.notify(user)
    for _ in range(2):
        response = await bell.client.post(f"/v1/notifications/{target}/read", headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
    count = (await bell.client.get("/v1/notifications/unread-count", headers=user.headers)).json()
    assert count["unread_count"] == 1
    assert await bell.unread_in_database(user) == (1, 1)


async def test_mark_read_of_someone_elses_notification_is_an_ordinary_404(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    bobs = await bell.notify(bob)
    stranger = await bell.client.post(f"/v1/notifications/{bobs}/read", headers=alice.headers)
    missing = await bell.client.post(
        f"/v1/notifications/{uuid.uuid4()}/read", headers=alice.headers
    )
    a = assert_problem(stranger, 404, "not-found")
    b = assert_problem(missing, 404, "not-found")
    a.pop("instance"), b.pop("instance")
    assert a == b
    assert await bell.unread_in_database(bob) == (1, 1)


async def test_mark_read_with_a_malformed_id_is_a_problem(bell: Bell) -> None:
    user = await bell.add_user()
    response = await bell.client.post("/v1/notifications/not-a-uuid/read", headers=user.headers)
    assert response.status_code in (400, 404, 422)
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_read_all_marks_everything_of_the_caller_only(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    for _ in range(3):
        await bell.notify(alice)
    await bell.notify(bob)
    response = await bell.client.post("/v1/notifications/read-all", headers=alice.headers)
    assert response.status_code == 204
    assert await bell.unread_in_database(alice) == (0, 0)
    assert await bell.unread_in_database(bob) == (1, 1)
    again = await bell.client.post("/v1/notifications/read-all", headers=alice.headers)
    assert again.status_code == 204


async def test_read_all_for_a_user_without_recipient_row(bell: Bell) -> None:
    user = await bell.add_user(with_recipient=False)
    response = await bell.client.post("/v1/notifications/read-all", headers=user.headers)
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/unread-count"),
        ("POST", f"/v1/notifications/{uuid.uuid4()}/read"),
        ("POST", "/v1/notifications/read-all"),
    ],
)
async def test_every_route_needs_a_token(bell: Bell, method: str, path: str) -> None:
    user = await bell.add_user()
    await bell.notify(user)
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": f"Basic {user.token}"}):
        response = await bell.client.request(method, path, headers=headers)
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    invalid = await bell.client.request(method, path, headers={"Authorization": "Bearer x.y.z"})
    assert_problem(invalid, 401, "unauthenticated")
    assert invalid.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_forged_token_cannot_act_for_another_user(bell: Bell) -> None:
    from clochette.jwks_stub import SigningKey

    victim = await bell.add_user()
    notification = await bell.notify(victim)
    forger = SigningKey(kid=bell.key.kid)  # same kid, another private key
    forged = {"Authorization": f"Bearer {mint(forger, victim.id)}"}
    for method, path in (
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/unread-count"),
        ("POST", f"/v1/notifications/{notification}/read"),
        ("POST", "/v1/notifications/read-all"),
    ):
        response = await bell.client.request(method, path, headers=forged)
        assert_problem(response, 401, "unauthenticated")
    assert await bell.unread_in_database(victim) == (1, 1)


async def test_error_bodies_reveal_nothing_internal(bell: Bell) -> None:
    user = await bell.add_user()
    response = await bell.client.get("/v1/notifications?cursor=' OR 1=1 --", headers=user.headers)
    text = response.text.lower()
    for leak in ("traceback", "select", "asyncpg", "sql", "postgres"):
        assert leak not in text
