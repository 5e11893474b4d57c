"""The bell v2 writers under real concurrency on real PostgreSQL: watermarks never swallow an
item committed while they run, and after any mix of writers every counter equals its list
(services.notifier.api.invariants.counter_drift)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from services.notifier.api.invariants import counter_drift
from services.notifier.group_keys import GroupKey
from tests.notifier_api.conftest import PAYMENT, Bell, User, insert_notification
from tests.notifier_api.test_consistency import wait_for_lock_waiter

COUNT = "/v1/notifications/unread-count"


async def _while_an_item_commits(
    bell: Bell, user: User, path: str, json: Any = None
) -> tuple[str, int]:
    """Run POST `path` while the ingest holds the user's recipient row with a new item; the
    item commits only once the call waits for it. Returns the late item's id and the status."""
    async with bell.pool.acquire() as arrival:
        transaction = arrival.transaction()
        await transaction.start()
        late = await insert_notification(arrival, user.id)
        call = asyncio.create_task(bell.client.post(path, headers=user.headers, json=json))
        await wait_for_lock_waiter(bell)
        await transaction.commit()
        response = await call
    return str(late), response.status_code


async def test_seen_does_not_swallow_an_item_committing_meanwhile(bell: Bell) -> None:
    user = await bell.add_user()
    for _ in range(2):
        await bell.notify(user)
    late, status = await _while_an_item_commits(bell, user, "/v1/notifications/seen")
    assert status == 204
    items = (await bell.client.get("/v1/notifications", headers=user.headers)).json()["items"]
    assert [i["id"] for i in items if i["seen_at"] is None] == [late]
    badge = (await bell.client.get(COUNT, headers=user.headers)).json()
    assert (badge["unread_count"], badge["unseen_count"]) == (3, 1)
    assert await counter_drift(bell.pool) == []


async def test_read_all_of_a_group_does_not_swallow_a_new_item_of_it(bell: Bell) -> None:
    user = await bell.add_user()
    for _ in range(2):
        await bell.notify(user)
    key = str(GroupKey.of("payment.received", datetime.now(UTC)))
    late, status = await _while_an_item_commits(
        bell, user, "/v1/notifications/read-all", {"group": key}
    )
    assert status == 204
    page = (
        await bell.client.get(f"/v1/notifications?group={key}&status=unread", headers=user.headers)
    ).json()
    assert [i["id"] for i in page["items"]] == [late]
    assert page["unread_count"] == 1
    assert await counter_drift(bell.pool) == []


async def test_every_counter_equals_its_list_after_any_concurrent_mix(bell: Bell) -> None:
    rng = random.Random(20261129)
    user, bystander = await bell.add_user(), await bell.add_user()
    await bell.notify(bystander)
    double = {**PAYMENT, "status": "double"}
    existing = [await bell.notify(user, params=double if i % 3 == 0 else None) for i in range(8)]

    async def run(kind: str, arg: int) -> None:
        target = existing[arg % len(existing)]
        if kind == "insert":
            await bell.notify(user, params=double if arg % 2 else None)
            return
        if kind == "mute":
            muted = ["payment.received"] if arg % 2 else []
            response = await bell.client.put(
                "/v1/notification-preferences", headers=user.headers, json={"muted": muted}
            )
            assert response.status_code == 200
            return
        if kind in ("read", "unread", "archive", "unarchive"):
            path = f"/v1/notifications/{target}/{kind}"
            body = None
        elif kind == "read-all":
            path = "/v1/notifications/read-all"
            body = [None, {"category": "info"}, {"category": "action"}][arg % 3]
        else:
            path, body = "/v1/notifications/seen", None
        response = await bell.client.post(path, headers=user.headers, json=body)
        assert response.status_code == 204

    kinds = ["insert"] * 3 + ["read", "unread", "archive", "unarchive", "read-all", "seen", "mute"]
    for _ in range(4):
        operations = [(rng.choice(kinds), rng.randrange(100)) for _ in range(60)]
        await asyncio.gather(*(run(kind, arg) for kind, arg in operations))
        assert await counter_drift(bell.pool) == []
    # the badge and the list tell the same
    badge = (await bell.client.get(COUNT, headers=user.headers)).json()
    listed, cursor = 0, ""
    while True:
        page = (
            await bell.client.get(
                f"/v1/notifications?status=unread&limit=100{cursor}", headers=user.headers
            )
        ).json()
        listed += len(page["items"])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert listed == badge["unread_count"] == page["unread_count"]
    assert (await bell.client.get(COUNT, headers=bystander.headers)).json()["unread_count"] == 1


async def test_archive_racing_read_all_keeps_the_counters_exact(bell: Bell) -> None:
    user = await bell.add_user()
    items = [await bell.notify(user) for _ in range(30)]
    await asyncio.gather(
        *(bell.client.post(f"/v1/notifications/{i}/archive", headers=user.headers) for i in items),
        *(bell.client.post("/v1/notifications/read-all", headers=user.headers) for _ in range(5)),
    )
    assert await counter_drift(bell.pool) == []
    badge = (await bell.client.get(COUNT, headers=user.headers)).json()
    assert badge["unread_count"] == badge["unseen_count"] == 0
    archived = await bell.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND archived_at IS NOT NULL", user.id
    )
    assert archived == len(items)
