"""Composition root of the auth service: wires settings, database, the parts built by
services/auth/components.py (keys, use cases), the outbox relay, housekeeping and routes into one
app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from litestar import Litestar

from services.auth.accounts.rate_limit import AddressRateLimit
from services.auth.components import build_components, relay_settings, retention
from services.auth.http.routers import asyncapi, auth_routers
from services.auth.platform.config import AuthSettings, load_auth_settings
from services.auth.platform.housekeeping import run_housekeeping
from services.auth.platform.outbox import OutboxRelay, Producer
from services.auth.platform.webauthn_config import load_relying_party
from shared.clock import Clock, SystemClock
from shared.cors import cors_config, with_cors
from shared.db import UnitOfWork
from shared.http import build_app, health_routes, internal_app, openapi_config
from shared.kafka import KafkaSecurity, create_producer
from shared.logging import get_logger
from shared.metrics import metrics_endpoint
from shared.service import ServiceDatabase
from shared.settings import Settings

SCHEMA = "auth"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def create_internal_app() -> Litestar:
    """The metrics listener: /metrics and the AsyncAPI document, never on the public port in
    production."""
    return internal_app([metrics_endpoint, asyncapi])


def create_app(
    settings: Settings,
    *,
    auth_settings: AuthSettings | None = None,
    clock: Clock | None = None,
    producer_factory: Callable[[], Producer] | None = None,
) -> Litestar:
    """The auth service: credentials, display language, two-factor state and tokens."""
    database = ServiceDatabase(settings, SCHEMA, MIGRATIONS)
    settings.require_auth_secret_key()
    auth = auth_settings or load_auth_settings()
    the_clock = clock or SystemClock()
    load_relying_party(settings)  # WEBAUTHN_*: refuses to start when unusable

    def kafka_producer() -> Producer:
        producer: Producer = create_producer(
            settings.kafka_bootstrap_servers,
            enable_idempotence=settings.kafka_enable_idempotence,
            security=KafkaSecurity.from_settings(settings),
        )
        return producer

    @asynccontextmanager
    async def components(app: Litestar) -> AsyncIterator[None]:
        """Runs after the database lifespan opened the pool, and ends before it closes it."""
        pool = database.pool
        parts = await build_components(pool, settings, auth, the_clock)
        app.state.update(
            clock=the_clock,
            hashing=parts.hashing,
            signing_keys=parts.keys,
            tokens=parts.tokens,
            login=parts.login,
            sessions=parts.sessions,
            profile=parts.profile,
            accounts=parts.accounts,
            passwords=parts.passwords,
            phone_confirmation=parts.phone_confirmation,
            two_factor=parts.two_factor,
            my_sessions=parts.my_sessions,
            security_history=parts.security_history,
            passkeys=parts.passkeys,
            passkey_login=parts.passkey_login,
            trusted_proxies=auth.trusted_proxies,
            jwks_max_age=auth.jwks_max_age_seconds,
            quality_rate_limit=AddressRateLimit(auth.password_quality_per_minute, the_clock),
        )
        relay = OutboxRelay(
            pool, database.dsn, producer_factory or kafka_producer, the_clock, relay_settings(auth)
        )
        app.state.relay = relay
        background = [
            asyncio.create_task(parts.keys.run_reloads(), name="signing-key-reloads"),
            asyncio.create_task(
                run_housekeeping(
                    UnitOfWork(pool),
                    the_clock,
                    retention(auth),
                    timedelta(seconds=auth.housekeeping_interval_seconds),
                ),
                name="housekeeping",
            ),
        ]
        if auth.outbox_relay_enabled:
            relay.start()
        log.info("auth_started", host=settings.auth_host, port=settings.auth_port)
        try:
            yield
        finally:
            await parts.login.settled()  # abandoned logins taken back while the pool is open
            await relay.stop()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            parts.close()

    return build_app(
        route_handlers=[
            *health_routes({"database": database.readiness}),
            *([metrics_endpoint] if settings.public_metrics else []),
            *auth_routers(with_asyncapi=settings.public_metrics),
        ],
        openapi=openapi_config(
            "Clochette auth",
            "1.0.0",
            "Credentials, display language, two-factor authentication and access tokens.",
        ),
        lifespan=[database.lifespan, components],
        # The web app logs in, reads /v1/me, changes the password and 2FA from its own origin.
        on_app_init=[
            with_cors(cors_config(settings, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
        ],
    )
