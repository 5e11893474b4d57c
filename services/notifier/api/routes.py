"""HTTP handlers of the bell: `/v1/notifications…` (contract section 5).

Handlers translate HTTP to use cases and back; errors are domain errors, turned into
problem+json by the one handler in shared.problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, cast
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency, Provide
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter

from services.notifier.api.cursors import MAX_CURSOR_LENGTH
from services.notifier.api.inbox import BadgeState, Inbox, NotificationPage, page_filter
from services.notifier.api.longpoll import answer_after_wait
from services.notifier.api.page_sql import StatusFilter
from services.notifier.api.tokens import TokenVerifier
from services.notifier.group_keys import MAX_GROUP_KEY_LENGTH
from shared.problem_docs import problem_response
from shared.tokens import Principal


@dataclass(frozen=True)
class UnreadByCategory:
    action: int
    info: int
    security: int


@dataclass(frozen=True)
class UnreadCount:
    """The badge: how many unread (in all and per category), how many unseen (the dot is
    `unseen_count > 0`), and when the newest notification arrived."""

    unread_count: int
    unseen_count: int
    by_category: UnreadByCategory
    latest_created_at: datetime | None

    @classmethod
    def of(cls, badge: BadgeState) -> UnreadCount:
        counts = badge.by_category
        return cls(
            unread_count=badge.unread_count,
            unseen_count=badge.unseen_count,
            by_category=UnreadByCategory(counts.action, counts.info, counts.security),
            latest_created_at=badge.latest_created_at,
        )


@dataclass(frozen=True)
class ReadAllScope:
    """What read-all marks: one category, or one group (a key of /v1/notifications/groups);
    neither is everything."""

    category: str | None = None
    group: str | None = None


class BearerTokenAuthentication(AbstractAuthenticationMiddleware):
    """Every bell route needs the auth service's access token; the caller becomes
    `request.user`. (A middleware rather than a dependency: handlers then resolve a single
    dependency, which Litestar does without spawning a task group — measurably cheaper on the
    polling route.)"""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        verifier: TokenVerifier = connection.app.state.token_verifier
        caller = await verifier.authenticate(connection.headers.get("authorization"))
        return AuthenticationResult(user=caller, auth=None)


CallerRequest = Request[Principal, None, State]
"""A request whose `user` is the verified caller."""


def provide_inbox(state: State) -> Inbox:
    inbox: Inbox = state.inbox
    return inbox


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_AUTH_PROBLEMS: Final = {
    401: problem_response(401, "Missing, expired or invalid access token (problem+json)"),
}
AUTH_PROBLEMS: Final = _AUTH_PROBLEMS  # for the bell's other controllers


def badge_etag(user_id: UUID, badge: BadgeState) -> str:
    """A strong validator of the badge, from the per-user version. The user id is part of it so
    a browser whose cache still holds another user's answer (logout, login as someone else)
    cannot get a 304 for it; the newest arrival is too, so even a recipient row deleted and
    created again (version restarting at 0) cannot repeat an old validator for another body."""
    latest = badge.latest_created_at
    arrival = (latest - _EPOCH) // timedelta(microseconds=1) if latest is not None else 0
    return f'"{user_id.hex}-{badge.version}-{arrival:x}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # RFC 9110 §13.1.2: If-None-Match uses the weak comparison.
    candidates = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", etag) for tag in candidates)


class CallerNotificationsController(Controller):
    """Base of the controllers of `/v1/notifications`: the caller's bearer token, the inbox."""

    path = "/v1/notifications"
    tags = ["notifications"]  # noqa: RUF012 - Litestar reads these class attributes
    security = [{"BearerToken": []}]  # noqa: RUF012
    middleware = [BearerTokenAuthentication]  # noqa: RUF012
    dependencies = {"inbox": Provide(provide_inbox, sync_to_thread=False)}  # noqa: RUF012


class NotificationController(CallerNotificationsController):
    """The caller's own notifications; nothing here takes a user id from the request."""

    @get(
        "/",
        summary="List my notifications, newest first",
        description="Keyset-paginated; pass `next_cursor` back as `cursor` for the next page "
        "(with the same filters: a cursor of another filter is refused). `unread_count` is read "
        "from the same snapshot as the items. Archived items are listed only with "
        "`status=archived`; the info items of muted types are left out of every list. Cost: "
        "one index range scan of the page (the unread partial index for `status=unread`).",
        responses={
            **_AUTH_PROBLEMS,
            400: problem_response(400),
            422: problem_response(422, "Bad limit, status, category, group or cursor"),
        },
    )
    async def list_notifications(
        self,
        request: CallerRequest,
        inbox: NamedDependency[Inbox],
        *,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size, 1-100")] = 20,
        cursor: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=MAX_CURSOR_LENGTH,
                description="`next_cursor` of the last page",
            ),
        ] = None,
        status: Annotated[
            StatusFilter,
            QueryParameter(description="`all` (not archived), `unread` only, or `archived` only"),
        ] = StatusFilter.ALL,
        category: Annotated[
            str | None,
            QueryParameter(max_length=16, description="`action`, `info` or `security` only"),
        ] = None,
        group: Annotated[
            str | None,
            QueryParameter(
                max_length=MAX_GROUP_KEY_LENGTH,
                description="Only the items of this group (a `key` of /v1/notifications/groups)",
            ),
        ] = None,
    ) -> NotificationPage:
        return await inbox.list_page(
            request.user,
            page_filter=page_filter(status, category, group),
            limit=limit,
            cursor=cursor,
        )

    @get(
        "/unread-count",
        summary="My unread and unseen counts (conditional polling, long polling)",
        description="`unread_count`, `unseen_count` (the red dot is `unseen_count > 0`) and "
        "unread per category, of the visible items, from one primary-key read. Answers 304 to "
        "`If-None-Match` with the current `ETag`; the ETag changes with every change to any of "
        "these counts (new, read, unread, seen, archived, purged notifications, mutes) and only "
        "then. `X-Poll-Interval` says how many seconds to wait before the next poll. Long "
        "polling: with `If-None-Match` and "
        "`Prefer: wait=N` (RFC 7240, N seconds, at most 30: more is clamped) the answer is held "
        "until the badge changes (200) or N seconds pass (304), with `Preference-Applied: "
        "wait=N`; a server holding too many requests already answers at once, without "
        "`Preference-Applied`, and so does a malformed `wait`.",
        responses={
            **_AUTH_PROBLEMS,
            304: ResponseSpec(data_container=None, description="Unchanged since that ETag"),
        },
        response_headers=[
            ResponseHeader(
                name="ETag",
                description="Strong validator of this user's badge",
                documentation_only=True,
            ),
            ResponseHeader(
                name="X-Poll-Interval",
                description="Seconds to wait before polling again",
                documentation_only=True,
            ),
            ResponseHeader(
                name="Cache-Control", description="private, no-cache", documentation_only=True
            ),
            ResponseHeader(
                name="Preference-Applied",
                description="`wait=N` when the request was held (long polling)",
                documentation_only=True,
                required=False,
            ),
        ],
    )
    async def unread_count(self, request: CallerRequest) -> Response[UnreadCount]:
        # Every open tab calls this every X-Poll-Interval seconds: the inbox is taken from the
        # app state directly, because resolving even one dependency costs this route ~10 %.
        inbox = provide_inbox(request.app.state)
        caller = request.user
        if_none_match = request.headers.get("if-none-match")
        applied_wait = None
        if if_none_match and "prefer" in request.headers:
            held = await answer_after_wait(
                request.app.state,
                caller.user_id,
                request.headers.getall("prefer"),
                read=lambda: inbox.badge(caller.user_id),
                unchanged=lambda badge: _matches(if_none_match, badge_etag(caller.user_id, badge)),
                receive=request.receive,
            )
            badge, applied_wait = held.value, held.applied_wait
        else:
            badge = await inbox.badge(caller.user_id)
        etag = badge_etag(caller.user_id, badge)
        headers = {
            "ETag": etag,
            # `private`: per-user data; `no-cache`: revalidate every time, which is what the
            # ETag makes cheap.
            "Cache-Control": "private, no-cache",
            "X-Poll-Interval": str(request.app.state.poll_interval_seconds),
        }
        if applied_wait is not None:
            headers["Preference-Applied"] = f"wait={applied_wait}"
        if _matches(if_none_match, etag):
            # A 304 carries no body; the cast keeps the documented 200 schema exact.
            return cast("Response[UnreadCount]", Response(None, status_code=304, headers=headers))
        return Response(UnreadCount.of(badge), headers=headers)

    @post(
        "/{notification_id:uuid}/read",
        status_code=204,
        summary="Mark one of my notifications read",
        description="Idempotent; reading implies seeing. 404 alike for an id that does not "
        "exist and one that is not yours.",
        responses={
            **_AUTH_PROBLEMS,
            400: problem_response(400),
            404: problem_response(404, "No such notification of yours"),
        },
    )
    async def mark_read(
        self,
        request: CallerRequest,
        inbox: NamedDependency[Inbox],
        notification_id: Annotated[UUID, PathParameter(description="A notification of yours")],
    ) -> None:
        await inbox.change(request.user.user_id, notification_id, "read")

    @post(
        "/read-all",
        status_code=204,
        summary="Mark all my notifications read (or one category, or one group)",
        description="Marks read the visible items that were there at the moment of the call; "
        "a notification arriving meanwhile stays unread. An optional body `{category}` or "
        "`{group}` (not both) limits it to that category or that group. Cost: one statement "
        "over the user's unread items.",
        responses={
            **_AUTH_PROBLEMS,
            400: problem_response(400),
            422: problem_response(422, "Unknown category, bad group key, or both given"),
        },
    )
    async def mark_all_read(
        self,
        request: CallerRequest,
        inbox: NamedDependency[Inbox],
        data: JSONBody[ReadAllScope | None] = None,
    ) -> None:
        scope = data or ReadAllScope()
        await inbox.mark_all_read(request.user.user_id, category=scope.category, group=scope.group)
