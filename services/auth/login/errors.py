"""Errors of logging in (mapped to problem+json by shared.problems)."""

from __future__ import annotations

import math

from shared.problems import DomainError


class InvalidCredentials(DomainError):
    """Wrong password or unknown e-mail: one body for both, so nobody learns which."""

    slug = "invalid-credentials"
    title = "Invalid credentials"
    status = 401

    def __init__(self) -> None:
        super().__init__("The e-mail address or the password is not correct.")


class TooManyAttempts(DomainError):
    slug = "too-many-attempts"
    title = "Too many attempts"
    status = 429

    def __init__(
        self, retry_after_seconds: float, reason: str = "Too many failed attempts."
    ) -> None:
        seconds = max(1, math.ceil(retry_after_seconds))
        super().__init__(
            f"{reason} Try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )


class LoginAbandoned(DomainError):
    """The client went away while its password was checked; nobody reads this answer."""

    slug = "login-abandoned"
    title = "Login abandoned"
    status = 400

    def __init__(self) -> None:
        super().__init__("The client disconnected before the password was checked.")
