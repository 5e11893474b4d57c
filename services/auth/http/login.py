"""HTTP handlers of logging in: the password step and the second factor."""

from __future__ import annotations

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from services.auth.domain import ClientInfo
from services.auth.http.schemas import (
    LoginRequest,
    MfaRequiredResponse,
    SecondFactorRequest,
    TokenPairResponse,
)
from services.auth.login.login import Login, MfaChallenge
from shared.problem_docs import ProblemOperation, problem_responses


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
) -> TokenPairResponse | MfaRequiredResponse:
    """E-mail and password to an access token and a refresh token — or, with two-factor
    authentication on, to `{mfa_required, mfa_token, expires_in}` for /v1/auth/login/2fa. 401
    is identical for an unknown e-mail and a wrong password; 429 with Retry-After when
    throttled."""
    result = await login_use_case.password_step(data.email, data.password, client)
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
    login_use_case: NamedDependency[Login],
    client: NamedDependency[ClientInfo],
) -> TokenPairResponse:
    """The mfa_token of the password step and a code of the authenticator app (or one
    recovery code). 401 for a wrong code or a dead mfa_token (after 5 wrong codes it is dead:
    start over with the password); 429 with Retry-After when too many wrong codes were sent for
    the user across logins."""
    pair = await login_use_case.second_factor(data.mfa_token, data.code, client)
    return TokenPairResponse.model_validate(pair.as_dict())
