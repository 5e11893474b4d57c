"""Both services start from their app factory and report their health honestly."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from litestar.testing import AsyncTestClient

from clochette.devstack import free_port
from services.auth.app import create_app as create_auth
from services.notifier.app import create_app as create_notifier
from services.notifier.settings import NotifierSettings
from shared.migrations import MigrationError
from shared.settings import Settings
from shared.topics import TopicSpec, ensure_topics


def settings_for(database_url: str, kafka: str = "127.0.0.1:9") -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        CLOCHETTE_SECRET_KEY="x" * 48,
        CLOCHETTE_ENV="test",
    )


async def test_auth_is_live_and_ready(database_url: str) -> None:
    async with AsyncTestClient(app=create_auth(settings_for(database_url))) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_notifier_ready_needs_database_broker_and_consumer(
    database_url: str, kafka_bootstrap: str
) -> None:
    # Prefixed topics and an own group: the real topic names belong to other tests.
    ingest = NotifierSettings(
        NOTIFIER_TOPIC_PREFIX=f"health{uuid.uuid4().hex[:6]}.",
        NOTIFIER_CONSUMER_GROUP=f"health-{uuid.uuid4().hex[:6]}",
    )
    topics = (*ingest.topics.consumed, ingest.topics.dead_letter)
    await ensure_topics(kafka_bootstrap, tuple(TopicSpec(name) for name in topics))
    app = create_notifier(settings_for(database_url, kafka_bootstrap), notifier=ingest)
    async with AsyncTestClient(app=app) as client:
        deadline = time.monotonic() + 30
        ready = await client.get("/health/ready")
        while ready.status_code != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "consumer": "ok",
        "longpoll": "ok",
    }


async def test_notifier_not_ready_without_broker(database_url: str) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    app = create_notifier(settings_for(database_url, unreachable))
    async with AsyncTestClient(app=app) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["type"] == "https://clochette.dev/problems/not-ready"
    assert body["checks"]["database"] == "ok"
    assert "not reachable" in body["checks"]["broker"]


async def test_openapi_documents_are_served(database_url: str) -> None:
    for factory in (create_auth, create_notifier):
        async with AsyncTestClient(app=factory(settings_for(database_url))) as client:
            response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        assert "/health/ready" in document["paths"]


async def test_unknown_route_is_a_problem_document(database_url: str) -> None:
    async with AsyncTestClient(app=create_auth(settings_for(database_url))) as client:
        response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "https://clochette.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Nothing is found at this address.",
        "instance": "/no/such/route",
    }


async def test_service_refuses_a_database_behind_its_migrations(empty_database_url: str) -> None:
    app = create_auth(settings_for(empty_database_url))
    with pytest.raises(BaseExceptionGroup) as raised:
        async with AsyncTestClient(app=app):
            pass
    assert raised.group_contains(MigrationError, match="run `clochette migrate`")


async def test_request_id_is_echoed_or_generated(database_url: str) -> None:
    async with AsyncTestClient(app=create_auth(settings_for(database_url))) as client:
        given = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
        made_up = await client.get("/health/live", headers={"X-Request-ID": "bad id\n!"})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made_up.headers["x-request-id"]) == 32
