"""Use cases of the bell: list (filtered), counts, read/unread, seen, archive, read-all.

Every use case takes the caller's identity from the verified token and never from the request,
so a user can only ever see and change their own notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from services.notifier.api.cursors import CursorCodec, PagePosition
from services.notifier.api.page_cache import PageCache
from services.notifier.api.page_sql import PageFilter, StatusFilter
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import (
    NotificationRepository,
    RecipientState,
    StoredNotification,
)
from services.notifier.categories import CATEGORIES
from services.notifier.group_keys import GroupKey, InvalidGroupKey
from shared.problems import FieldError, InvalidRequest, NotFound
from shared.tokens import Principal


class NotificationNotFound(NotFound):
    """Raised alike for an id that does not exist and one that belongs to someone else."""

    def __init__(self) -> None:
        super().__init__("There is no such notification.")


def invalid_category(value: str) -> InvalidRequest:
    return InvalidRequest(
        f"Unknown category {value!r}.",
        errors=[FieldError("category", f"one of {', '.join(CATEGORIES)}")],
    )


def parse_group(value: str) -> tuple[str, datetime, datetime]:
    """A group key as (type, start, end); InvalidRequest naming `group` when it is not one."""
    try:
        key = GroupKey.parse(value)
    except InvalidGroupKey:
        raise InvalidRequest(
            "Not a group key of this service.",
            errors=[FieldError("group", "a key of GET /v1/notifications/groups")],
        ) from None
    start, end = key.bounds()
    return key.type, start, end


def page_filter(status: StatusFilter, category: str | None, group: str | None) -> PageFilter:
    if category is not None and category not in CATEGORIES:
        raise invalid_category(category)
    return PageFilter(status=status, category=category, group=parse_group(group) if group else None)


@dataclass(frozen=True)
class NotificationView:
    """One notification as the bell shows it, rendered in the reader's current language."""

    id: UUID
    type: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None
    data: dict[str, Any]
    category: str
    seen_at: datetime | None
    archived_at: datetime | None


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    next_cursor: str | None
    unread_count: int


@dataclass(frozen=True)
class CategoryCounts:
    """Unread visible items per category."""

    action: int
    info: int
    security: int


@dataclass(frozen=True)
class BadgeState:
    """What the badge needs; `version` moves with every change to any of its counters."""

    unread_count: int
    latest_created_at: datetime | None
    version: int
    unseen_count: int = 0
    by_category: CategoryCounts = CategoryCounts(0, 0, 0)


class Inbox:
    """The bell's use cases over the repository, renderer and cursor codec."""

    def __init__(
        self,
        repository: NotificationRepository,
        renderer: NotificationRenderer,
        cursors: CursorCodec,
        pages: PageCache[NotificationPage] | None = None,
    ) -> None:
        self._repository = repository
        self._renderer = renderer
        self._cursors = cursors
        self._pages: PageCache[NotificationPage] = pages if pages is not None else PageCache(0)

    async def list_page(
        self, caller: Principal, *, page_filter: PageFilter, limit: int, cursor: str | None
    ) -> NotificationPage:
        """A newest-first page, with the unread count read from the same snapshot. A cursor is
        bound to the filter it was issued for.

        A first page (no cursor) may come from the page cache (page_cache.py): after a fresh
        badge read, when the user's version has not moved since it was rendered."""
        scope = page_filter.scope()
        after = self._cursors.decode(caller.user_id, cursor, scope=scope) if cursor else None
        cacheable = after is None and self._pages.enabled
        if cacheable:
            badge = await self._repository.recipient_state(caller.user_id)
            if badge is not None:
                key = (caller.user_id, scope, limit, _language(badge, caller))
                cached = self._pages.get(key, badge.version, badge.latest_created_at)
                if cached is not None:
                    # The same version counts the same; the badge's own figure all the same.
                    return replace(cached, unread_count=badge.unread_count)
        # One row more than asked tells whether another page follows.
        stored = await self._repository.page(
            caller.user_id, page_filter, after=after, limit=limit + 1
        )
        rows = stored.notifications[:limit]
        recipient = stored.recipient
        language = _language(recipient, caller)
        items = [self._view(row, language) for row in rows]
        next_cursor = None
        if len(stored.notifications) > limit:
            last = rows[-1]
            next_cursor = self._cursors.encode(
                caller.user_id, PagePosition(created_at=last.created_at, id=last.id), scope=scope
            )
        unread = recipient.unread_count if recipient is not None else 0
        page = NotificationPage(items=items, next_cursor=next_cursor, unread_count=unread)
        if cacheable and recipient is not None:
            # Kept with the version of the page's own snapshot, which may be newer than the
            # badge read above: it is served only to a request whose badge shows that version.
            key = (caller.user_id, scope, limit, language)
            self._pages.put(
                key, recipient.version, recipient.latest_created_at, page, items=len(items)
            )
        return page

    async def badge(self, user_id: UUID) -> BadgeState:
        """The counters; a user without any notification yet has a stable zero state."""
        state = await self._repository.recipient_state(user_id)
        if state is None:
            return BadgeState(unread_count=0, latest_created_at=None, version=0)
        return BadgeState(
            unread_count=state.unread_count,
            latest_created_at=state.latest_created_at,
            version=state.version,
            unseen_count=state.unseen_count,
            by_category=CategoryCounts(
                action=state.unread_action,
                info=state.unread_info,
                security=state.unread_security,
            ),
        )

    async def change(self, user_id: UUID, notification_id: UUID, change: str) -> None:
        """read, unread, archive or unarchive one notification. Idempotent;
        NotificationNotFound when the user has no such notification."""
        if not await self._repository.change_one(user_id, notification_id, change):
            raise NotificationNotFound()

    async def mark_all_seen(self, user_id: UUID) -> int:
        """Marks seen what the user had at the moment of the call; returns how many."""
        return await self._repository.mark_all_seen(user_id)

    async def mark_all_read(
        self, user_id: UUID, *, category: str | None = None, group: str | None = None
    ) -> int:
        """Marks read the visible items the user had at the moment of the call (of one category
        or one group when asked); returns how many."""
        if category is not None and group is not None:
            raise InvalidRequest(
                "Give a category or a group, not both.",
                errors=[
                    FieldError("category", "not with group"),
                    FieldError("group", "not with category"),
                ],
            )
        if category is not None and category not in CATEGORIES:
            raise invalid_category(category)
        return await self._repository.mark_all_read(
            user_id, category=category, group=parse_group(group) if group is not None else None
        )

    def _view(self, row: StoredNotification, language: str) -> NotificationView:
        rendered = self._renderer.render(row.type, row.params, language)
        return NotificationView(
            id=row.id,
            type=row.type,
            title=rendered.title,
            body=rendered.body,
            link=rendered.link,
            created_at=row.created_at,
            read_at=row.read_at,
            data=row.params,
            category=row.category,
            seen_at=row.seen_at,
            archived_at=row.archived_at,
        )


def _language(recipient: RecipientState | None, caller: Principal) -> str:
    """The recipient row holds the user's current language; the token's claim is only a
    fallback for a user the auth service has not described to the notifier yet."""
    if recipient is not None and not recipient.provisional:
        return recipient.language
    return caller.language
