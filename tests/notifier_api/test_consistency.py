"""The badge never drifts from the list, under real concurrency on real PostgreSQL; the ETag moves
with every change and only then; mark-all-read never swallows a notification that arrives while
it runs."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.notifier_api.conftest import Bell, User, insert_notification

COUNT = "/v1/notifications/unread-count"


async def etag_of(bell: Bell, user: User) -> str:
    response = await bell.client.get(COUNT, headers=user.headers)
    assert response.status_code == 200
    etag: str = response.headers["etag"]
    return etag


async def still(bell: Bell, user: User, etag: str) -> bool:
    """True when the server answers 304 to this ETag."""
    response = await bell.client.get(COUNT, headers={**user.headers, "If-None-Match": etag})
    assert response.status_code in (200, 304)
    return response.status_code == 304


async def test_the_etag_moves_with_every_change_and_only_then(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    seen = [await etag_of(bell, alice)]

    async def changed() -> None:
        assert not await still(bell, alice, seen[-1])
        seen.append(await etag_of(bell, alice))

    async def unchanged() -> None:
        assert await still(bell, alice, seen[-1])

    await unchanged()
    await bell.notify(bob)  # someone else's news
    await unchanged()
    first = await bell.notify(alice)
    await changed()
    await bell.client.get("/v1/notifications", headers=alice.headers)  # reading the list
    await unchanged()
    assert (
        await bell.client.post(f"/v1/notifications/{first}/read", headers=alice.headers)
    ).status_code == 204
    await changed()
    await bell.client.post(f"/v1/notifications/{first}/read", headers=alice.headers)  # again
    await unchanged()
    await bell.client.post(f"/v1/notifications/{uuid.uuid4()}/read", headers=alice.headers)
    await unchanged()
    await bell.client.post("/v1/notifications/read-all", headers=alice.headers)  # nothing unread
    await unchanged()
    await bell.notify(alice)
    await bell.notify(alice)
    await changed()
    await bell.client.post("/v1/notifications/read-all", headers=alice.headers)
    await changed()
    await bell.pool.execute("UPDATE recipients SET language = 'nl' WHERE user_id = $1", bob.id)
    await unchanged()
    assert len(set(seen)) == len(seen)


async def wait_for_lock_waiter(bell: Bell, timeout: float = 10.0) -> None:
    """Until some session of this database waits for a row lock."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        waiting = await bell.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("read-all never waited for the arriving notification's transaction")


async def test_read_all_does_not_swallow_a_notification_arriving_meanwhile(bell: Bell) -> None:
    user = await bell.add_user()
    earlier = [await bell.notify(user) for _ in range(2)]

    async with bell.pool.acquire() as arrival:
        transaction = arrival.transaction()
        await transaction.start()
        # The ingest is storing a notification (and holds the recipient row) when the user
        # clicks "mark all read"; it commits only while read-all runs.
        late = await insert_notification(arrival, user.id)
        read_all = asyncio.create_task(
            bell.client.post("/v1/notifications/read-all", headers=user.headers)
        )
        await wait_for_lock_waiter(bell)
        await transaction.commit()
        response = await read_all

    assert response.status_code == 204
    unread = (await bell.client.get("/v1/notifications?status=unread", headers=user.headers)).json()
    assert [item["id"] for item in unread["items"]] == [str(late)]
    assert unread["unread_count"] == 1
    everything = (await bell.client.get("/v1/notifications", headers=user.headers)).json()
    read_ids = {item["id"] for item in everything["items"] if item["read_at"] is not None}
    assert read_ids == {str(i) for i in earlier}
    assert await bell.unread_in_database(user) == (1, 1)


async def check_snapshot(bell: Bell, user: User) -> None:
    """A list response and its unread_count describe the same instant."""
    unread = (
        await bell.client.get("/v1/notifications?status=unread&limit=100", headers=user.headers)
    ).json()
    if unread["next_cursor"] is None:
        assert len(unread["items"]) == unread["unread_count"]
    everything = (await bell.client.get("/v1/notifications?limit=100", headers=user.headers)).json()
    if everything["next_cursor"] is None:
        assert sum(i["read_at"] is None for i in everything["items"]) == everything["unread_count"]


async def check_settled(bell: Bell, user: User) -> None:
    """After the dust settles: rows, counter, badge and list all agree."""
    rows, counter = await bell.unread_in_database(user)
    badge = (await bell.client.get(COUNT, headers=user.headers)).json()["unread_count"]
    listed, cursor = 0, None
    while True:
        params: dict[str, Any] = {"status": "unread", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = (
            await bell.client.get("/v1/notifications", params=params, headers=user.headers)
        ).json()
        listed += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert rows == counter == badge == listed


async def run_mix(
    bell: Bell, user: User, bystander: User, operations: list[tuple[str, int]]
) -> None:
    existing = [await bell.notify(user) for _ in range(5)]
    bystander_before = await bell.unread_in_database(bystander)

    async def run(kind: str, arg: int) -> None:
        if kind == "insert":
            await bell.notify(user)
        elif kind == "read_one":
            target = existing[arg % len(existing)]
            response = await bell.client.post(
                f"/v1/notifications/{target}/read", headers=user.headers
            )
            assert response.status_code == 204
        elif kind == "read_all":
            response = await bell.client.post("/v1/notifications/read-all", headers=user.headers)
            assert response.status_code == 204
        else:
            await check_snapshot(bell, user)

    await asyncio.gather(*(run(kind, arg) for kind, arg in operations))
    await check_settled(bell, user)
    assert await bell.unread_in_database(bystander) == bystander_before


operation = st.tuples(
    st.sampled_from(["insert", "read_one", "read_all", "snapshot"]), st.integers(0, 99)
)


@settings(
    max_examples=25,
    deadline=None,
    # Each example uses new users of the same test database, so sharing the fixture is sound.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(operation, min_size=1, max_size=40))
async def test_count_matches_the_list_after_any_concurrent_mix(
    bell: Bell, operations: list[tuple[str, int]]
) -> None:
    user, bystander = await bell.add_user(), await bell.add_user()
    await bell.notify(bystander)
    await run_mix(bell, user, bystander, operations)


async def test_count_matches_the_list_under_a_heavy_concurrent_load(bell: Bell) -> None:
    rng = random.Random(20261128)
    user, bystander = await bell.add_user(), await bell.add_user()
    await bell.notify(bystander)
    kinds = ["insert"] * 4 + ["read_one"] * 3 + ["read_all", "snapshot", "snapshot"]
    operations = [(rng.choice(kinds), rng.randrange(100)) for _ in range(400)]
    await run_mix(bell, user, bystander, operations)
