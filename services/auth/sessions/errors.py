"""Errors of sessions and tokens (mapped to problem+json by shared.problems)."""

from __future__ import annotations

from shared.problems import DomainError, Unauthenticated

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class InvalidAccessToken(Unauthenticated):
    """Missing, malformed, forged or expired access token, or a session that has ended."""

    def __init__(self, detail: str = "A valid access token is required.") -> None:
        super().__init__(detail, headers=dict(_BEARER_CHALLENGE))


class InvalidRefreshToken(DomainError):
    slug = "invalid-refresh-token"
    title = "Invalid refresh token"
    status = 401

    def __init__(self) -> None:
        super().__init__("The refresh token is not valid or has expired: log in again.")
