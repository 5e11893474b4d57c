"""Domain errors of two-factor authentication (mapped to problem+json by shared.problems)."""

from __future__ import annotations

from shared.problems import FieldError, InvalidRequest


class InvalidPhoneNumber(InvalidRequest):
    slug = "invalid-phone-number"
    title = "Not a valid mobile number"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[FieldError("phone_number", detail)])
