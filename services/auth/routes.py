"""HTTP handlers of the auth service: read the request, call one use case, shape the answer.

Use cases and the caller's identity arrive by dependency injection; errors are domain errors
turned into problem+json by shared.problems.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)

from services.auth.accounts import Accounts, Me, NewUser
from services.auth.asyncapi import asyncapi_document
from services.auth.config import Network
from services.auth.domain import ClientInfo, Principal, User
from services.auth.errors import InvalidAccessToken
from services.auth.i18n import negotiate_language
from services.auth.keys import SigningKeys
from services.auth.passwords import Passwords
from services.auth.schemas import (
    ChangePasswordRequest,
    CodeRequest,
    CreateUserRequest,
    EnrollmentResponse,
    LoginRequest,
    LogoutRequest,
    MeResponse,
    MfaRequiredResponse,
    PasswordConfirmationRequest,
    PasswordQualityRequest,
    PasswordQualityResponse,
    PhoneNumberRequest,
    RecoveryCodesResponse,
    RefreshRequest,
    SecondFactorRequest,
    TokenPairResponse,
    UpdateMeRequest,
    UserListResponse,
    UserResponse,
)
from services.auth.sessions import Sessions
from services.auth.tokens import AccessTokens
from services.auth.two_factor import MfaChallenge, TwoFactor
from shared.problems import ProblemOperation, problem_responses
from shared.tokens import JWKS_PATH

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
MAX_BODY_BYTES = 64 * 1024


def _bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidAccessToken("The Authorization header must be `Bearer <access token>`.")
    return token.strip()


async def provide_principal(request: Request[Any, Any, Any], state: State) -> Principal:
    """The caller, from a valid access token; 401 otherwise."""
    token = _bearer_token(request)
    if token is None:
        raise InvalidAccessToken("An access token is required (Authorization: Bearer …).")
    tokens: AccessTokens = state.tokens
    return await tokens.verify(token)


async def provide_optional_principal(
    request: Request[Any, Any, Any], state: State
) -> Principal | None:
    """The caller when a valid token is sent; anonymous otherwise (e.g. a stale token on a
    sign-up page must not break the password meter)."""
    try:
        return await provide_principal(request, state)
    except InvalidAccessToken:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy — the nearest
    address in X-Forwarded-For that is not a trusted proxy."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not forwarded_for or not is_trusted(peer):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return peer


def provide_client(request: Request[Any, Any, Any], state: State) -> ClientInfo:
    peer = request.client.host if request.client else "unknown"
    address = client_address(peer, request.headers.get("x-forwarded-for"), state.trusted_proxies)
    return ClientInfo(address=address, user_agent=request.headers.get("user-agent"))


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


@post(
    "/v1/auth/login",
    status_code=HTTP_200_OK,
    tags=["sessions"],
    summary="Log in",
    responses=problem_responses(400, 401, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def login(
    data: JSONBody[LoginRequest],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> TokenPairResponse | MfaRequiredResponse:
    """E-mail and password to an access token and a refresh token — or, with two-factor
    authentication on, to `{mfa_required, mfa_token, expires_in}` for /v1/auth/login/2fa. 401
    is identical for an unknown e-mail and a wrong password; 429 with Retry-After when
    throttled."""
    result = await two_factor.login(data.email, data.password, client)
    if isinstance(result, MfaChallenge):
        return MfaRequiredResponse.model_validate(result.as_dict())
    return TokenPairResponse.model_validate(result.as_dict())


@post(
    "/v1/auth/login/2fa",
    status_code=HTTP_200_OK,
    tags=["sessions"],
    summary="Log in: second factor",
    responses=problem_responses(400, 401, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def login_second_factor(
    data: JSONBody[SecondFactorRequest],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> TokenPairResponse:
    """The mfa_token of the password step and a code of the authenticator app (or one
    recovery code). 401 for a wrong code or a dead mfa_token (after 5 wrong codes it is dead:
    start over with the password); 429 with Retry-After when too many wrong codes were sent for
    the user across logins."""
    pair = await two_factor.complete_login(data.mfa_token, data.code, client)
    return TokenPairResponse.model_validate(pair.as_dict())


@post(
    "/v1/me/2fa/phone",
    status_code=HTTP_202_ACCEPTED,
    tags=["two-factor"],
    summary="Send a code by SMS to confirm my mobile number",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def request_phone_code(
    data: JSONBody[PhoneNumberRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> None:
    """422 for a number that is not a valid mobile number; 429 with Retry-After during the
    resend cooldown or past the hourly cap (per user and per number); 409 when 2FA is on."""
    await two_factor.request_phone_code(principal, data.phone_number, client)


@post(
    "/v1/me/2fa/phone/verify",
    status_code=HTTP_200_OK,
    tags=["two-factor"],
    summary="Confirm my mobile number with the SMS code",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def verify_phone(
    data: JSONBody[CodeRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> EnrollmentResponse:
    """The number is confirmed and a TOTP secret is pending: scan the QR code. 422
    `invalid-code` for a wrong, expired or used-up code (5 wrong tries kill a code)."""
    enrollment = await two_factor.verify_phone(principal, data.code, client)
    return EnrollmentResponse(otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg)


@post(
    "/v1/me/2fa/activate",
    status_code=HTTP_200_OK,
    tags=["two-factor"],
    summary="Turn two-factor authentication on with a code of the app",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def activate_two_factor(
    data: JSONBody[CodeRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> RecoveryCodesResponse:
    """Returns the 10 recovery codes, shown this once. 422 `invalid-code` for a wrong code;
    409 without a confirmed number."""
    codes = await two_factor.activate(principal, data.code, client)
    return RecoveryCodesResponse(recovery_codes=codes)


@post(
    "/v1/me/2fa/recovery-codes",
    status_code=HTTP_200_OK,
    tags=["two-factor"],
    summary="Replace my recovery codes",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def regenerate_recovery_codes(
    data: JSONBody[PasswordConfirmationRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> RecoveryCodesResponse:
    """Needs the password (401 otherwise); the previous codes stop working."""
    codes = await two_factor.regenerate_recovery_codes(principal, data.password, client)
    return RecoveryCodesResponse(recovery_codes=codes)


@delete(
    "/v1/me/2fa",
    status_code=HTTP_204_NO_CONTENT,
    tags=["two-factor"],
    summary="Turn two-factor authentication off",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def deactivate_two_factor(
    data: JSONBody[PasswordConfirmationRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> None:
    """Back to password-only login. Needs the password (401 otherwise, counted like a failed
    login); every other session of the user ends."""
    await two_factor.deactivate(principal, data.password, client)


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


@get("/v1/me", tags=["me"], summary="My profile", security=BEARER, responses=problem_responses(401))
async def get_me(
    principal: NamedDependency[Principal], accounts: NamedDependency[Accounts]
) -> MeResponse:
    return _me_response(await accounts.me(principal))


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
    accounts: NamedDependency[Accounts],
    client: NamedDependency[ClientInfo],
) -> MeResponse:
    """Only `language` changes here. Trying to change `email` is refused with 403: an
    administrator must create a new user with the new address. A refreshed access token
    carries the new language."""
    return _me_response(await accounts.update_me(principal, data.changes(), client))


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
    responses=problem_responses(400, 413, 422),
)
async def password_quality(
    request: Request[Any, Any, Any],
    data: JSONBody[PasswordQualityRequest],
    passwords: NamedDependency[Passwords],
    optional_principal: NamedDependency[Principal | None],
) -> PasswordQualityResponse:
    """Score 0 to 4, label, warnings and suggestions in the caller's language: the token's when
    one is sent, else the Accept-Language header's, else English."""
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


@get("/asyncapi.json", tags=["docs"], summary="AsyncAPI 3.0 document of the published topics")
async def asyncapi() -> dict[str, Any]:
    return asyncapi_document()


def _from_state(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)


def auth_routers() -> list[Router]:
    """Every route of the auth service except health, with its dependencies. Personal answers
    are never cached; the public documents are."""
    dependencies = {
        "principal": Provide(provide_principal),
        "optional_principal": Provide(provide_optional_principal),
        "client": Provide(provide_client, sync_to_thread=False),
        "accounts": _from_state("accounts"),
        "sessions": _from_state("sessions"),
        "passwords": _from_state("passwords"),
        "two_factor": _from_state("two_factor"),
        "keys": _from_state("signing_keys"),
    }
    api = Router(
        path="/",
        route_handlers=[
            login,
            login_second_factor,
            request_phone_code,
            verify_phone,
            activate_two_factor,
            regenerate_recovery_codes,
            deactivate_two_factor,
            refresh,
            logout,
            get_me,
            patch_me,
            change_password,
            password_quality,
            create_user,
            list_users,
            deactivate_user,
        ],
        dependencies=dependencies,
        cache_control=CacheControlHeader(no_store=True),
        request_max_body_size=MAX_BODY_BYTES,
    )
    documents = Router(path="/", route_handlers=[jwks, asyncapi], dependencies=dependencies)
    return [api, documents]
