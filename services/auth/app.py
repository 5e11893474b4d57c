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

from services.auth.accounts.accounts import Accounts
from services.auth.accounts.hashing import Argon2Parameters, PasswordHashing
from services.auth.accounts.password_policy import PasswordContext, PasswordPolicy
from services.auth.accounts.passwords import Passwords
from services.auth.accounts.profile import Profile
from services.auth.accounts.rate_limit import AddressRateLimit
from services.auth.http.routers import asyncapi, auth_routers
from services.auth.login.devices import Devices
from services.auth.login.login import Login
from services.auth.login.passkey_step import PasskeyLogin
from services.auth.login.throttling import LoginThrottle, ThrottlePolicy
from services.auth.platform.config import AuthSettings, load_auth_settings
from services.auth.platform.crypto import Sealer, derive_key
from services.auth.platform.housekeeping import Retention, run_housekeeping
from services.auth.platform.outbox import OutboxRelay, Producer, RelaySettings
from services.auth.self_service.cursors import CURSOR_PURPOSE, HistoryCursors
from services.auth.self_service.history import SecurityHistory
from services.auth.self_service.my_sessions import MySessions
from services.auth.sessions.client_devices import describe_device
from services.auth.platform.webauthn_config import load_relying_party
from services.auth.sessions.keys import SEALING_PURPOSE, SigningKeys
from services.auth.sessions.sessions import SUCCESSOR_PURPOSE, Sessions
from services.auth.sessions.tokens import AccessTokens
from services.auth.two_factor.activation import TwoFactor
from services.auth.two_factor.passkeys import Passkeys
from services.auth.two_factor.phone import PhoneConfirmation
from services.auth.two_factor.sms_budget import SmsBudget
from services.auth.two_factor.verifier import TOTP_SEALING_PURPOSE, CodeVerifier, TwoFactorPolicy
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


def password_hashing(auth: AuthSettings) -> PasswordHashing:
    return PasswordHashing(
        Argon2Parameters.from_settings(auth),
        threads=auth.hashing_threads,
        niceness=auth.hash_thread_niceness,
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
        device=ThrottlePolicy(
            auth.throttle_device_free_failures,
            base,
            timedelta(seconds=auth.throttle_device_max_delay_seconds),
        ),
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
    login: Login
    sessions: Sessions
    profile: Profile
    accounts: Accounts
    passwords: Passwords
    phone_confirmation: PhoneConfirmation
    two_factor: TwoFactor
    my_sessions: MySessions
    security_history: SecurityHistory
    passkeys: Passkeys
    passkey_login: PasskeyLogin

    def close(self) -> None:
        self.hashing.close()


async def build_components(
    pool: asyncpg.Pool[Any], settings: Settings, auth: AuthSettings, clock: Clock
) -> AuthComponents:
    """Wire the use cases; loads (or creates) the signing key and warms the hashers up."""
    uow = UnitOfWork(pool)
    secret_key = settings.require_auth_secret_key()
    hashing = password_hashing(auth)
    policy = password_policy(auth)
    throttle = login_throttle(auth)
    keys = SigningKeys(
        pool,
        Sealer(secret_key, SEALING_PURPOSE),
        clock,
        token_lifetime=timedelta(seconds=auth.access_token_seconds),
        reload_every=timedelta(seconds=auth.signing_key_reload_seconds),
    )
    await keys.load()
    await hashing.warm_up()
    # zxcvbn builds its dictionaries on first use; do it now rather than in a request.
    await asyncio.to_thread(policy.score, "warm up the meter", PasswordContext("", ""))
    # ua-parser compiles its rules on first use, as zxcvbn does.
    await asyncio.to_thread(describe_device.__wrapped__, "Mozilla/5.0 (warm-up)")
    tokens = AccessTokens(keys, clock, timedelta(seconds=auth.access_token_seconds))
    sessions = Sessions(
        uow,
        clock,
        tokens,
        refresh_idle=timedelta(days=auth.refresh_token_idle_days),
        session_max=timedelta(days=auth.session_max_days),
        reuse_interval=timedelta(seconds=auth.refresh_reuse_interval_seconds),
        successor_key=derive_key(secret_key, SUCCESSOR_PURPOSE),
    )
    passwords = Passwords(uow, clock, hashing, policy, throttle)
    two_factor_policy = TwoFactorPolicy.from_settings(auth)
    verifier = CodeVerifier(Sealer(secret_key, TOTP_SEALING_PURPOSE), two_factor_policy)
    two_factor = TwoFactor(uow, clock, verifier=verifier, passwords=passwords)
    devices = Devices(timedelta(days=auth.device_token_days))
    rp = load_relying_party(settings)
    return AuthComponents(
        clock=clock,
        hashing=hashing,
        keys=keys,
        tokens=tokens,
        login=Login(
            uow,
            clock,
            hashing=hashing,
            throttle=throttle,
            sessions=sessions,
            verifier=verifier,
            policy=two_factor_policy,
            devices=devices,
        ),
        sessions=sessions,
        profile=Profile(uow, clock),
        accounts=Accounts(uow, clock, hashing, policy),
        passwords=passwords,
        phone_confirmation=PhoneConfirmation(
            uow,
            clock,
            secret_key=secret_key,
            policy=two_factor_policy,
            budget=SmsBudget.from_settings(auth),
            verifier=verifier,
            log_sms=settings.log_sms_codes,
        ),
        my_sessions=MySessions(
            uow, clock, refresh_idle=timedelta(days=auth.refresh_token_idle_days)
        ),
        security_history=SecurityHistory(
            uow, clock, HistoryCursors(derive_key(secret_key, CURSOR_PURPOSE))
        ),
        two_factor=two_factor,
        passkeys=Passkeys(uow, clock, rp=rp, two_factor=two_factor),
        passkey_login=PasskeyLogin(
            uow,
            clock,
            rp=rp,
            policy=two_factor_policy,
            sessions=sessions,
            devices=devices,
        ),
    )


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
