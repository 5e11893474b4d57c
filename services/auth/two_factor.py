"""Use cases of two-factor authentication: confirming a mobile number by SMS, enrolling a TOTP
app, activating, the second login step, recovery codes and deactivation.

Every route that checks an authenticator code goes through `CodeVerifier.check`, called with
the user's `two_factor` row locked: parallel guesses on one user are evaluated one after the
other, each seeing the failures counted before it. A code is matched to its time step and the
last accepted step only moves forward (atomic UPDATE), so no code is accepted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from services.auth import (
    audit,
    events,
    outbox,
    phone_verification,
    recovery_codes,
    repository,
    totp,
)
from services.auth import two_factor_repository as store
from services.auth.accounts import require_live_user
from shared.clock import Clock
from services.auth.config import AuthSettings
from services.auth.crypto import Sealer, derive_key
from services.auth.domain import ClientInfo, Principal, User
from services.auth.errors import TooManyAttempts
from services.auth.keys import SEALING_PURPOSE as SIGNING_KEYS_PURPOSE
from services.auth.passwords import Passwords
from services.auth.repository import Connection
from services.auth.sessions import PASSWORD_AMR, Sessions, TokenPair
from services.auth.sms import sms_requested
from services.auth.two_factor_errors import (
    InvalidCode,
    InvalidSecondFactor,
    TwoFactorStateConflict,
)
from services.auth.two_factor_repository import TwoFactorRow
from shared.events.user_events import (
    UserSuspiciousCodes,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
)
from shared.logging import get_logger
from shared.topics import SMS_REQUESTED_TOPIC

log = get_logger(__name__)

TOTP_SEALING_PURPOSE = "totp-secret"
SMS_CODE_KEY_PURPOSE = "sms-code"
SMS_CODE_MAX_ATTEMPTS = 5
OTP_AMR = ("pwd", "otp")
"""Access tokens after the second step (TOTP code or recovery code alike; the audit trail
tells which was used)."""


@dataclass(frozen=True)
class TwoFactorPolicy:
    issuer: str
    mfa_token_lifetime: timedelta
    failures_per_token: int
    failures_per_user: int
    failure_window: timedelta
    resend_cooldown: timedelta
    hourly_cap_per_user: int
    hourly_cap_per_number: int

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> TwoFactorPolicy:
        return cls(
            issuer=auth.totp_issuer,
            mfa_token_lifetime=timedelta(seconds=auth.mfa_token_seconds),
            failures_per_token=auth.mfa_max_failures_per_token,
            failures_per_user=auth.code_failures_per_user,
            failure_window=timedelta(seconds=auth.code_failure_window_seconds),
            resend_cooldown=timedelta(seconds=auth.sms_resend_cooldown_seconds),
            hourly_cap_per_user=auth.sms_hourly_cap_per_user,
            hourly_cap_per_number=auth.sms_hourly_cap_per_number,
        )


@dataclass(frozen=True)
class MfaChallenge:
    """The answer of the password step when 2FA is on."""

    mfa_token: str
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {"mfa_required": True, "mfa_token": self.mfa_token, "expires_in": self.expires_in}


@dataclass(frozen=True)
class CodeCheck:
    accepted: bool
    method: Literal["totp", "recovery_code"] | None = None
    replayed: bool = False
    throttled_for: timedelta | None = None


def mfa_token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class CodeVerifier:
    """The one place where an authenticator (or recovery) code is checked."""

    def __init__(self, sealer: Sealer, policy: TwoFactorPolicy) -> None:
        self._sealer = sealer
        self._policy = policy

    def seal(self, user_id: uuid.UUID, secret: str) -> bytes:
        return self._sealer.seal(secret.encode(), user_id.bytes)

    def secret_of(self, row: TwoFactorRow) -> str:
        if row.sealed_secret is None:
            raise TwoFactorStateConflict("There is no authenticator app to check a code against.")
        return self._sealer.unseal(row.sealed_secret, row.user_id.bytes).decode()

    async def check(
        self, conn: Connection, row: TwoFactorRow, code: str, now: datetime, *, recovery: bool
    ) -> CodeCheck:
        """Check a code for the user whose row is locked by the caller's transaction. Counts a
        failure against the per-user cap (across mfa_tokens and routes); refuses to evaluate
        anything once the cap is reached."""
        failures, since = row.code_failures, row.code_failures_since
        if since is not None and now - since >= self._policy.failure_window:
            failures, since = 0, None
        if failures >= self._policy.failures_per_user and since is not None:
            return CodeCheck(False, throttled_for=since + self._policy.failure_window - now)
        secret = self.secret_of(row)
        step = totp.matching_step(secret, code, now, after_step=row.last_step)
        if step is not None and await store.advance_last_step(conn, row.user_id, step):
            await store.set_code_failures(conn, row.user_id, 0, None)
            return CodeCheck(True, "totp")
        if recovery and recovery_codes.looks_like_recovery_code(code):
            digest = recovery_codes.digest(code)
            if await store.use_recovery_code(conn, row.user_id, digest, now):
                await store.set_code_failures(conn, row.user_id, 0, None)
                return CodeCheck(True, "recovery_code")
        replayed = step is None and totp.matching_step(secret, code, now) is not None
        await store.set_code_failures(conn, row.user_id, failures + 1, since or now)
        return CodeCheck(False, replayed=replayed)


class TwoFactor:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        clock: Clock,
        *,
        secret_key: str,
        policy: TwoFactorPolicy,
        sessions: Sessions,
        passwords: Passwords,
        log_sms: bool,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._policy = policy
        self._sessions = sessions
        self._passwords = passwords
        self._sms_key = derive_key(secret_key, SMS_CODE_KEY_PURPOSE)
        self.verifier = CodeVerifier(Sealer(secret_key, TOTP_SEALING_PURPOSE), policy)
        self._log_sms = log_sms

    # Phone number

    async def request_phone_code(
        self, principal: Principal, raw_number: str, client: ClientInfo
    ) -> None:
        """Send a 6-digit code by SMS (through the outbox) to confirm a mobile number."""
        phone = phone_verification.parse_mobile_number(raw_number)
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            user = await require_live_user(conn, principal, self._clock)
            row = await store.lock_two_factor(conn, user.id, now)
            if row.enabled:
                raise TwoFactorStateConflict(
                    "Two-factor authentication is on: deactivate it before changing the number."
                )
            wait = await self._sms_wait(conn, user, phone, now)
            if wait is not None:
                raise TooManyAttempts(
                    wait.total_seconds(), "Too many security codes were requested."
                )
            code = phone_verification.new_code()
            digest = phone_verification.code_digest(self._sms_key, str(user.id), phone, code)
            expires = now + timedelta(minutes=phone_verification.CODE_VALID_MINUTES)
            await store.insert_verification(
                conn,
                user_id=user.id,
                phone_number=phone,
                digest=digest,
                now=now,
                expires_at=expires,
            )
            text = phone_verification.sms_text(user.language, code)
            payload = sms_requested(
                organization_id=user.organization_id,
                user_id=user.id,
                phone_number=phone,
                language=user.language,
                text=text,
                now=now,
            )
            await outbox.enqueue(conn, SMS_REQUESTED_TOPIC, str(user.organization_id), payload, now)
            await audit.record(conn, "phone_code_sent", now, user=user, client=client)
        if self._log_sms:
            # Development only (never in production): `clochette dev` shows the SMS here.
            log.info("sms_requested", phone=phone, text=text)

    async def _sms_wait(
        self, conn: Connection, user: User, phone: str, now: datetime
    ) -> timedelta | None:
        last = await store.last_verification_sent(conn, user.id)
        cooldown = self._policy.resend_cooldown
        if last is not None and now - last < cooldown:
            return last + cooldown - now
        hour_ago = now - timedelta(hours=1)
        for count, oldest, cap in (
            (
                *await store.verifications_since(conn, hour_ago, user_id=user.id),
                self._policy.hourly_cap_per_user,
            ),
            (
                *await store.verifications_since(conn, hour_ago, phone=phone),
                self._policy.hourly_cap_per_number,
            ),
        ):
            if count >= cap and oldest is not None:
                return oldest + timedelta(hours=1) - now
        return None

    async def verify_phone(
        self, principal: Principal, code: str, client: ClientInfo
    ) -> totp.Enrollment:
        """Confirm the number with the SMS code; a TOTP secret is created, pending until a
        code from the app activates it."""
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            user = await require_live_user(conn, principal, self._clock)
            row = await store.lock_two_factor(conn, user.id, now)
            if row.enabled:
                raise TwoFactorStateConflict("Two-factor authentication is already on.")
            pending = await store.lock_open_verification(conn, user.id)
            enrollment = None
            if (
                pending is not None
                and pending.expires_at > now
                and pending.attempts < SMS_CODE_MAX_ATTEMPTS
            ):
                expected = phone_verification.code_digest(
                    self._sms_key, str(user.id), pending.phone_number, code.strip()
                )
                if hmac.compare_digest(expected, pending.code_digest):
                    await store.update_verification(conn, pending.id, pending.attempts, now)
                    enrollment = totp.enrollment(user.email, self._policy.issuer)
                    sealed = self.verifier.seal(user.id, enrollment.secret)
                    await store.confirm_phone_and_set_pending_secret(
                        conn, user.id, pending.phone_number, sealed, now
                    )
                    await audit.record(conn, "phone_confirmed", now, user=user, client=client)
                else:
                    await store.update_verification(conn, pending.id, pending.attempts + 1, None)
            if enrollment is None:
                await audit.record(
                    conn,
                    "phone_code_refused",
                    now,
                    user=user,
                    client=client,
                    attempts=pending.attempts + 1 if pending else 0,
                )
        if enrollment is None:
            raise InvalidCode()
        return enrollment

    # Activation

    async def activate(self, principal: Principal, code: str, client: ClientInfo) -> list[str]:
        """A code from the app confirms the pending secret: 2FA is on; returns the recovery
        codes, shown this once."""
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            user = await require_live_user(conn, principal, self._clock)
            row = await store.lock_two_factor(conn, user.id, now)
            if row.secret_state != store.PENDING:
                raise TwoFactorStateConflict(
                    "Two-factor authentication is already on."
                    if row.enabled
                    else "Confirm your mobile number first."
                )
            check = await self.verifier.check(conn, row, code, now, recovery=False)
            codes: list[str] | None = None
            if check.accepted:
                await store.activate(conn, user.id, now)
                codes = recovery_codes.new_codes()
                await store.replace_recovery_codes(
                    conn, user.id, [recovery_codes.digest(c) for c in codes], now
                )
                await events.publish_user_event(conn, user, UserTwoFactorEnabled(), now)
                await audit.record(conn, "two_factor_enabled", now, user=user, client=client)
            else:
                await self._audit_failure(conn, user, client, check, now)
        if check.throttled_for is not None:
            raise TooManyAttempts(check.throttled_for.total_seconds())
        if codes is None:
            raise InvalidCode()
        return codes

    # Login

    async def login(
        self, email: str, password: str, client: ClientInfo
    ) -> TokenPair | MfaChallenge:
        """The password step: tokens, or — with 2FA on — a short-lived single-use mfa_token."""
        user = await self._sessions.check_password(email, password, client)
        now = self._clock.now()
        async with self._pool.acquire() as conn:
            state = await store.get_two_factor(conn, user.id)
            if state is None or not state.enabled:
                challenge = None
            else:
                token = secrets.token_urlsafe(32)
                expires = now + self._policy.mfa_token_lifetime
                await store.insert_challenge(conn, mfa_token_digest(token), user.id, now, expires)
                challenge = MfaChallenge(
                    token, round(self._policy.mfa_token_lifetime.total_seconds())
                )
        if challenge is not None:
            return challenge
        return await self._sessions.start_session(user, PASSWORD_AMR, client)

    async def complete_login(self, mfa_token: str, code: str, client: ClientInfo) -> TokenPair:
        """The second step: a TOTP code or one recovery code for the mfa_token."""
        digest = mfa_token_digest(mfa_token)
        now = self._clock.now()
        user: User | None = None
        check: CodeCheck | None = None
        async with self._pool.acquire() as conn:
            # Lock order: the user's two_factor row, then the challenge (as deactivation does).
            user_id = await conn.fetchval(
                "SELECT user_id FROM mfa_challenges WHERE token_hash = $1", digest
            )
            if user_id is None:
                raise InvalidSecondFactor()
            async with conn.transaction():
                row = await store.lock_two_factor(conn, user_id, now)
                challenge = await store.lock_challenge(conn, digest)
                user = await repository.get_user(conn, user_id)
                if (
                    challenge is None
                    or challenge.consumed_at is not None
                    or challenge.expires_at <= now
                    or challenge.failed_attempts >= self._policy.failures_per_token
                    or user is None
                    or not user.active
                    or not row.enabled
                ):
                    check = None
                else:
                    check = await self.verifier.check(conn, row, code, now, recovery=True)
                    await self._after_second_step(
                        conn, user=user, challenge=challenge, check=check, client=client, now=now
                    )
        if check is None or user is None:
            raise InvalidSecondFactor()
        if check.throttled_for is not None:
            raise TooManyAttempts(check.throttled_for.total_seconds())
        if not check.accepted:
            raise InvalidSecondFactor()
        return await self._sessions.start_session(user, OTP_AMR, client)

    async def _after_second_step(
        self,
        conn: Connection,
        *,
        user: User,
        challenge: store.MfaChallenge,
        check: CodeCheck,
        client: ClientInfo,
        now: datetime,
    ) -> None:
        if check.accepted:
            await store.update_challenge(conn, challenge.token_hash, challenge.failed_attempts, now)
            if check.method == "recovery_code":
                left = await store.unused_recovery_codes(conn, user.id)
                await audit.record(
                    conn, "recovery_code_used", now, user=user, client=client, codes_left=left
                )
            return
        if check.throttled_for is not None:
            # A locked second step discards the half-done login.
            await store.update_challenge(conn, challenge.token_hash, challenge.failed_attempts, now)
            await self._audit_failure(conn, user, client, check, now)
            return
        failed = challenge.failed_attempts + 1
        dead = failed >= self._policy.failures_per_token
        await store.update_challenge(conn, challenge.token_hash, failed, now if dead else None)
        await self._audit_failure(conn, user, client, check, now, failed_attempts=failed)
        if dead:
            # A run of wrong codes after a correct password: the password may be known.
            await audit.record(
                conn,
                "two_factor_suspicious_codes",
                now,
                user=user,
                client=client,
                failed_attempts=failed,
            )
            await events.publish_user_event(
                conn, user, UserSuspiciousCodes(failed_attempts=failed), now
            )

    async def _audit_failure(
        self,
        conn: Connection,
        user: User,
        client: ClientInfo,
        check: CodeCheck,
        now: datetime,
        *,
        failed_attempts: int | None = None,
    ) -> None:
        if check.throttled_for is not None:
            await audit.record(
                conn,
                "two_factor_throttled",
                now,
                user=user,
                client=client,
                retry_after_seconds=round(check.throttled_for.total_seconds()),
            )
            return
        event: audit.AuditEvent = (
            "two_factor_code_replayed" if check.replayed else "two_factor_code_failed"
        )
        await audit.record(
            conn, event, now, user=user, client=client, failed_attempts=failed_attempts
        )

    # Recovery codes and deactivation

    async def regenerate_recovery_codes(
        self, principal: Principal, password: str, client: ClientInfo
    ) -> list[str]:
        """Ten new recovery codes (the old ones stop working); needs the password."""
        async with self._pool.acquire() as conn:
            user = await require_live_user(conn, principal, self._clock)
        await self._passwords.confirm(user, password, client, "two_factor_password_refused")
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await store.lock_two_factor(conn, user.id, now)
            if not row.enabled:
                raise TwoFactorStateConflict("Two-factor authentication is not on.")
            codes = recovery_codes.new_codes()
            await store.replace_recovery_codes(
                conn, user.id, [recovery_codes.digest(c) for c in codes], now
            )
            await audit.record(conn, "recovery_codes_regenerated", now, user=user, client=client)
        return codes

    async def deactivate(self, principal: Principal, password: str, client: ClientInfo) -> None:
        """Back to password-only login: needs the password; removes the secret, the confirmed
        number and the recovery codes, and ends every other session of the user."""
        async with self._pool.acquire() as conn:
            user = await require_live_user(conn, principal, self._clock)
        await self._passwords.confirm(user, password, client, "two_factor_password_refused")
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await store.lock_two_factor(conn, user.id, now)
            was_enabled = row.enabled
            await store.remove_two_factor(conn, user.id)
            ended = await repository.revoke_sessions_of_user(
                conn, user.id, "two_factor_disabled", now, keep=principal.session_id
            )
            if was_enabled:
                await events.publish_user_event(conn, user, UserTwoFactorDisabled(), now)
            await audit.record(
                conn,
                "two_factor_disabled",
                now,
                user=user,
                client=client,
                was_enabled=was_enabled,
                other_sessions_revoked=ended,
            )


async def reencrypt_secrets(conn: Connection, old_key: str, new_key: str) -> dict[str, int]:
    """Re-seal every TOTP secret and every signing key's private half from the old
    CLOCHETTE_SECRET_KEY to the new one, in the caller's transaction; returns how many of
    each. Raises CannotUnseal (and changes nothing, once the transaction rolls back) when a
    value does not open under the old key."""
    counts = {"totp_secrets": 0, "signing_keys": 0}
    old = Sealer(old_key, TOTP_SEALING_PURPOSE)
    new = Sealer(new_key, TOTP_SEALING_PURPOSE)
    for user_id, sealed in await store.sealed_secrets(conn):
        secret = old.unseal(sealed, user_id.bytes)
        await store.replace_sealed_secret(conn, user_id, new.seal(secret, user_id.bytes))
        counts["totp_secrets"] += 1
    old_keys = Sealer(old_key, SIGNING_KEYS_PURPOSE)
    new_keys = Sealer(new_key, SIGNING_KEYS_PURPOSE)
    for kid, sealed in await repository.lock_sealed_private_keys(conn):
        raw = old_keys.unseal(sealed, kid.encode())
        await repository.replace_sealed_private_key(conn, kid, new_keys.seal(raw, kid.encode()))
        counts["signing_keys"] += 1
    return counts
