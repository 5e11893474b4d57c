"""HTTP handlers of the caller's own account (`/v1/me`, password, the quality meter) and of the
administrators' user management."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.auth.accounts.accounts import Accounts, NewUser
from services.auth.accounts.i18n import negotiate_language
from services.auth.accounts.passwords import Passwords
from services.auth.accounts.profile import Me, Profile
from services.auth.accounts.rate_limit import AddressRateLimit
from services.auth.domain import ClientInfo, User
from services.auth.http.dependencies import BEARER
from services.auth.http.schemas import (
    ChangePasswordRequest,
    CreateUserRequest,
    MeResponse,
    PasswordQualityRequest,
    PasswordQualityResponse,
    UpdateMeRequest,
    UserListResponse,
    UserResponse,
)
from shared.problem_docs import ProblemOperation, problem_responses
from shared.tokens import Principal


def _me_response(me: Me) -> MeResponse:
    return MeResponse.model_validate(me.as_dict())


def _user_response(user: User) -> UserResponse:
    return UserResponse(
        id=user.id,
        email=user.email,
        organization_id=user.organization_id,
        role=user.role,
        language=user.language,
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@get("/v1/me", tags=["me"], summary="My profile", security=BEARER, responses=problem_responses(401))
async def get_me(
    principal: NamedDependency[Principal], profile: NamedDependency[Profile]
) -> MeResponse:
    return _me_response(await profile.me(principal))


@patch(
    "/v1/me",
    tags=["me"],
    summary="Change my display language",
    security=BEARER,
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def patch_me(
    data: JSONBody[UpdateMeRequest],
    principal: NamedDependency[Principal],
    profile: NamedDependency[Profile],
    client: NamedDependency[ClientInfo],
) -> MeResponse:
    """Only `language` changes here. Trying to change `email` is refused with 403: an
    administrator must create a new user with the new address. A refreshed access token
    carries the new language."""
    return _me_response(await profile.update_me(principal, data.changes(), client))


@put(
    "/v1/me/password",
    status_code=HTTP_204_NO_CONTENT,
    tags=["me"],
    summary="Change my password",
    security=BEARER,
    responses=problem_responses(400, 401, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def change_password(
    data: JSONBody[ChangePasswordRequest],
    principal: NamedDependency[Principal],
    passwords: NamedDependency[Passwords],
    client: NamedDependency[ClientInfo],
) -> None:
    """422 lists every rule the new password breaks; 401 for a wrong current password. Every
    other session of the user is revoked; the current one stays."""
    await passwords.change(
        principal, data.current_password, data.new_password, data.new_password_confirmation, client
    )


@post(
    "/v1/password-quality",
    status_code=HTTP_200_OK,
    tags=["me"],
    summary="Measure a password while it is typed",
    responses=problem_responses(400, 413, 422, 429),
)
async def password_quality(
    request: Request[Any, Any, Any],
    data: JSONBody[PasswordQualityRequest],
    *,
    passwords: NamedDependency[Passwords],
    optional_principal: NamedDependency[Principal | None],
    client: NamedDependency[ClientInfo],
    quality_rate_limit: NamedDependency[AddressRateLimit],
) -> PasswordQualityResponse:
    """Score 0 to 4, label, warnings and suggestions in the caller's language: the token's when
    one is sent, else the Accept-Language header's, else English. 429 with Retry-After beyond
    AUTH_PASSWORD_QUALITY_PER_MINUTE calls from one address."""
    quality_rate_limit.take(client.address)
    language = (
        optional_principal.language
        if optional_principal
        else negotiate_language(request.headers.get("accept-language"))
    )
    quality = await passwords.quality(data.password, language, optional_principal)
    return PasswordQualityResponse(
        score=quality.score,
        label=quality.label,
        warnings=quality.warnings,
        suggestions=quality.suggestions,
    )


@post(
    "/v1/organizations/{organization_id:uuid}/users",
    status_code=HTTP_201_CREATED,
    tags=["organizations"],
    summary="Create a user (administrators)",
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def create_user(
    organization_id: FromPath[UUID],
    data: JSONBody[CreateUserRequest],
    principal: NamedDependency[Principal],
    accounts: NamedDependency[Accounts],
    client: NamedDependency[ClientInfo],
) -> UserResponse:
    """403 unless the caller is an administrator of the organisation; 409 when the e-mail
    address is taken; 422 when the password breaks a rule."""
    user = await accounts.create_user_as_admin(
        principal,
        organization_id,
        NewUser(data.email, data.password, data.role, data.language),
        client,
    )
    return _user_response(user)


@get(
    "/v1/organizations/{organization_id:uuid}/users",
    tags=["organizations"],
    summary="List the users (administrators)",
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404),
)
async def list_users(
    organization_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    accounts: NamedDependency[Accounts],
) -> UserListResponse:
    users = await accounts.users_of_organization(principal, organization_id)
    return UserListResponse(items=[_user_response(u) for u in users])


@post(
    "/v1/organizations/{organization_id:uuid}/users/{user_id:uuid}/deactivate",
    status_code=HTTP_200_OK,
    tags=["organizations"],
    summary="Deactivate a user (administrators)",
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 409),
)
async def deactivate_user(
    organization_id: FromPath[UUID],
    user_id: FromPath[UUID],
    principal: NamedDependency[Principal],
    accounts: NamedDependency[Accounts],
    client: NamedDependency[ClientInfo],
) -> UserResponse:
    """The user can no longer log in and every session of theirs ends at once."""
    user = await accounts.deactivate(user_id, by=(principal, organization_id), client=client)
    return _user_response(user)
