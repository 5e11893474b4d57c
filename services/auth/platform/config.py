"""The auth service's own knobs (environment variables prefixed `AUTH_`), beside the shared
Settings. Defaults are production values; tests lower the argon2 cost."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.tokens import ACCESS_TOKEN_MAX_SECONDS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks and container cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class AuthSettings(BaseSettings):
    """Password hashing, password policy, token lifetimes, throttling and outbox relay."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", case_sensitive=False, extra="ignore")

    # argon2id; the defaults are argon2-cffi's (RFC 9106 "second recommended" profile).
    argon2_time_cost: int = Field(3, ge=1, le=20)
    argon2_memory_kib: int = Field(65536, ge=8, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(4, ge=1, le=64)
    # 0 = one hashing thread per available core.
    hash_threads: int = Field(0, ge=0, le=256)
    # Hashing threads run at the lowest CPU priority (nice is per thread on Linux): requests
    # preempt hashing, so they stay fast while logins saturate the CPU; alone, hashing still
    # gets every idle cycle. Measured on 2 cores: /v1/me p99 under login load 20-35 ms at 19,
    # 73-131 ms at 5.
    hash_thread_niceness: int = Field(19, ge=0, le=19)

    password_min_length: int = Field(12, ge=8, le=64)
    password_max_length: int = Field(256, ge=64, le=1024)
    # Calls of POST /v1/password-quality per client address and minute (the meter calls it as
    # the user types, debounced: 60 leaves room for a slow typist and a few retries).
    password_quality_per_minute: int = Field(60, ge=1, le=100_000)

    access_token_seconds: int = Field(ACCESS_TOKEN_MAX_SECONDS, ge=30, le=ACCESS_TOKEN_MAX_SECONDS)
    refresh_token_idle_days: float = Field(14, gt=0, le=90)
    session_max_days: float = Field(30, gt=0, le=365)
    # A used refresh token presented again this soon (a duplicated tab, a retry after a lost
    # answer) gets the same successor instead of revoking the session (Okta allows 0-60 s).
    refresh_reuse_interval_seconds: int = Field(30, ge=0, le=60)

    signing_key_publish_ahead_seconds: int = Field(600, ge=0, le=7 * 86400)
    signing_key_reload_seconds: int = Field(60, ge=1, le=3600)
    jwks_max_age_seconds: int = Field(300, ge=0, le=86400)

    throttle_account_free_failures: int = Field(5, ge=1, le=100)
    throttle_account_max_delay_seconds: int = Field(300, ge=1, le=86400)
    throttle_address_free_failures: int = Field(20, ge=1, le=10000)
    throttle_address_max_delay_seconds: int = Field(900, ge=1, le=86400)
    throttle_base_delay_seconds: float = Field(2.0, gt=0, le=3600)
    throttle_forget_after_seconds: int = Field(3600, ge=60, le=30 * 86400)
    # A device that logged in before is judged by its own counter (contract 4.1).
    throttle_device_free_failures: int = Field(5, ge=1, le=100)
    throttle_device_max_delay_seconds: int = Field(300, ge=1, le=86400)
    # Valid this long after the device's last successful login; never under 90 days.
    device_token_days: float = Field(180, ge=90, le=730)
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)

    outbox_relay_enabled: bool = True
    outbox_batch_size: int = Field(500, ge=1, le=10000)
    outbox_poll_seconds: float = Field(1.0, gt=0, le=60)
    outbox_publish_timeout_seconds: float = Field(20.0, gt=0, le=600)
    outbox_retry_initial_seconds: float = Field(0.5, gt=0, le=60)
    outbox_retry_max_seconds: float = Field(30.0, gt=0, le=3600)
    outbox_keep_published_days: float = Field(7, gt=0, le=365)

    totp_issuer: str = Field("Clochette", min_length=1, max_length=64)
    mfa_token_seconds: int = Field(300, ge=30, le=1800)
    mfa_max_failures_per_token: int = Field(5, ge=1, le=10)
    code_failures_per_user: int = Field(10, ge=1, le=100)
    code_failure_window_seconds: int = Field(900, ge=60, le=86400)
    # Wrong codes per user in 24 hours: then the second step is closed until the day is over
    # and the user is told (security.suspicious_codes). Each window cap reached before that
    # locks for twice as long as the previous one.
    code_failures_per_day: int = Field(30, ge=1, le=1000)
    sms_resend_cooldown_seconds: int = Field(60, ge=0, le=3600)
    # The SMS budget (read from auth.sms_send_log, which no 2FA change deletes): SMS cost
    # money and a code to any number is what SMS-pumping fraud sells.
    sms_hourly_cap_per_user: int = Field(5, ge=1, le=1000)
    sms_daily_cap_per_user: int = Field(10, ge=1, le=10000)
    sms_hourly_cap_per_number: int = Field(3, ge=1, le=1000)
    sms_daily_cap_per_number: int = Field(10, ge=1, le=10000)
    sms_hourly_cap_per_organization: int = Field(100, ge=1, le=100000)
    sms_daily_cap_per_organization: int = Field(500, ge=1, le=1000000)

    audit_keep_days: int = Field(400, ge=1, le=3650)
    housekeeping_interval_seconds: float = Field(600, gt=0, le=86400)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AuthSettings:
        if self.password_min_length > self.password_max_length:
            raise ValueError("AUTH_PASSWORD_MIN_LENGTH exceeds AUTH_PASSWORD_MAX_LENGTH")
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("argon2 needs at least 8 KiB of memory per lane")
        if self.refresh_token_idle_days > self.session_max_days:
            raise ValueError("AUTH_REFRESH_TOKEN_IDLE_DAYS exceeds AUTH_SESSION_MAX_DAYS")
        return self

    @property
    def hashing_threads(self) -> int:
        return self.hash_threads or available_cores()


def load_auth_settings() -> AuthSettings:
    """Read AUTH_* variables; a bad one raises ConfigurationError naming it."""
    from pydantic import ValidationError

    from shared.settings import ConfigurationError

    try:
        return AuthSettings()
    except ValidationError as exc:
        reasons = "; ".join(
            f"AUTH_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid auth configuration: {reasons}") from None
