"""Schemathesis against the notifier's own OpenAPI document: every operation, positive and
negative inputs, authenticated with an access token the notifier verifies against a real JWKS
endpoint, for a user who has notifications in the real test database.

A failure here is either a 5xx or an answer the document does not declare (status, media type,
body schema, headers): both are bugs of the service (or of its document), fixed there.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from clochette.jwks_stub import JwksServer, SigningKey, mint
from services.notifier.app import create_app
from shared.db import create_pool
from tests.conftest import scratch_database
from tests.fuzz.harness import (
    ServedApp,
    errors_not_declared_as_problems,
    fuzz,
    load_schema,
    openapi_document,
    operations,
    served,
)
from tests.notifier_api.conftest import UNUSED_BROKER, insert_notification, settings_for

pytestmark = pytest.mark.fuzz

DOCUMENT = openapi_document(
    create_app(
        settings_for("postgresql://unused@127.0.0.1:1/unused", "http://unused", UNUSED_BROKER)
    )
)
SCHEMA = load_schema(DOCUMENT)


@dataclass(frozen=True)
class BellTarget:
    server: ServedApp
    headers: dict[str, str]
    notification_ids: list[uuid.UUID]


@pytest.fixture(scope="module")
async def fuzz_database(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    async with scratch_database(pg_admin_url, "clochette_fuzz", template_database) as url:
        yield url


@pytest.fixture(scope="module")
async def reader(fuzz_database: str) -> AsyncIterator[tuple[uuid.UUID, list[uuid.UUID]]]:
    """A recipient with a few notifications, some read: the pages, cursors and badge have
    something to show."""
    user_id, org = uuid.uuid4(), uuid.uuid4()
    pool: asyncpg.Pool[Any] = await create_pool(
        fuzz_database, min_size=1, max_size=2, search_path="notifier"
    )
    try:
        await pool.execute(
            "INSERT INTO recipients (user_id, organization_id, language) VALUES ($1, $2, 'fr')",
            user_id,
            org,
        )
        async with pool.acquire() as conn, conn.transaction():
            ids = [await insert_notification(conn, user_id, read=n % 2 == 0) for n in range(5)]
        yield user_id, ids
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def bell_target(
    fuzz_database: str, kafka_bootstrap: str, reader: tuple[uuid.UUID, list[uuid.UUID]]
) -> Iterator[BellTarget]:
    """The notifier on a real socket (real database and broker, so it is ready), its JWKS
    endpoint, and an access token of the reader."""
    key = SigningKey(kid="fuzz-key")
    jwks = JwksServer([key])
    user_id, ids = reader
    with pytest.MonkeyPatch.context() as patch:
        # The Kafka consumer is not under test here (and joining a group takes seconds).
        patch.setenv("NOTIFIER_INGEST_ENABLED", "false")
        app = create_app(settings_for(fuzz_database, jwks.url, kafka_bootstrap))
    try:
        with served(app) as server:
            token = mint(key, user_id, lang="fr", lifetime=900)
            yield BellTarget(server, {"Authorization": f"Bearer {token}"}, ids)
    finally:
        jwks.close()


def _overrides(target: BellTarget, path: str) -> list[dict[str, Any]]:
    """The user's real notification ids too, so marking read is fuzzed past the 404."""
    if "{notification_id}" in path:
        return [
            {"path_parameters": {"notification_id": str(target.notification_ids[0])}},
        ]
    return []


@pytest.mark.parametrize("operation", operations(SCHEMA), ids=lambda op: op.label)
def test_notifier_operation_conforms_to_its_document(
    operation: Any, bell_target: BellTarget
) -> None:
    fuzz(
        operation,
        bell_target.server.base_url,
        bell_target.headers,
        *_overrides(bell_target, operation.path),
    )


def test_every_declared_error_is_problem_json() -> None:
    """Litestar's default 400 is declared as application/json; the service answers every error
    as problem+json, so each route declares its errors itself (found by this fuzzing)."""
    assert errors_not_declared_as_problems(DOCUMENT) == []
