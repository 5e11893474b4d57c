"""Composition root of the auth service: wires settings, database, keys, use cases, the outbox
relay and routes into one app. The CLI and the benchmark build their parts from here too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar

from services.auth.accounts import Accounts
from shared.clock import Clock, SystemClock
from services.auth.config import AuthSettings, load_auth_settings
from services.auth.crypto import Sealer
from services.auth.hashing import Argon2Parameters, PasswordHashing
from services.auth.housekeeping import Retention, run_housekeeping
from services.auth.keys import SEALING_PURPOSE, SigningKeys
from services.auth.outbox import OutboxRelay, Producer, RelaySettings
from services.auth.password_policy import PasswordContext, PasswordPolicy
from services.auth.passwords import Passwords
from services.auth.routes import auth_routers
from services.auth.sessions import Sessions
from services.auth.throttling import LoginThrottle, ThrottlePolicy
from services.auth.tokens import AccessTokens
from services.auth.two_factor import TwoFactor, TwoFactorPolicy
from shared.cors import cors_config, with_cors
from shared.db import create_pool, database_is_reachable
from shared.http import build_app, health_routes, openapi_config
from shared.kafka import create_producer
from shared.logging import get_logger
from shared.metrics import metrics_endpoint
from shared.migrations import require_current_schema
from shared.settings import Settings

SCHEMA = "auth"
MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def password_hashing(auth: AuthSettings) -> PasswordHashing:
    parameters = Argon2Parameters(
        auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism
    )
    return PasswordHashing(
        parameters, threads=auth.hashing_threads, niceness=auth.hash_thread_niceness
    )


def password_policy(auth: AuthSettings) -> PasswordPolicy:
    return PasswordPolicy(auth.password_min_length, auth.password_max_length)


def login_throttle(auth: AuthSettings) -> LoginThrottle:
    base = timedelta(seconds=auth.throttle_base_delay_seconds)
    return LoginThrottle(
        account=ThrottlePolicy(
            auth.throttle_account_free_failures,
            base,
            timedelta(seconds=auth.throttle_account_max_delay_seconds),
        ),
        address=ThrottlePolicy(
            auth.throttle_address_free_failures,
            base,
            timedelta(seconds=auth.throttle_address_max_delay_seconds),
        ),
        forget_after=timedelta(seconds=auth.throttle_forget_after_seconds),
    )


def relay_settings(auth: AuthSettings) -> RelaySettings:
    return RelaySettings(
        batch_size=auth.outbox_batch_size,
        poll_interval=timedelta(seconds=auth.outbox_poll_seconds),
        publish_timeout=timedelta(seconds=auth.outbox_publish_timeout_seconds),
        retry_initial=timedelta(seconds=auth.outbox_retry_initial_seconds),
        retry_max=timedelta(seconds=auth.outbox_retry_max_seconds),
    )


def retention(auth: AuthSettings) -> Retention:
    return Retention(
        published_outbox=timedelta(days=auth.outbox_keep_published_days),
        ended_sessions=timedelta(days=auth.refresh_token_idle_days),
        throttle_counters=timedelta(seconds=auth.throttle_forget_after_seconds),
        audit=timedelta(days=auth.audit_keep_days),
        signing_keys=timedelta(seconds=auth.access_token_seconds + auth.signing_key_reload_seconds),
    )


@dataclass
class AuthComponents:
    """Everything a request of the auth service may need, built once per process."""

    clock: Clock
    hashing: PasswordHashing
    keys: SigningKeys
    tokens: AccessTokens
    accounts: Accounts
    sessions: Sessions
    passwords: Passwords
    two_factor: TwoFactor

    def close(self) -> None:
        self.hashing.close()


async def build_components(
    pool: asyncpg.Pool[Any], settings: Settings, auth: AuthSettings, clock: Clock
) -> AuthComponents:
    """Wire the use cases; loads (or creates) the signing key and warms the hashers up."""
    hashing = password_hashing(auth)
    policy = password_policy(auth)
    throttle = login_throttle(auth)
    keys = SigningKeys(
        pool,
        Sealer(settings.require_secret_key(), SEALING_PURPOSE),
        clock,
        token_lifetime=timedelta(seconds=auth.access_token_seconds),
        reload_every=timedelta(seconds=auth.signing_key_reload_seconds),
    )
    await keys.load()
    await hashing.warm_up()
    # zxcvbn builds its dictionaries on first use; do it now rather than in a request.
    await asyncio.to_thread(policy.score, "warm up the meter", PasswordContext("", ""))
    tokens = AccessTokens(keys, clock, timedelta(seconds=auth.access_token_seconds))
    sessions = Sessions(
        pool,
        clock,
        hashing,
        throttle,
        tokens,
        refresh_idle=timedelta(days=auth.refresh_token_idle_days),
        session_max=timedelta(days=auth.session_max_days),
    )
    passwords = Passwords(pool, clock, hashing, policy, throttle)
    return AuthComponents(
        clock=clock,
        hashing=hashing,
        keys=keys,
        tokens=tokens,
        accounts=Accounts(pool, clock, hashing, policy),
        sessions=sessions,
        passwords=passwords,
        two_factor=TwoFactor(
            pool,
            clock,
            secret_key=settings.require_secret_key(),
            policy=TwoFactorPolicy.from_settings(auth),
            sessions=sessions,
            passwords=passwords,
            log_sms=not settings.is_production,
        ),
    )


def create_app(
    settings: Settings,
    *,
    auth_settings: AuthSettings | None = None,
    clock: Clock | None = None,
    producer_factory: Callable[[], Producer] | None = None,
) -> Litestar:
    """The auth service: credentials, display language, two-factor state and tokens."""
    dsn = settings.require_database_url()
    settings.require_secret_key()
    auth = auth_settings or load_auth_settings()
    the_clock = clock or SystemClock()

    def kafka_producer() -> Producer:
        producer: Producer = create_producer(
            settings.kafka_bootstrap_servers, enable_idempotence=settings.kafka_enable_idempotence
        )
        return producer

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        await require_current_schema(dsn, SCHEMA, MIGRATIONS)
        pool = await create_pool(
            dsn,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            search_path=SCHEMA,
        )
        app.state.pool = pool
        try:
            components = await build_components(pool, settings, auth, the_clock)
        except BaseException:
            await pool.close()
            raise
        app.state.update(
            clock=the_clock,
            signing_keys=components.keys,
            tokens=components.tokens,
            accounts=components.accounts,
            sessions=components.sessions,
            passwords=components.passwords,
            two_factor=components.two_factor,
            trusted_proxies=auth.trusted_proxies,
            jwks_max_age=auth.jwks_max_age_seconds,
        )
        relay = OutboxRelay(
            pool, dsn, producer_factory or kafka_producer, the_clock, relay_settings(auth)
        )
        app.state.relay = relay
        background = [
            asyncio.create_task(components.keys.run_reloads(), name="signing-key-reloads"),
            asyncio.create_task(
                run_housekeeping(
                    pool,
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
            await relay.stop()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            components.close()
            await pool.close()

    async def database_ready() -> str | None:
        pool: Any = getattr(app.state, "pool", None)
        if pool is None or not await database_is_reachable(pool):
            return "PostgreSQL is not reachable"
        return None

    app = build_app(
        route_handlers=[
            *health_routes({"database": database_ready}),
            metrics_endpoint,
            *auth_routers(),
        ],
        openapi=openapi_config(
            "Clochette auth",
            "1.0.0",
            "Credentials, display language, two-factor authentication and access tokens.",
        ),
        lifespan=[resources],
        # The web app logs in, reads /v1/me, changes the password and 2FA from its own origin.
        on_app_init=[
            with_cors(cors_config(settings, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
        ],
    )
    return app
