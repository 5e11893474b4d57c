"""Domain errors of two-factor authentication (mapped to problem+json by shared.problems)."""

from __future__ import annotations

import math

from shared.problems import DomainError, FieldError, InvalidRequest


class InvalidPhoneNumber(InvalidRequest):
    slug = "invalid-phone-number"
    title = "Not a valid mobile number"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[FieldError("phone_number", detail)])


class InvalidCode(InvalidRequest):
    """A wrong, expired, used-up or replayed code on an enrollment step (the caller is logged
    in, so 401 would read as a dead access token). Never says which of these it was."""

    slug = "invalid-code"
    title = "The code is not valid"

    def __init__(self) -> None:
        super().__init__(
            "The code is not correct or no longer valid.",
            errors=[FieldError("code", "The code is not correct or no longer valid.")],
        )


class InvalidSecondFactor(DomainError):
    """Wrong code on the second login step, or an unknown, expired, used or dead mfa_token:
    one answer for all, so nobody learns which."""

    slug = "invalid-second-factor"
    title = "Second factor not accepted"
    status = 401

    def __init__(self) -> None:
        super().__init__(
            "The code is not correct, or this login attempt has ended: log in again with your "
            "password if the code keeps being refused."
        )


class TwoFactorStateConflict(DomainError):
    slug = "two-factor-state-conflict"
    title = "Not possible in the current two-factor state"
    status = 409


class TwoFactorNotEnabled(DomainError):
    """Turning off (or replacing the recovery codes of) a two-factor authentication that is
    not on."""

    slug = "two-factor-not-enabled"
    title = "Two-factor authentication is not on"
    status = 409

    def __init__(self) -> None:
        super().__init__("Two-factor authentication is not on for this account.")


class SecondFactorRequired(DomainError):
    """A change to the second factor asked with the password alone while 2FA is on: a session
    that only knows the password must not be able to undo the second factor."""

    slug = "second-factor-required"
    title = "The second factor is required"
    status = 401

    def __init__(self) -> None:
        super().__init__(
            "Two-factor authentication is on: send a code of your authenticator app or an "
            "unused recovery code with your password.",
            errors=[FieldError("code", "A code of your authenticator app or a recovery code.")],
        )


_SMS_LIMIT_REASONS = {
    "cooldown": "A code was sent a moment ago.",
    "user_hourly": "Too many codes were sent to you in the last hour.",
    "user_daily": "Too many codes were sent to you today.",
    "number_hourly": "Too many codes were sent to this number in the last hour.",
    "number_daily": "Too many codes were sent to this number today.",
    "organization_hourly": "Too many codes were sent in your organisation in the last hour.",
    "organization_daily": "Too many codes were sent in your organisation today.",
}


class SmsLimitReached(DomainError):
    """The SMS budget refuses another code for now; `limit` says which one, `retry_after`
    (and the header) when to try again."""

    slug = "sms-limit-reached"
    title = "Too many security codes requested"
    status = 429

    def __init__(self, limit: str, retry_after_seconds: float) -> None:
        seconds = max(1, math.ceil(retry_after_seconds))
        self.limit = limit
        super().__init__(
            f"{_SMS_LIMIT_REASONS.get(limit, 'Too many codes were sent.')} "
            f"Try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
            limit=limit,
            retry_after=seconds,
        )


# Passkeys (WebAuthn)


class MalformedPasskeyResponse(InvalidRequest):
    """The browser's registration or assertion response cannot be read."""

    slug = "malformed-passkey-response"
    title = "The passkey response cannot be read"

    def __init__(self, field: str) -> None:
        detail = "This is not a WebAuthn response of a browser (PublicKeyCredential as JSON)."
        super().__init__(detail, errors=[FieldError(field, detail)])


class PasskeyVerificationFailed(DomainError):
    """A registration response that does not verify (origin, RP id, challenge, flags,
    attestation)."""

    slug = "passkey-verification-failed"
    title = "The passkey response was not accepted"
    status = 400

    def __init__(self, detail: str = "The passkey response could not be verified.") -> None:
        super().__init__(detail)


class PasskeyAssertionRefused(PasskeyVerificationFailed):
    """A login assertion that does not verify, of an unknown or another user's passkey, or
    with a signature counter that went backwards (a possible clone)."""

    status = 401


class PasskeyChallengeExpired(DomainError):
    """No open challenge for this response: expired, already used, or never issued."""

    slug = "passkey-challenge-expired"
    title = "The passkey challenge has expired"
    status = 400

    def __init__(self) -> None:
        super().__init__(
            "This passkey challenge has expired or was already used: ask for new options."
        )


class PasskeyNotFound(DomainError):
    slug = "passkey-not-found"
    title = "No such passkey"
    status = 404

    def __init__(self) -> None:
        super().__init__("You have no passkey with this id.")


class PasskeyAlreadyRegistered(DomainError):
    slug = "passkey-already-registered"
    title = "This passkey is already registered"
    status = 409

    def __init__(self) -> None:
        super().__init__("This authenticator already holds a passkey of an account here.")


class LastSecondFactor(DomainError):
    slug = "last-second-factor"
    title = "The last second factor cannot be removed"
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "This is your last second factor: turn two-factor authentication off instead "
            "(DELETE /v1/me/2fa), or add another passkey or the authenticator app first."
        )


class NoPasskey(DomainError):
    slug = "no-passkey"
    title = "No passkey registered"
    status = 409

    def __init__(self) -> None:
        super().__init__("This account has no passkey: use a code of the app or a recovery code.")
