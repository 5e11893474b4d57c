"""Use cases of the bell: list, unread count, mark read, mark all read.

Every use case takes the caller's identity from the verified token and never from the request,
so a user can only ever see and change their own notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.notifier.api.cursors import CursorCodec, PagePosition
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import NotificationRepository, StoredNotification
from shared.problems import NotFound
from shared.tokens import Principal


class NotificationNotFound(NotFound):
    """Raised alike for an id that does not exist and one that belongs to someone else."""

    def __init__(self) -> None:
        super().__init__("There is no such notification.")


class StatusFilter(StrEnum):
    ALL = "all"
    UNREAD = "unread"


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


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    next_cursor: str | None
    unread_count: int


@dataclass(frozen=True)
class BadgeState:
    """What the badge needs; `version` moves with every change to the user's notifications."""

    unread_count: int
    latest_created_at: datetime | None
    version: int


class Inbox:
    """The bell's use cases over the repository, renderer and cursor codec."""

    def __init__(
        self,
        repository: NotificationRepository,
        renderer: NotificationRenderer,
        cursors: CursorCodec,
    ) -> None:
        self._repository = repository
        self._renderer = renderer
        self._cursors = cursors

    async def list_page(
        self, caller: Principal, *, status: StatusFilter, limit: int, cursor: str | None
    ) -> NotificationPage:
        """A newest-first page, with the unread count read from the same snapshot."""
        after = self._cursors.decode(caller.user_id, cursor) if cursor else None
        # One row more than asked tells whether another page follows.
        stored = await self._repository.page(
            caller.user_id,
            unread_only=status is StatusFilter.UNREAD,
            after=after,
            limit=limit + 1,
        )
        rows = stored.notifications[:limit]
        # The recipient row holds the user's current language; the token's claim is only a
        # fallback for a user the auth service has not described to the notifier yet.
        recipient = stored.recipient
        language: str = caller.language
        if recipient is not None and not recipient.provisional:
            language = recipient.language
        items = [self._view(row, language) for row in rows]
        next_cursor = None
        if len(stored.notifications) > limit:
            last = rows[-1]
            next_cursor = self._cursors.encode(
                caller.user_id, PagePosition(created_at=last.created_at, id=last.id)
            )
        unread = recipient.unread_count if recipient is not None else 0
        return NotificationPage(items=items, next_cursor=next_cursor, unread_count=unread)

    async def badge(self, user_id: UUID) -> BadgeState:
        """The unread count; a user without any notification yet has a stable zero state."""
        state = await self._repository.recipient_state(user_id)
        if state is None:
            return BadgeState(unread_count=0, latest_created_at=None, version=0)
        return BadgeState(
            unread_count=state.unread_count,
            latest_created_at=state.latest_created_at,
            version=state.version,
        )

    async def mark_read(self, user_id: UUID, notification_id: UUID) -> None:
        """Idempotent; NotificationNotFound when the user has no such notification."""
        found, _changed = await self._repository.mark_read(user_id, notification_id)
        if not found:
            raise NotificationNotFound()

    async def mark_all_read(self, user_id: UUID) -> int:
        """Marks read what the user had at the moment of the call; returns how many."""
        return await self._repository.mark_all_read_up_to_now(user_id)

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
        )
