"""/metrics and the AsyncAPI documents: on an internal listener only in production (the public
port answers 404), on the main port too in development (tests, make run, bench, chaos)."""

from __future__ import annotations

import secrets

from litestar.testing import AsyncTestClient

from services.auth.app import create_app as create_auth
from services.auth.app import create_internal_app as create_auth_internal
from services.notifier.app import create_app as create_notifier
from services.notifier.app import create_internal_app as create_notifier_internal
from services.notifier.settings import NotifierSettings
from shared.settings import Environment, Settings


def settings_for(database_url: str, environment: Environment) -> Settings:
    settings = Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
        AUTH_SECRET_KEY=secrets.token_urlsafe(48),
        NOTIFIER_SECRET_KEY=secrets.token_urlsafe(48),
        CLOCHETTE_ENV="test",
        # A production auth service refuses an IP address as its WebAuthn relying party id.
        WEB_APP_BASE_URL="https://app.clochette.test",
    )
    return settings.model_copy(update={"environment": environment})


NO_INGEST = NotifierSettings(NOTIFIER_INGEST_ENABLED=False)


async def test_production_serves_metrics_and_asyncapi_on_the_internal_listener_only(
    database_url: str,
) -> None:
    settings = settings_for(database_url, Environment.PRODUCTION)
    assert settings.metrics_listener("auth") == ("127.0.0.1", 9101)
    assert settings.metrics_listener("notifier") == ("127.0.0.1", 9102)
    for public in (create_auth(settings), create_notifier(settings, notifier=NO_INGEST)):
        async with AsyncTestClient(app=public) as client:
            assert (await client.get("/metrics")).status_code == 404
            assert (await client.get("/asyncapi.json")).status_code == 404
            assert (await client.get("/health/live")).status_code == 200
    for internal in (create_auth_internal(), create_notifier_internal(settings, NO_INGEST)):
        async with AsyncTestClient(app=internal) as client:
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert "# TYPE" in metrics.text
            assert (await client.get("/asyncapi.json")).json()["asyncapi"].startswith("3.")


async def test_development_keeps_them_on_the_main_port(database_url: str) -> None:
    settings = settings_for(database_url, Environment.DEVELOPMENT)
    assert settings.metrics_listener("auth") is None
    assert settings.model_copy(update={"auth_metrics_port": 9555}).metrics_listener("auth") == (
        "127.0.0.1",
        9555,
    )
    for app in (create_auth(settings), create_notifier(settings, notifier=NO_INGEST)):
        async with AsyncTestClient(app=app) as client:
            assert (await client.get("/metrics")).status_code == 200
            assert (await client.get("/asyncapi.json")).status_code == 200
