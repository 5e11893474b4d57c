"""The rendered-page cache (api/page_cache.py) is only correct if `recipients.version` moves with
every change of a row a first page can show. This drives every writer (the ingest's both paths
and its user events, single items, seen, read-all, mutes, retention, a provisional user dropped
and created again) and after each one compares the API's first pages, of every filter shape, and
its first pages of groups with the same pages read and rendered without the cache."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.serialization import encode_json

from services.notifier.api.cursors import CursorCodec
from services.notifier.api.group_pages import GroupCursorCodec, NotificationGroups
from services.notifier.api.groups_sql import GroupRepository
from services.notifier.api.inbox import Inbox, page_filter
from services.notifier.api.page_cache import PAGE_CACHE, PageCache
from services.notifier.api.page_sql import StatusFilter
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import NotificationRepository
from services.notifier.api.retention import RetentionPurger
from services.notifier.api.summaries import GroupSummaries
from services.notifier.categories import Category, category_of
from services.notifier.ingest.batch import NotificationEvent, RecipientChange
from services.notifier.ingest.repository import IngestRepository
from shared.tokens import Principal
from tests.notifier_api.conftest import (
    UNUSED_BROKER,
    WEB_APP,
    Bell,
    User,
    settings_for,
)

GROUP_FILTERS: list[dict[str, str]] = [{}, {"category": "info"}, {"limit": "1"}]
FILTERS: list[dict[str, str]] = [
    {},
    {"status": "unread"},
    {"status": "archived"},
    {"category": "info"},
    {"category": "action"},
    {"limit": "2"},
]


class _Record:
    topic, partition, offset, key, value, timestamp = "payment.received", 0, 0, None, None, 0


def _event(user: User, notification_type: str = "payment.received") -> NotificationEvent:
    status = "double" if notification_type == "subscription.invoiced" else "full"
    params = {"invoice_id": "inv-1", "status": status}
    return NotificationEvent(
        notification_type,
        uuid.uuid4(),
        user.organization_id,
        user.id,
        notification_type,
        json.dumps(params),
        datetime(2026, 11, 28, 9, tzinfo=UTC),
        _Record(),
        str(category_of(notification_type, params)),
    )


def _hits() -> float:
    return float(PAGE_CACHE.labels("hit")._value.get())


class _Checker:
    """Compares the API's first pages with cache-less reads of the same database."""

    def __init__(self, bell: Bell, user: User, language: str = "en") -> None:
        secret = settings_for("postgresql://unused", "http://unused", UNUSED_BROKER)
        self._bell, self._user = bell, user
        self._reference = Inbox(
            NotificationRepository(bell.pool),
            NotificationRenderer(WEB_APP),
            CursorCodec(secret.require_notifier_secret_key()),
            PageCache(0),
        )
        self._groups = NotificationGroups(
            GroupRepository(bell.pool),
            NotificationRenderer(WEB_APP),
            GroupSummaries(),
            GroupCursorCodec(secret.require_notifier_secret_key()),
        )
        self._caller = Principal(
            user_id=user.id,
            organization_id=user.organization_id,
            role="member",
            language=language,  # type: ignore[arg-type]
            session_id=uuid.uuid4(),
            amr=("pwd",),
            token_id="t",
        )

    async def same(self, step: str) -> None:
        groups = await self._bell.client.get("/v1/notifications/groups", headers=self._user.headers)
        keys = [{"group": item["key"]} for item in groups.json()["items"][:2]]
        for params in [*FILTERS, *keys]:
            expected = await self._uncached(params)
            for attempt in ("miss or hit", "hit"):
                answer = await self._bell.client.get(
                    "/v1/notifications", params=params, headers=self._user.headers
                )
                assert answer.status_code == 200, (step, params)
                assert answer.json() == expected, (step, params, attempt)
        for params in GROUP_FILTERS:
            category = params.get("category")
            expected_groups = await self._groups.page(
                self._caller,
                category=Category(category) if category else None,
                limit=int(params.get("limit", "20")),
                cursor=None,
            )
            for attempt in ("miss or hit", "hit"):
                answer = await self._bell.client.get(
                    "/v1/notifications/groups", params=params, headers=self._user.headers
                )
                assert answer.status_code == 200, (step, params)
                assert answer.json() == json.loads(encode_json(expected_groups)), (
                    step,
                    params,
                    attempt,
                )

    async def _uncached(self, params: dict[str, str]) -> Any:
        page = await self._reference.list_page(
            self._caller,
            page_filter=page_filter(
                StatusFilter(params.get("status", "all")),
                params.get("category"),
                params.get("group"),
            ),
            limit=int(params.get("limit", "20")),
            cursor=None,
        )
        return json.loads(encode_json(page))


async def test_every_writer_moves_what_the_cached_first_page_is_checked_against(
    bell: Bell,
) -> None:
    user = await bell.add_user("en")
    check = _Checker(bell, user)
    assert bell.app is not None
    pool = bell.app.state.pool
    one_by_one, copying = IngestRepository(pool, copy_threshold=1000), IngestRepository(pool)
    hits_before = _hits()
    await check.same("empty")

    await one_by_one.store([_event(user), _event(user, "subscription.invoiced")], [])
    await check.same("ingest, INSERT path")
    await IngestRepository(pool, copy_threshold=1).store(
        [_event(user, t) for t in ("payment.received", "offer.signed", "reminder.created")], []
    )
    await check.same("ingest, COPY path")
    old = await bell.notify(user, created_at=datetime.now(UTC) - timedelta(days=400))
    await check.same("an old item")

    items = (await bell.client.get("/v1/notifications", headers=user.headers)).json()["items"]
    first, second = items[0]["id"], items[1]["id"]
    for change, item in [
        ("read", first),
        ("unread", first),
        ("archive", second),
        ("read", second),  # an archived item: only the archived list shows it
        ("unread", second),
        ("unarchive", second),
        ("archive", second),
    ]:
        answer = await bell.client.post(f"/v1/notifications/{item}/{change}", headers=user.headers)
        assert answer.status_code == 204
        await check.same(f"{change} {item}")

    assert (await bell.client.post("/v1/notifications/seen", headers=user.headers)).is_success
    await check.same("seen (the archived item too)")

    mute = {"muted": ["payment.received", "offer.signed"]}
    put = bell.client.put
    assert (await put("/v1/notification-preferences", json=mute, headers=user.headers)).is_success
    await check.same("mute")
    await one_by_one.store([_event(user)], [])
    await check.same("a muted item arrives (stored, hidden)")
    hidden = await bell.pool.fetchval(
        "SELECT id FROM notifications WHERE user_id = $1 AND type = 'payment.received' "
        "AND read_at IS NULL AND category = 'info' AND archived_at IS NULL LIMIT 1",
        user.id,
    )
    read_hidden = f"/v1/notifications/{hidden}/read"
    assert (await bell.client.post(read_hidden, headers=user.headers)).is_success
    await check.same("a hidden item read")
    unmute: dict[str, list[str]] = {"muted": []}
    assert (await put("/v1/notification-preferences", json=unmute, headers=user.headers)).is_success
    await check.same("unmute")

    read_all = "/v1/notifications/read-all"
    info = {"category": "info"}
    assert (await bell.client.post(read_all, json=info, headers=user.headers)).is_success
    await check.same("read-all of a category")
    await copying.store([_event(user, "reminder.created")], [])
    groups = (await bell.client.get("/v1/notifications/groups", headers=user.headers)).json()
    group = {"group": groups["items"][0]["key"]}
    assert (await bell.client.post(read_all, json=group, headers=user.headers)).is_success
    await check.same("read-all of a group")
    await one_by_one.store([_event(user, "subscription.invoiced")], [])
    assert (await bell.client.post(read_all, headers=user.headers)).is_success
    await check.same("read-all")

    await one_by_one.store([], [RecipientChange(user.id, user.organization_id, language="fr")])
    await check.same("language changed by a user event")

    purger = RetentionPurger(NotificationRepository(pool), max_age=timedelta(days=180))
    assert await purger.purge_expired() == 1
    assert await bell.pool.fetchval("SELECT count(*) FROM notifications WHERE id = $1", old) == 0
    await check.same("retention purge")
    assert _hits() > hits_before  # the cache was in the way all along


async def test_a_provisional_user_dropped_and_created_again_never_gets_an_old_page(
    bell: Bell,
) -> None:
    # Unknown to the notifier: the ingest creates the row, provisional, in the event's
    # organisation; the token's language renders it.
    user = await bell.add_user("nl", with_recipient=False)
    check = _Checker(bell, user, language="nl")
    assert bell.app is not None
    ingest = IngestRepository(bell.app.state.pool, copy_threshold=1000)
    await ingest.store([_event(user), _event(user, "offer.signed")], [])
    await check.same("provisional")
    # The auth service puts the user in another organisation: the provisional row and its
    # notifications go, a confirmed row starts again at version 0.
    elsewhere = User(user.id, uuid.uuid4(), user.token)
    await ingest.store([], [RecipientChange(user.id, elsewhere.organization_id, language="nl")])
    await check.same("dropped and confirmed elsewhere")
    await ingest.store([_event(elsewhere), _event(elsewhere, "offer.signed")], [])
    await check.same("the new row at the old row's version")


async def test_size_zero_turns_the_cache_off_and_the_size_bounds_it() -> None:
    user = uuid.uuid4()
    off: PageCache[str] = PageCache(0)
    off.put((user, "all||", 20, "en"), 1, None, "page", items=20)
    assert not off.enabled
    assert off.get((user, "all||", 20, "en"), 1, None) is None
    cache: PageCache[str] = PageCache(2)
    keys = [(uuid.uuid4(), "all||", 20, "en") for _ in range(3)]
    cache.put(keys[0], 1, None, "a", items=20)
    cache.put(keys[1], 1, None, "b", items=20)
    assert cache.get(keys[0], 1, None) == "a"  # now the most recently used
    cache.put(keys[2], 1, None, "c", items=20)
    assert len(cache) == 2
    assert cache.get(keys[1], 1, None) is None  # the least recently used went
    assert cache.get(keys[0], 2, None) is None  # another version
    assert cache.get(keys[0], 1, datetime.now(UTC)) is None  # another newest arrival
    assert cache.get(keys[2], 1, None) == "c"
    # 2 pages of 20 items on average: one page of 40 fits alone, then one of 100 fits nowhere
    cache.put(keys[1], 1, None, "big", items=40)
    assert (len(cache), cache.items) == (1, 40)
    cache.put(keys[1], 2, None, "replaced", items=10)
    assert (len(cache), cache.items) == (1, 10)
    cache.put(keys[0], 1, None, "huge", items=100)
    assert (len(cache), cache.items) == (0, 0)
