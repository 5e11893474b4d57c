"""Errors of the security self-service (mapped to problem+json by shared.problems)."""

from __future__ import annotations

from shared.problems import FieldError, InvalidRequest, NotFound


class SessionNotFound(NotFound):
    """Not one of the caller's active sessions: another user's, unknown, ended or expired alike,
    so nobody learns whether someone else's session id exists."""

    slug = "session-not-found"
    title = "Session not found"

    def __init__(self) -> None:
        super().__init__("No active session of yours has this id.")


class InvalidCursor(InvalidRequest):
    slug = "invalid-cursor"
    title = "The cursor is not valid"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this service issued to you; start again without it.",
            errors=[FieldError("cursor", "not a valid cursor")],
        )
