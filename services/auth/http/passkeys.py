"""HTTP handlers of passkeys (WebAuthn) as a second factor: options and registration, the list,
removal, and the request options of the login's second step."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field, StringConstraints

from services.auth.domain import ClientInfo
from services.auth.http.dependencies import BEARER
from services.auth.http.schemas import NO_NUL, PasswordField, StepUpRequest, _Request
from services.auth.login.passkey_step import PasskeyLogin
from services.auth.two_factor.passkey_repository import Passkey
from services.auth.two_factor.passkeys import Passkeys
from shared.problem_docs import ProblemOperation, problem_responses
from shared.tokens import Principal


class PasskeyOptionsRequest(_Request):
    """The step-up, needed only while two-factor authentication is on."""

    password: PasswordField | None = None
    code: Annotated[str | None, Field(min_length=1, max_length=40, pattern=NO_NUL)] = None


class NewPasskeyRequest(_Request):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_NUL)
    ] = Field(description="A name to recognise it by (1-64 characters, trimmed).")
    credential: dict[str, Any] = Field(
        description="The browser's registration response (PublicKeyCredential as JSON)."
    )


class LoginPasskeyOptionsRequest(_Request):
    mfa_token: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class PasskeyResponse(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None


class NewPasskeyResponse(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    recovery_codes: list[str] | None = Field(
        None,
        description="Only when this passkey turned two-factor authentication on: the 10 "
        "recovery codes, shown this once.",
    )


class PasskeyListResponse(BaseModel):
    items: list[PasskeyResponse]


def _item(passkey: Passkey) -> PasskeyResponse:
    return PasskeyResponse(
        id=passkey.id,
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


@post(
    "/v1/me/2fa/passkeys/options",
    status_code=HTTP_200_OK,
    tags=["two-factor"],
    summary="Options for a new passkey",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def passkey_registration_options(
    principal: NamedDependency[Principal],
    passkeys: NamedDependency[Passkeys],
    client: NamedDependency[ClientInfo],
    data: JSONBody[PasskeyOptionsRequest | None] = None,
) -> dict[str, Any]:
    """WebAuthn PublicKeyCredentialCreationOptions (JSON) for `navigator.credentials.create`,
    with a challenge valid 5 minutes, once. While two-factor authentication is on, send
    `{password, code}` (a code of the app or an unused recovery code; with passkeys only, a
    recovery code): without `code` 401 `second-factor-required`, a wrong password 401
    `wrong-current-password`, a wrong code 422 `invalid-code`."""
    step_up = data or PasskeyOptionsRequest()
    return await passkeys.registration_options(principal, step_up.password, step_up.code, client)


@post(
    "/v1/me/2fa/passkeys",
    status_code=HTTP_201_CREATED,
    tags=["two-factor"],
    summary="Register a passkey",
    security=BEARER,
    responses=problem_responses(400, 401, 409, 413, 422),
    operation_class=ProblemOperation,
)
async def register_passkey(
    data: JSONBody[NewPasskeyRequest],
    principal: NamedDependency[Principal],
    passkeys: NamedDependency[Passkeys],
    client: NamedDependency[ClientInfo],
) -> NewPasskeyResponse:
    """Verifies the browser's registration response (origin, RP id, challenge, user presence)
    and stores the passkey. The first second factor turns two-factor authentication on: the
    answer then also carries the 10 `recovery_codes` and every other session ends. 422
    `malformed-passkey-response` for a response that cannot be read, 400
    `passkey-challenge-expired` for an expired or used challenge, 400
    `passkey-verification-failed`, 409 `passkey-already-registered`."""
    registered = await passkeys.register(principal, data.name, data.credential, client)
    passkey = registered.passkey
    return NewPasskeyResponse(
        id=passkey.id,
        name=passkey.name,
        created_at=passkey.created_at,
        recovery_codes=registered.recovery_codes,
    )


@get(
    "/v1/me/2fa/passkeys",
    tags=["two-factor"],
    summary="My passkeys",
    security=BEARER,
    responses=problem_responses(401),
    operation_class=ProblemOperation,
)
async def list_passkeys(
    principal: NamedDependency[Principal], passkeys: NamedDependency[Passkeys]
) -> PasskeyListResponse:
    """The caller's passkeys, oldest first."""
    return PasskeyListResponse(items=[_item(p) for p in await passkeys.list(principal)])


@delete(
    "/v1/me/2fa/passkeys/{passkey_id:uuid}",
    status_code=HTTP_204_NO_CONTENT,
    tags=["two-factor"],
    summary="Remove a passkey",
    security=BEARER,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 429),
    operation_class=ProblemOperation,
)
async def remove_passkey(
    passkey_id: FromPath[UUID],
    data: JSONBody[StepUpRequest],
    principal: NamedDependency[Principal],
    passkeys: NamedDependency[Passkeys],
    client: NamedDependency[ClientInfo],
) -> None:
    """Needs the password and a second factor (as turning 2FA off). 404 `passkey-not-found`
    for a passkey that is not the caller's; 409 `last-second-factor` for the last second
    factor (turn two-factor authentication off instead)."""
    await passkeys.remove(principal, passkey_id, data.password, data.code, client)


@post(
    "/v1/auth/login/2fa/passkey-options",
    status_code=HTTP_200_OK,
    tags=["sessions"],
    summary="Log in: options for a passkey",
    responses=problem_responses(400, 401, 409, 413, 422),
    operation_class=ProblemOperation,
)
async def login_passkey_options(
    data: JSONBody[LoginPasskeyOptionsRequest], passkey_login: NamedDependency[PasskeyLogin]
) -> dict[str, Any]:
    """WebAuthn PublicKeyCredentialRequestOptions (JSON) for `navigator.credentials.get`,
    allowing the user's passkeys; send the assertion as `passkey` to /v1/auth/login/2fa. 401
    `invalid-second-factor` for a dead mfa_token, 409 `no-passkey` without a passkey."""
    return await passkey_login.options(data.mfa_token)


ROUTES = [
    passkey_registration_options,
    register_passkey,
    list_passkeys,
    remove_passkey,
    login_passkey_options,
]
