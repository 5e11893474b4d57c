"""HTTP handlers of sessions and their keys: refresh, logout and the public JWKS document."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from services.auth.domain import ClientInfo
from services.auth.http.schemas import LogoutRequest, RefreshRequest, TokenPairResponse
from services.auth.sessions.keys import SigningKeys
from services.auth.sessions.sessions import Sessions
from shared.problem_docs import ProblemOperation, problem_responses
from shared.tokens import JWKS_PATH


@post(
    "/v1/auth/refresh",
    status_code=HTTP_200_OK,
    tags=["sessions"],
    summary="Refresh tokens",
    responses=problem_responses(400, 401, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def refresh(
    data: JSONBody[RefreshRequest],
    sessions: NamedDependency[Sessions],
    client: NamedDependency[ClientInfo],
) -> TokenPairResponse:
    """A new pair for a refresh token, which is used up. Presenting a used one again revokes
    the whole session."""
    pair = await sessions.refresh(data.refresh_token, client)
    return TokenPairResponse.model_validate(pair.as_dict())


@post(
    "/v1/auth/logout",
    status_code=HTTP_204_NO_CONTENT,
    tags=["sessions"],
    summary="Log out",
    responses=problem_responses(400, 413, 422),
)
async def logout(
    data: JSONBody[LogoutRequest],
    sessions: NamedDependency[Sessions],
    client: NamedDependency[ClientInfo],
) -> None:
    """End the session the refresh token belongs to."""
    await sessions.logout(data.refresh_token, client)


@get(
    JWKS_PATH,
    tags=["keys"],
    summary="Public keys that verify access tokens",
    media_type="application/jwk-set+json",
)
async def jwks(keys: NamedDependency[SigningKeys], state: State) -> Response[dict[str, Any]]:
    """Every key a valid token may be signed with, the next one included (published ahead of
    use), so verifiers can cache this document for `Cache-Control: max-age`."""
    return Response(
        keys.ring.jwks(state.clock.now()),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": f"public, max-age={state.jwks_max_age}"},
    )
