"""The parts of the auth service, built once per process from the settings: the password
hashing and policy, the login throttle, the outbox relay and retention settings, and every use
case wired to the database, the keys and the clock (`build_components`). The app
(services/auth/app.py), the CLI, the demo seed and the benchmarks build their parts from here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from services.auth.accounts.accounts import Accounts
from services.auth.accounts.hashing import Argon2Parameters, PasswordHashing
from services.auth.accounts.password_policy import PasswordContext, PasswordPolicy
from services.auth.accounts.passwords import Passwords
from services.auth.accounts.profile import Profile
from services.auth.login.devices import Devices
from services.auth.login.login import Login
from services.auth.login.passkey_step import PasskeyLogin
from services.auth.login.throttling import LoginThrottle, ThrottlePolicy
from services.auth.platform.config import AuthSettings
from services.auth.platform.crypto import Sealer, derive_key
from services.auth.platform.housekeeping import Retention
from services.auth.platform.outbox import RelaySettings
from services.auth.platform.webauthn_config import load_relying_party
from services.auth.self_service.cursors import CURSOR_PURPOSE, HistoryCursors
from services.auth.self_service.history import SecurityHistory
from services.auth.self_service.my_sessions import MySessions
from services.auth.sessions.client_devices import describe_device
from services.auth.sessions.keys import SEALING_PURPOSE, SigningKeys
from services.auth.sessions.sessions import SUCCESSOR_PURPOSE, Sessions
from services.auth.sessions.tokens import AccessTokens
from services.auth.two_factor.activation import TwoFactor
from services.auth.two_factor.passkeys import Passkeys
from services.auth.two_factor.phone import PhoneConfirmation
from services.auth.two_factor.sms_budget import SmsBudget
from services.auth.two_factor.verifier import TOTP_SEALING_PURPOSE, CodeVerifier, TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.settings import Settings


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
    await asyncio.to_thread(describe_device, "Mozilla/5.0 (warm-up)")
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
