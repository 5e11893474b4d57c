"""The one place where an authenticator (or recovery) code is checked, and how a refused code is
audited.

`CodeVerifier.check` is called with the user's `two_factor` row locked: parallel guesses on one
user are evaluated one after the other, each seeing the failures counted before it. A code is
matched to its time step and the last accepted step only moves forward (atomic UPDATE), so no
code is accepted twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.auth.domain import ClientInfo, User
from services.auth.platform import audit, events
from services.auth.platform.config import AuthSettings
from services.auth.platform.crypto import Sealer
from services.auth.platform.sql import Connection
from services.auth.two_factor import recovery_codes, repository, totp
from services.auth.two_factor.errors import TwoFactorStateConflict
from services.auth.two_factor.repository import TwoFactorRow
from shared.events.user_events import UserSuspiciousCodes

TOTP_SEALING_PURPOSE = "totp-secret"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class TwoFactorPolicy:
    issuer: str
    mfa_token_lifetime: timedelta
    failures_per_token: int
    failures_per_user: int
    failure_window: timedelta
    failures_per_day: int

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> TwoFactorPolicy:
        return cls(
            issuer=auth.totp_issuer,
            mfa_token_lifetime=timedelta(seconds=auth.mfa_token_seconds),
            failures_per_token=auth.mfa_max_failures_per_token,
            failures_per_user=auth.code_failures_per_user,
            failure_window=timedelta(seconds=auth.code_failure_window_seconds),
            failures_per_day=auth.code_failures_per_day,
        )


@dataclass(frozen=True)
class CodeCheck:
    accepted: bool
    method: Literal["totp", "recovery_code"] | None = None
    replayed: bool = False
    throttled_for: timedelta | None = None
    daily_cap_reached_at: int | None = None
    """The wrong codes of the day, when this one reached the daily cap (told to the user)."""


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
        self,
        conn: Connection,
        row: TwoFactorRow,
        code: str,
        now: datetime,
        *,
        recovery: bool,
        activating: bool = False,
    ) -> CodeCheck:
        """Check a code for the user whose row is locked by the caller's transaction. Counts a
        failure against the per-user caps (across mfa_tokens and routes); refuses to evaluate
        anything while the user is locked out."""
        if row.code_blocked_until is not None and row.code_blocked_until > now:
            return CodeCheck(False, throttled_for=row.code_blocked_until - now)
        failures, since = row.code_failures, row.code_failures_since
        if since is not None and now - since >= self._policy.failure_window:
            failures, since = 0, None
        if failures >= self._policy.failures_per_user and since is not None:
            return CodeCheck(False, throttled_for=since + self._policy.failure_window - now)
        # A pending secret counts only for its activation: a user with passkeys and no active
        # authenticator app has only recovery codes to type.
        secret = self.secret_of(row) if row.totp_enabled or activating else None
        step = (
            totp.matching_step(secret, code, now, after_step=row.last_step)
            if secret is not None
            else None
        )
        if step is not None and await repository.advance_last_step(conn, row.user_id, step):
            await repository.set_code_failures(conn, row.user_id, 0, None)
            return CodeCheck(True, "totp")
        if recovery and recovery_codes.looks_like_recovery_code(code):
            digest = recovery_codes.digest(code)
            if await repository.use_recovery_code(conn, row.user_id, digest, now):
                await repository.set_code_failures(conn, row.user_id, 0, None)
                return CodeCheck(True, "recovery_code")
        replayed = (
            secret is not None
            and step is None
            and totp.matching_step(secret, code, now) is not None
        )
        failures_today = await self._count_failure(conn, row, failures + 1, since or now, now)
        reached = failures_today if failures_today == self._policy.failures_per_day else None
        return CodeCheck(False, replayed=replayed, daily_cap_reached_at=reached)

    async def _count_failure(
        self, conn: Connection, row: TwoFactorRow, failures: int, since: datetime, now: datetime
    ) -> int:
        """Count a wrong code in the window and in the day; lock the user out at a cap: until
        the day is over at the daily cap, else at the window cap for the window times 2^(n-1),
        n the window caps reached today (15 min, 30 min, 1 h, …). Returns the day's count."""
        today, day_since = row.code_failures_today, row.code_failures_today_since
        if day_since is None or now - day_since >= DAY:
            today, day_since = 0, now
        today += 1
        day_end = day_since + DAY
        blocked_until = None
        if today >= self._policy.failures_per_day:
            blocked_until = day_end
        elif failures >= self._policy.failures_per_user:
            caps_today = max(1, today // self._policy.failures_per_user)
            escalated = since + self._policy.failure_window * 2 ** min(caps_today - 1, 16)
            blocked_until = min(escalated, day_end)
        await repository.record_code_failure(
            conn,
            row.user_id,
            failures=failures,
            since=since,
            failures_today=today,
            today_since=day_since,
            blocked_until=blocked_until,
        )
        return today


async def audit_code_failure(
    conn: Connection,
    user: User,
    client: ClientInfo,
    check: CodeCheck,
    now: datetime,
    *,
    failed_attempts: int | None = None,
) -> None:
    """The audit entry of a refused code: throttled, replayed or wrong; at the daily cap also
    the security notification (the password is probably known to someone else)."""
    if check.daily_cap_reached_at is not None:
        await report_suspicious_codes(conn, user, client, check.daily_cap_reached_at, now)
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
    await audit.record(conn, event, now, user=user, client=client, failed_attempts=failed_attempts)


async def report_suspicious_codes(
    conn: Connection, user: User, client: ClientInfo, failed_attempts: int, now: datetime
) -> None:
    """Wrong second-factor codes after a right password: the password is probably known to
    someone else. The audit entry, and the security notification in the user's bell."""
    await audit.record(
        conn,
        "two_factor_suspicious_codes",
        now,
        user=user,
        client=client,
        failed_attempts=failed_attempts,
    )
    await events.publish_user_event(
        conn, user, UserSuspiciousCodes(failed_attempts=failed_attempts), now
    )
