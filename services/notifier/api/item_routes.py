"""HTTP handlers of the bell's second version that change items: unread, archive, unarchive
(one item) and seen (the watermark). Same path, authentication and problems as routes.py."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter

from services.notifier.api.inbox import Inbox
from services.notifier.api.routes import (
    AUTH_PROBLEMS,
    CallerNotificationsController,
    CallerRequest,
)
from shared.problem_docs import problem_response

_ONE_ITEM_PROBLEMS: Final = {
    **AUTH_PROBLEMS,
    400: problem_response(400),
    404: problem_response(404, "No such notification of yours"),
}
_ONE_ITEM_COST: Final = (
    " Cost: the user's recipient row locked, one notification row and the counters changed "
    "in one transaction. 404 alike for an id that does not exist and one that is not yours."
)

NotificationId = Annotated[UUID, PathParameter(description="A notification of yours")]


def _one_item_route(change: str, name: str, *, summary: str, description: str) -> HTTPRouteHandler:
    """`POST /v1/notifications/{id}/{change}`: one change of one of the caller's items. `name`
    is the handler's name (the OpenAPI operationId is made from it)."""

    async def handler(
        self: Controller,
        request: CallerRequest,
        inbox: NamedDependency[Inbox],
        notification_id: NotificationId,
    ) -> None:
        await inbox.change(request.user.user_id, notification_id, change)

    handler.__name__ = handler.__qualname__ = name
    return post(
        f"/{{notification_id:uuid}}/{change}",
        status_code=204,
        summary=summary,
        description=description,
        responses=_ONE_ITEM_PROBLEMS,
    )(handler)


class NotificationChangesController(CallerNotificationsController):
    """Seen, unread and archive of the caller's own notifications."""

    @post(
        "/seen",
        status_code=204,
        summary="Mark everything I have seen (the bell was opened)",
        description="A watermark like read-all: marks seen what was there at the moment of the "
        "call (the red dot goes out); the items stay unread. A notification arriving meanwhile "
        "stays unseen. Cost: one statement over the user's unseen items.",
        responses=AUTH_PROBLEMS,
    )
    async def mark_seen(self, request: CallerRequest, inbox: NamedDependency[Inbox]) -> None:
        await inbox.mark_all_seen(request.user.user_id)

    mark_unread = _one_item_route(
        "unread",
        "mark_unread",
        summary="Mark one of my notifications unread again",
        description="Idempotent; it stays seen." + _ONE_ITEM_COST,
    )
    archive = _one_item_route(
        "archive",
        "archive",
        summary="Archive one of my notifications",
        description="Idempotent. An archived item leaves the lists (but `status=archived`) and "
        "every count." + _ONE_ITEM_COST,
    )
    unarchive = _one_item_route(
        "unarchive",
        "unarchive",
        summary="Take one of my notifications out of the archive",
        description="Idempotent. It counts again as it is (read or not, seen or not)."
        + _ONE_ITEM_COST,
    )
