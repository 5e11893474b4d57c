"""Schemathesis against the auth service's own OpenAPI document: every operation, positive and
negative inputs, authenticated as a real admin of a real organisation in the test database.

A failure here is either a 5xx or an answer the document does not declare (status, media type,
body schema, headers): both are bugs of the service (or of its document), fixed there.
Login throttling is part of the contract: random logins from the test's address soon answer
429 with `Retry-After`, which the document declares.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from services.auth.accounts.accounts import NewUser
from services.auth.app import create_app
from services.auth.domain import User
from tests.auth.conftest import PASSWORD, cheap_auth_settings, settings_for
from tests.conftest import scratch_database
from tests.fuzz.harness import (
    ServedApp,
    checks,
    errors_not_declared_as_problems,
    fuzz,
    load_schema,
    openapi_document,
    operations,
    served,
)

pytestmark = pytest.mark.fuzz

EMAIL = "fuzz.admin@example.be"
# The server trusts the loopback proxy, so tests that need a throttle bucket of their own send
# X-Forwarded-For; the fuzzed requests do not (the header is not in the document).
ADDRESSES = itertools.count(1)
DOCUMENT = openapi_document(
    create_app(
        settings_for("postgresql://unused@127.0.0.1:1/unused"), auth_settings=cheap_auth_settings()
    )
)
SCHEMA = load_schema(DOCUMENT)


@dataclass(frozen=True)
class AuthTarget:
    server: ServedApp
    user: User
    headers: dict[str, str]


@pytest.fixture(scope="module")
async def fuzz_database(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """One database for the whole module: fuzzing every operation against one user."""
    async with scratch_database(pg_admin_url, "clochette_fuzz", template_database) as url:
        yield url


@pytest.fixture(scope="module")
def auth_target(fuzz_database: str) -> Iterator[AuthTarget]:
    """The auth service on a real socket, an admin user, and that user's access token."""
    app = create_app(
        settings_for(fuzz_database),
        auth_settings=cheap_auth_settings(trusted_proxies=["127.0.0.1/32"]),
    )
    with served(app) as server:

        async def create() -> User:
            user, _ = await app.state.accounts.create_user_in_named_organization(
                "Brasserie Fuzz", NewUser(EMAIL, PASSWORD, "admin", "nl")
            )
            assert isinstance(user, User)
            return user

        user = server.run(create())
        response = requests.post(
            f"{server.base_url}/v1/auth/login",
            json={"email": EMAIL, "password": PASSWORD},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        yield AuthTarget(server, user, {"Authorization": f"Bearer {token}"})


def _overrides(target: AuthTarget, path: str) -> list[dict[str, Any]]:
    """Real identifiers for the path parameters, so the admin's own organisation is fuzzed too."""
    parameters: dict[str, Any] = {}
    if "{organization_id}" in path:
        parameters["organization_id"] = str(target.user.organization_id)
    if "{user_id}" in path:
        parameters["user_id"] = str(uuid.uuid4())
    return [{"path_parameters": parameters}] if parameters else []


@pytest.mark.parametrize("operation", operations(SCHEMA), ids=lambda op: op.label)
def test_auth_operation_conforms_to_its_document(operation: Any, auth_target: AuthTarget) -> None:
    fuzz(
        operation,
        auth_target.server.base_url,
        auth_target.headers,
        *_overrides(auth_target, operation.path),
    )


def _login(target: AuthTarget, email: str) -> Any:
    """From an address of its own (the fuzzing may have throttled the test's loopback one)."""
    return requests.post(
        f"{target.server.base_url}/v1/auth/login",
        json={"email": email, "password": "not the password"},
        headers={"X-Forwarded-For": f"198.51.100.{next(ADDRESSES)}"},
        timeout=30,
    )


@pytest.mark.parametrize(
    ("email", "status"),
    [
        # NUL cannot be stored in PostgreSQL text: the query failed with a 500
        ("fuzz\u0000@example.be", 422),
        # "\f" normalises (NFKC + strip) to "": the throttle row broke CHECK (length(key) >= 1)
        ("\f", 401),
        # NFKC turns one U+FDFA into 18 characters: 300 of them broke CHECK (length(key) <= 400)
        ("\ufdfa" * 300, 401),
    ],
    ids=["nul", "blank-after-normalisation", "longer-after-normalisation"],
)
def test_logins_found_by_fuzzing_are_refused_not_failed(
    auth_target: AuthTarget, email: str, status: int
) -> None:
    """Each of these answered 500 before the fix; now a problem+json 4xx."""
    response = _login(auth_target, email)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_throttled_login_is_an_answer_the_document_declares(auth_target: AuthTarget) -> None:
    """Random logins rarely reach the address limit within the fast run's examples, so the 429
    (problem+json with Retry-After) is provoked here and held to the document by the same
    checks."""
    operation = SCHEMA.find_operation_by_label("POST /v1/auth/login")
    assert operation is not None
    case = operation.Case(
        body={"email": "nobody@example.be", "password": "wrong"}, media_type="application/json"
    )
    for _ in range(60):
        response = case.call(
            base_url=auth_target.server.base_url,
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=30,
        )
        if response.status_code == 429:
            break
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"][0]) >= 1
    case.validate_response(response, checks=checks())


def test_every_declared_error_is_problem_json() -> None:
    """Litestar's default 400 is declared as application/json; the service answers every error
    as problem+json, so each route declares its errors itself (found by this fuzzing)."""
    assert errors_not_declared_as_problems(DOCUMENT) == []
