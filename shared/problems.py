"""RFC 9457 problem details: the one place where errors become HTTP responses.

Use cases raise :class:`DomainError` subclasses; HTTP handlers never build error bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from shared.db import is_database_unavailable
from shared.logging import get_logger

PROBLEM_BASE_URI = "https://clochette.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = get_logger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One offending field of a request: where it is and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem:
    """An RFC 9457 body. `type` is a stable URI clients may switch on."""

    slug: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return PROBLEM_BASE_URI + self.slug

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extensions)
        return body

    def to_response(self, request: Request[Any, Any, Any] | None = None) -> Response[Any]:
        body = self.as_dict()
        if request is not None:
            body.setdefault("instance", request.url.path)
        return Response(
            content=body,
            status_code=self.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=self.headers or None,
        )


class DomainError(Exception):
    """Base of every error a use case raises; subclasses set the problem they map to."""

    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extensions = extensions

    def to_problem(self) -> Problem:
        return Problem(
            slug=self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            errors=self.errors,
            extensions=self.extensions,
            headers=self.headers,
        )


class InvalidRequest(DomainError):
    slug = "validation-error"
    title = "The request is not valid"
    status = 422


class NotFound(DomainError):
    slug = "not-found"
    title = "Not found"
    status = 404


class Unauthenticated(DomainError):
    slug = "unauthenticated"
    title = "Authentication required"
    status = 401


class Forbidden(DomainError):
    slug = "forbidden"
    title = "Forbidden"
    status = 403


class ServiceUnavailable(DomainError):
    slug = "service-unavailable"
    title = "Service unavailable"
    status = 503


_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "request-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
}


def _field_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                key = str(item.get("key") or item.get("source") or "body")
                errors.append(FieldError(field=key, message=str(item.get("message", "invalid"))))
    return errors


def _validation_problem(exc: ValidationException) -> Problem:
    errors = _field_errors(exc.extra)
    if not errors:
        # Litestar raises a bare ValidationException for a body that is not JSON at all.
        return Problem(
            slug="malformed-request",
            title="The request body could not be read",
            status=400,
            detail="The request body is not valid JSON, or not the expected media type.",
        )
    names = ", ".join(sorted({e.field for e in errors}))
    return Problem(
        slug=InvalidRequest.slug,
        title=InvalidRequest.title,
        status=422,
        detail=f"Invalid or unexpected fields: {names}.",
        errors=errors,
    )


# How long a client should wait before retrying while the database is unreachable: about how long
# a PostgreSQL restart or failover takes.
DATABASE_RETRY_AFTER_SECONDS = 5


def problem_for(exc: Exception) -> Problem:
    """Map any exception to the problem a client sees; unknown errors reveal nothing."""
    if isinstance(exc, DomainError):
        return exc.to_problem()
    if is_database_unavailable(exc):
        return Problem(
            slug=ServiceUnavailable.slug,
            title=ServiceUnavailable.title,
            status=503,
            detail="The service cannot reach its database right now. Try again in a moment.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, ValidationException):
        return _validation_problem(exc)
    if isinstance(exc, HTTPException) and str(exc.detail).startswith("JSON is malformed"):
        return Problem(
            slug="malformed-request",
            title="The request body could not be read",
            status=400,
            detail="The request body is not valid JSON.",
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if exc.detail and exc.detail != phrase else phrase
        if isinstance(exc, NotFoundException):
            detail = "Nothing is found at this address."
        elif isinstance(exc, NotAuthorizedException):
            detail = exc.detail or "A valid access token is required."
        elif isinstance(exc, PermissionDeniedException):
            detail = exc.detail or "You are not allowed to do this."
        if status >= 500:
            detail = "The server could not complete the request."
        return Problem(
            slug=_HTTP_SLUGS.get(status, "internal-error" if status >= 500 else "http-error"),
            title=phrase,
            status=status,
            detail=str(detail),
            headers=dict(exc.headers or {}),
        )
    return Problem(
        slug="internal-error",
        title="Internal error",
        status=500,
        detail="The server could not complete the request. It has been logged.",
    )


def problem_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler: every 4xx/5xx leaves as problem+json."""
    problem = problem_for(exc)
    if problem.status == 503:
        log.warning(
            "request_failed_dependency_unavailable",
            path=request.url.path,
            method=request.method,
            error_class=type(exc).__name__,
        )
    elif problem.status >= 500:
        log.error(
            "request_failed",
            path=request.url.path,
            method=request.method,
            error_class=type(exc).__name__,
            exc_info=exc,
        )
    return problem.to_response(request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {Exception: problem_exception_handler}
