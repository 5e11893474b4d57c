"""HTTP handler of the bell's groups, `GET /v1/notifications/groups` (contract 5.1), and the hook
that installs it in the notifier app (its route and the lifespan step building its use case)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Final

from litestar import Controller, Litestar, get
from litestar.config.app import AppConfig
from litestar.params import QueryParameter

from services.notifier.api.cursors import MAX_CURSOR_LENGTH
from services.notifier.api.group_pages import (
    GroupCursorCodec,
    GroupPage,
    NotificationGroups,
)
from services.notifier.api.groups_sql import GroupRepository
from services.notifier.api.page_cache import PageCache
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import NotificationRepository
from services.notifier.api.routes import BearerTokenAuthentication, CallerRequest
from services.notifier.api.summaries import GroupSummaries
from services.notifier.categories import Category
from shared.problem_docs import problem_response
from shared.settings import Settings

_DESCRIPTION: Final = """\
Folds your visible notifications (not archived, muted `info` types left out) of one type on one
calendar day in Europe/Brussels into one row, `key` naming it for
`GET /v1/notifications?group=KEY`. A group of several items has a summary in your language
(counts, and totals per currency for invoices, payments and reminders); a group of one item
reads as that item. `category` is `action` when any item of the group is an action (a double
payment among payments). With `category=`, only the items of that category are folded.

Newest day first; within a day, the group with the newest item first, then by type. Pass
`next_cursor` back as `cursor` for the next page. A group that changes between two pages (a
new, archived or muted item) can move in that order: reload from the first page to see it
where it now belongs."""


class NotificationGroupController(Controller):
    """The caller's own groups; nothing here takes a user id from the request."""

    path = "/v1/notifications/groups"
    tags = ["notifications"]  # noqa: RUF012 - Litestar reads these class attributes
    security = [{"BearerToken": []}]  # noqa: RUF012
    middleware = [BearerTokenAuthentication]  # noqa: RUF012

    @get(
        "/",
        summary="My notifications folded by type and day, with a summary",
        description=_DESCRIPTION,
        responses={
            401: problem_response(401, "Missing, expired or invalid access token (problem+json)"),
            400: problem_response(400),
            422: problem_response(422, "Bad limit, category or cursor"),
        },
    )
    async def list_groups(
        self,
        request: CallerRequest,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size, 1-100")] = 20,
        cursor: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=MAX_CURSOR_LENGTH,
                description="`next_cursor` of the last page",
            ),
        ] = None,
        category: Annotated[
            Category | None,
            QueryParameter(description="Fold only the items of this category"),
        ] = None,
    ) -> GroupPage:
        # Taken from the app state rather than injected: resolving a dependency is a measurable
        # share of a cheap route (see routes.py's unread count).
        groups: NotificationGroups = request.app.state.notification_groups
        return await groups.page(request.user, category=category, limit=limit, cursor=cursor)


def notification_groups(
    settings: Settings, *, page_cache_size: int = 0
) -> Callable[[AppConfig], AppConfig]:
    """`on_app_init` hook: adds the groups route and, after the database's lifespan step (which
    opens the pool), the step that builds its use case."""
    # Built now, not at start-up, so a broken catalog or a missing secret fails create_app.
    renderer = NotificationRenderer(settings.web_app_base_url)
    summaries = GroupSummaries()
    cursors = GroupCursorCodec(settings.require_notifier_secret_key())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        repository = GroupRepository(app.state.pool)
        badges = NotificationRepository(app.state.pool)
        app.state.notification_groups = NotificationGroups(
            repository,
            renderer,
            summaries,
            cursors,
            pages=PageCache[GroupPage](page_cache_size),
            badge=badges.recipient_state,
        )
        yield

    def install(app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(NotificationGroupController)
        app_config.lifespan.append(lifespan)
        return app_config

    return install
