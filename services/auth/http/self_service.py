"""HTTP handlers of the caller's own security: their sessions and their security history
(contract section 4.2), with the bodies they answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field

from services.auth.domain import ClientInfo
from services.auth.http.dependencies import BEARER
from services.auth.self_service.cursors import MAX_CURSOR_LENGTH
from services.auth.self_service.history import SecurityHistory
from services.auth.self_service.my_sessions import MySessions
from services.auth.self_service.titles import TITLES
from shared.problem_docs import problem_response, problem_responses
from shared.tokens import Principal


class DeviceResponse(BaseModel):
    browser: str | None = Field(description='Browser and major version, e.g. "Firefox 133".')
    os: str | None = Field(description='Operating system and version, e.g. "Windows 10".')
    label: str = Field(
        description='For people, in the caller\'s language: "Firefox 133 on Windows 10", '
        '"Unknown device".'
    )


ADDRESS_DESCRIPTION = (
    'The client address truncated to its network (IPv4 /24, IPv6 /48), e.g. "203.0.113.0/24"; '
    "null when unknown."
)


class SessionResponse(BaseModel):
    id: UUID
    current: bool = Field(description="The session of the access token of this request.")
    created_at: datetime = Field(description="When its sign-in happened.")
    last_used_at: datetime = Field(description="Its sign-in or its latest token refresh.")
    device: DeviceResponse
    address: str | None = Field(description=ADDRESS_DESCRIPTION)
    second_factor: bool = Field(description="Whether its sign-in passed a second factor.")


class SessionListResponse(BaseModel):
    items: list[SessionResponse]


class SecurityEventResponse(BaseModel):
    id: int
    type: str = Field(
        description="Stable, one of: " + ", ".join(f"`{t}`" for t in TITLES),
        json_schema_extra={"enum": list(TITLES)},
    )
    occurred_at: datetime
    title: str = Field(description="In the caller's display language.")
    device: DeviceResponse | None = Field(
        description="The device of the request that caused it; null when unknown."
    )
    address: str | None = Field(description=ADDRESS_DESCRIPTION)


class SecurityEventPage(BaseModel):
    items: list[SecurityEventResponse]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page.")


@get(
    "/v1/me/sessions",
    tags=["me"],
    summary="My active sessions",
    security=BEARER,
    responses=problem_responses(401),
)
async def list_my_sessions(
    principal: NamedDependency[Principal], my_sessions: NamedDependency[MySessions]
) -> SessionListResponse:
    """Every active session of the caller (signed in and not ended, expired or idle past the
    refresh token's lifetime), most recently used first: device, truncated address, whether a
    second factor was used, and which one is the current one."""
    listed = await my_sessions.active(principal)
    return SessionListResponse.model_validate(
        {"items": [s.as_dict(listed.language) for s in listed.items]}
    )


@delete(
    "/v1/me/sessions/{session_id:uuid}",
    status_code=HTTP_204_NO_CONTENT,
    tags=["me"],
    summary="End one of my sessions",
    security=BEARER,
    responses={
        **problem_responses(400, 401),
        404: problem_response(404, "Not one of your active sessions"),
    },
)
async def end_my_session(
    session_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    my_sessions: NamedDependency[MySessions],
    client: NamedDependency[ClientInfo],
) -> None:
    """Its refresh token is refused from now on; its access token is refused by this service
    at once and lives on elsewhere until it expires (at most 15 minutes). Ending the current
    session is a logout. 404, and nothing changes, for another user's session or one that is
    unknown or already ended."""
    await my_sessions.end(principal, session_id, client)


@post(
    "/v1/me/sessions/revoke-others",
    status_code=HTTP_204_NO_CONTENT,
    tags=["me"],
    summary="End all my other sessions",
    security=BEARER,
    responses=problem_responses(401),
)
async def end_my_other_sessions(
    principal: NamedDependency[Principal],
    my_sessions: NamedDependency[MySessions],
    client: NamedDependency[ClientInfo],
) -> None:
    """Every session of the caller but the current one ends, as if each were ended alone."""
    await my_sessions.end_others(principal, client)


@get(
    "/v1/me/security-events",
    tags=["me"],
    summary="My security history",
    security=BEARER,
    responses={
        **problem_responses(400, 401),
        422: problem_response(422, "Bad limit or cursor"),
    },
)
async def my_security_events(
    principal: NamedDependency[Principal],
    security_history: NamedDependency[SecurityHistory],
    limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size, 1-100")] = 20,
    cursor: Annotated[
        str | None,
        QueryParameter(
            min_length=1, max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the last page"
        ),
    ] = None,
) -> SecurityEventPage:
    """The caller's own security events, newest first: sign-ins, failed sign-ins, sign-outs,
    sessions ended, password and two-factor changes, with titles in the caller's language.
    Nothing about other users, also for administrators. Keyset-paginated."""
    page = await security_history.page(principal, limit=limit, cursor=cursor)
    return SecurityEventPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})
