"""Domain errors of two-factor authentication (mapped to problem+json by shared.problems)."""

from __future__ import annotations

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
