"""Every error leaves as RFC 9457 problem+json, and unknown errors reveal nothing."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import TestClient
from pydantic import BaseModel, ConfigDict, Field

from shared.problems import EXCEPTION_HANDLERS, DomainError, FieldError, problem_for


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = Field(pattern="^(nl|fr|en|de)$")


class CodeReplayed(DomainError):
    slug = "code-replayed"
    title = "Code already used"
    status = 401


@post("/echo")
async def echo(data: JSONBody[Body]) -> dict[str, str]:
    return {"language": data.language}


@post("/boom")
async def boom() -> None:
    raise RuntimeError("password=hunter2 SELECT * FROM users")


@post("/domain")
async def domain() -> None:
    raise CodeReplayed("This code was already used.", errors=[FieldError("code", "replayed")])


app = Litestar([echo, boom, domain], exception_handlers=EXCEPTION_HANDLERS)


def test_validation_errors_list_each_offending_field() -> None:
    with TestClient(app) as client:
        response = client.post("/echo", json={"language": "es", "email": "x@y.be"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "https://clochette.dev/problems/validation-error"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"language", "email"}


def test_a_body_that_is_not_json_is_a_400_problem() -> None:
    with TestClient(app) as client:
        response = client.post(
            "/echo", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["type"] == "https://clochette.dev/problems/malformed-request"


def test_unexpected_errors_reveal_nothing() -> None:
    with TestClient(app) as client:
        response = client.post("/boom")
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert "SELECT" not in response.text
    assert response.json()["type"] == "https://clochette.dev/problems/internal-error"


def test_domain_errors_keep_their_type_status_and_fields() -> None:
    with TestClient(app) as client:
        response = client.post("/domain")
    assert response.status_code == 401
    assert response.json() == {
        "type": "https://clochette.dev/problems/code-replayed",
        "title": "Code already used",
        "status": 401,
        "detail": "This code was already used.",
        "errors": [{"field": "code", "message": "replayed"}],
        "instance": "/domain",
    }


def test_problem_for_an_unknown_exception_is_generic() -> None:
    problem = problem_for(ValueError("secret detail"))
    assert problem.status == 500
    assert "secret" not in problem.detail


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        TimeoutError(),
        asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_unreachable_database_is_a_503_to_retry(exc: Exception) -> None:
    problem = problem_for(exc)
    assert (problem.status, problem.slug) == (503, "service-unavailable")
    assert problem.headers == {"Retry-After": "5"}
    assert "database" in problem.detail


def test_a_failing_query_is_still_a_500() -> None:
    problem = problem_for(asyncpg.UndefinedColumnError('column "x" does not exist'))
    assert problem.status == 500
    assert "column" not in problem.detail
