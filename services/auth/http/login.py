"""HTTP handlers of logging in: the password step and the second factor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from services.auth.domain import ClientInfo
from services.auth.http.schemas import (
    LoginRequest,
    LoginTokenPairResponse,
    MfaRequiredResponse,
    SecondFactorRequest,
)
from services.auth.login.errors import LoginAbandoned
from services.auth.login.login import Login
from services.auth.login.passkey_step import PasskeyLogin
from services.auth.login.second_step import MfaChallenge
from shared.problem_docs import ProblemOperation, problem_responses

T = TypeVar("T")


async def _client_gone(request: Request[Any, Any, Any]) -> None:
    """Returns when the ASGI server reports `http.disconnect`: once the body has been read, the
    next `receive()` waits until the client goes away (or the answer has been sent)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request[Any, Any, Any], work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, cancelled when the client disconnects first: a login the client abandoned
    while its password was hashed must not stay counted against its (possibly shared) address.
    ASGI servers do not cancel a request when its client leaves; they only tell `receive()`."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task.cancelled() or not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise LoginAbandoned()
    return task.result()


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
    login_use_case: NamedDependency[Login],
    client: NamedDependency[ClientInfo],
    request: Request[Any, Any, Any],
) -> LoginTokenPairResponse | MfaRequiredResponse:
    """E-mail and password to an access token, a refresh token and a device token — or, with
    two-factor authentication on, to `{mfa_required, mfa_token, expires_in}` for
    /v1/auth/login/2fa. Send the device token of an earlier login from this device: the attempt
    is then throttled by this device's own failures only. 401 is identical for an unknown e-mail
    and a wrong password; 429 with Retry-After when throttled."""
    result = await unless_client_leaves(
        request,
        login_use_case.password_step(data.email, data.password, client, data.device_token),
    )
    if isinstance(result, MfaChallenge):
        return MfaRequiredResponse.model_validate(result.as_dict())
    return LoginTokenPairResponse.model_validate(result.as_dict())


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
    login_use_case: NamedDependency[Login],
    passkey_login: NamedDependency[PasskeyLogin],
    client: NamedDependency[ClientInfo],
) -> LoginTokenPairResponse:
    """The mfa_token of the password step and a code of the authenticator app (or one
    recovery code), with the device token of an earlier login if any. 401 for a wrong code or a
    dead mfa_token (after 5 wrong codes it is dead: start over with the password); 429 with
    Retry-After when too many wrong codes were sent for the user across logins. Instead of
    `code`, `passkey`: the browser's assertion for /v1/auth/login/2fa/passkey-options (422
    `malformed-passkey-response`, 400 `passkey-challenge-expired` for an expired or used
    challenge, 401 `passkey-verification-failed`, counted like a wrong code)."""
    if data.passkey is not None:
        pair = await passkey_login.second_factor(
            data.mfa_token, data.passkey, client, data.device_token
        )
        return LoginTokenPairResponse.model_validate(pair.as_dict())
    pair = await login_use_case.second_factor(
        data.mfa_token, data.code or "", client, data.device_token
    )
    return LoginTokenPairResponse.model_validate(pair.as_dict())
