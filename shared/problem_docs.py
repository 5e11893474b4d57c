"""How every problem+json answer of `shared.problems` is declared in the services' OpenAPI
documents: one schema for the body, one description per status, `Retry-After` on 429s."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema

from shared.problems import PROBLEM_MEDIA_TYPE


@dataclass(frozen=True)
class ProblemField:
    field: str
    message: str


@dataclass(frozen=True)
class ProblemDocument:
    """RFC 9457 problem details, as every error of both APIs is answered (for the OpenAPI).
    Extension members (e.g. the readiness `checks`) may come on top."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemField] | None = None


_PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON, or not the expected media type",
    401: "Missing, expired or invalid credentials",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is larger than this route accepts",
    422: "Invalid fields; `errors` lists each one",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "A dependency is unavailable",
}


def problem_response(status: int, description: str | None = None) -> ResponseSpec:
    """One documented problem+json answer."""
    return ResponseSpec(
        data_container=ProblemDocument,
        description=description or _PROBLEM_DESCRIPTIONS.get(status, "Error"),
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json answers of a route, by status, for its `responses=`."""
    return {status: problem_response(status) for status in statuses}


@dataclass
class ProblemOperation(Operation):
    """The OpenAPI operation of a route that may answer 429: the `Retry-After` header every
    throttled answer carries is declared on it (Litestar's ResponseSpec cannot say headers)."""

    def __post_init__(self) -> None:
        response = (self.responses or {}).get("429")
        if isinstance(response, OpenAPIResponse):
            response.headers = {
                **(response.headers or {}),
                "Retry-After": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                    required=True,
                    description="Seconds to wait before the next attempt",
                ),
            }
