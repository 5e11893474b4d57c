"""The groups page of the bell (contract 5.1, "Groups"): the use case and its cursor.

A group folds the caller's visible items of one type on one Brussels calendar day into one row
with a summary in the reader's language; a group of one item reads as that item. The SQL is in
groups_sql.py, the summaries' wording in summaries.py.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from uuid import UUID

from services.notifier.api.cursors import InvalidCursor
from services.notifier.api.groups_sql import GroupPosition, GroupRepository, StoredGroup
from services.notifier.api.page_cache import PageCache
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import RecipientState
from services.notifier.api.summaries import GroupSummaries
from services.notifier.categories import Category
from services.notifier.group_keys import GroupKey, day_bounds
from shared.signed_cursors import SignedCursorCodec, epoch_micros, from_epoch_micros
from shared.tokens import Principal

_VERSION: Final = 1
# version, day (ordinal), latest_created_at (µs since the epoch); the type follows in UTF-8.
_HEAD = struct.Struct(">Biq")
_MAX_TYPE_BYTES: Final = 64


class GroupCursorCodec:
    """Signs and checks group-page cursors like cursors.py does for the list: a MAC over the
    position and the user it was issued to, under a key of its own derived from the secret."""

    def __init__(self, secret_key: str) -> None:
        key = hmac.new(
            secret_key.encode(), b"clochette/notifier/group-cursor/v1", hashlib.sha256
        ).digest()
        self._signed = SignedCursorCodec(key, invalid=InvalidCursor)

    def encode(self, user_id: UUID, position: GroupPosition) -> str:
        micros = epoch_micros(position.latest_created_at)
        payload = _HEAD.pack(_VERSION, position.day.toordinal(), micros)
        return self._signed.sign(user_id, payload + position.type.encode())

    def decode(self, user_id: UUID, cursor: str) -> GroupPosition:
        """The position a cursor names; InvalidCursor for anything not issued to user_id."""
        payload = self._signed.open(user_id, cursor)
        if len(payload) <= _HEAD.size:
            raise InvalidCursor()
        version, ordinal, micros = _HEAD.unpack_from(payload)
        type_bytes = payload[_HEAD.size :]
        if version != _VERSION or len(type_bytes) > _MAX_TYPE_BYTES:
            raise InvalidCursor()
        try:
            day = date.fromordinal(ordinal)
            latest = from_epoch_micros(micros)
            notification_type = type_bytes.decode()
        except (ValueError, OverflowError):
            raise InvalidCursor() from None
        return GroupPosition(day=day, latest_created_at=latest, type=notification_type)


@dataclass(frozen=True)
class GroupView:
    """One group as the bell shows it."""

    key: str
    type: str
    category: Category
    count: int
    unread_count: int
    title: str
    body: str
    latest_created_at: datetime


@dataclass(frozen=True)
class GroupPage:
    items: list[GroupView]
    next_cursor: str | None


class NotificationGroups:
    """Pages of the caller's groups, newest first."""

    def __init__(
        self,
        repository: GroupRepository,
        renderer: NotificationRenderer,
        summaries: GroupSummaries,
        cursors: GroupCursorCodec,
        *,
        pages: PageCache[GroupPage] | None = None,
        badge: Callable[[UUID], Awaitable[RecipientState | None]] | None = None,
    ) -> None:
        self._repository = repository
        self._renderer = renderer
        self._summaries = summaries
        self._cursors = cursors
        # A first page from the page cache (page_cache.py) while the user's version has not
        # moved, checked with `badge` (the coalesced badge read): needs both.
        self._pages: PageCache[GroupPage] = pages if pages is not None else PageCache(0)
        self._badge = badge

    async def page(
        self, caller: Principal, *, category: Category | None, limit: int, cursor: str | None
    ) -> GroupPage:
        after = self._cursors.decode(caller.user_id, cursor) if cursor else None
        scope = f"groups|{category.value if category else ''}"
        cacheable = after is None and self._badge is not None and self._pages.enabled
        if cacheable and self._badge is not None:
            badge = await self._badge(caller.user_id)
            if badge is not None:
                language = badge.language if not badge.provisional else caller.language
                key = (caller.user_id, scope, limit, language)
                cached = self._pages.get(key, badge.version, badge.latest_created_at)
                if cached is not None:
                    return cached
        stored = await self._repository.fold(
            caller.user_id,
            category=category.value if category else None,
            after=after,
            after_bound=day_bounds(after.day)[1] if after else None,
            limit=limit + 1,  # one more than asked tells whether another page follows
        )
        groups = stored.groups[:limit]
        # As the list does: the recipient's current language, the token's for a user the auth
        # service has not described to the notifier yet.
        language = stored.language or caller.language
        next_cursor = None
        if len(stored.groups) > limit:
            next_cursor = self._cursors.encode(caller.user_id, groups[-1].position)
        page = GroupPage(
            items=[self._view(group, language) for group in groups], next_cursor=next_cursor
        )
        if cacheable and stored.version is not None:
            # The version of the groups' own snapshot (see Inbox.list_page).
            key = (caller.user_id, scope, limit, language)
            self._pages.put(
                key, stored.version, stored.latest_created_at, page, items=len(page.items)
            )
        return page

    def _view(self, group: StoredGroup, language: str) -> GroupView:
        if group.single_params is not None:
            rendered = self._renderer.render(group.type, group.single_params, language)
            title, body = rendered.title, rendered.body
        else:
            title, body = self._summaries.summarize(group, language)
        return GroupView(
            key=str(GroupKey(day=group.day, type=group.type)),
            type=group.type,
            category=Category(group.category),
            count=group.count,
            unread_count=group.unread_count,
            title=title,
            body=body,
            latest_created_at=group.latest_created_at,
        )
