"""HTTP handlers of two-factor authentication: confirming the phone, activating, recovery
codes and deactivating."""

from __future__ import annotations

from litestar import delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from services.auth.domain import ClientInfo
from services.auth.http.dependencies import BEARER
from services.auth.http.schemas import (
    CodeRequest,
    EnrollmentResponse,
    PhoneNumberRequest,
    RecoveryCodesResponse,
    StepUpRequest,
)
from services.auth.two_factor.activation import TwoFactor
from services.auth.two_factor.phone import PhoneConfirmation
from shared.problem_docs import ProblemOperation, problem_responses
from shared.tokens import Principal


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
    phone_confirmation: NamedDependency[PhoneConfirmation],
    client: NamedDependency[ClientInfo],
) -> None:
    """422 for a number that is not a valid mobile number; 429 `sms-limit-reached` with
    Retry-After (and `limit`) during the resend cooldown or past a cap of the SMS budget (per
    user, per number and per organisation, hourly and daily); 409 when 2FA is on."""
    await phone_confirmation.request_code(principal, data.phone_number, client)


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
    phone_confirmation: NamedDependency[PhoneConfirmation],
    client: NamedDependency[ClientInfo],
) -> EnrollmentResponse:
    """The number is confirmed and a TOTP secret is pending: scan the QR code. 422
    `invalid-code` for a wrong, expired or used-up code (5 wrong tries kill a code)."""
    enrollment = await phone_confirmation.verify(principal, data.code, client)
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
    """Returns the 10 recovery codes, shown this once; every other session of the user ends.
    422 `invalid-code` for a wrong code; 409 without a confirmed number."""
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
    data: JSONBody[StepUpRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> RecoveryCodesResponse:
    """Needs the password (401 `wrong-current-password`) and a second factor: without `code`
    401 `second-factor-required`, a wrong one 422 `invalid-code` (counted like a wrong login
    code, 429 past the cap); 409 `two-factor-not-enabled` when 2FA is off. The previous codes
    stop working."""
    codes = await two_factor.regenerate_recovery_codes(principal, data.password, data.code, client)
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
    data: JSONBody[StepUpRequest],
    principal: NamedDependency[Principal],
    two_factor: NamedDependency[TwoFactor],
    client: NamedDependency[ClientInfo],
) -> None:
    """Back to password-only login (the passkeys are removed too). Needs the password (401
    `wrong-current-password`, counted like a failed login) and a second factor (401
    `second-factor-required` without `code`, 422 `invalid-code` for a wrong one); 409
    `two-factor-not-enabled` when 2FA is off. Every other session of the user ends."""
    await two_factor.deactivate(principal, data.password, data.code, client)
