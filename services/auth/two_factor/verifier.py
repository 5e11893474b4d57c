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
from services.auth.platform import audit
from services.auth.platform.config import AuthSettings
from services.auth.platform.crypto import Sealer
from services.auth.platform.sql import Connection
from services.auth.two_factor import recovery_codes, repository, totp
from services.auth.two_factor.errors import TwoFactorStateConflict
from services.auth.two_factor.repository import TwoFactorRow

TOTP_SEALING_PURPOSE = "totp-secret"


@dataclass(frozen=True)
class TwoFactorPolicy:
    issuer: str
    mfa_token_lifetime: timedelta
    failures_per_token: int
    failures_per_user: int
    failure_window: timedelta

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> TwoFactorPolicy:
        return cls(
            issuer=auth.totp_issuer,
            mfa_token_lifetime=timedelta(seconds=auth.mfa_token_seconds),
            failures_per_token=auth.mfa_max_failures_per_token,
            failures_per_user=auth.code_failures_per_user,
            failure_window=timedelta(seconds=auth.code_failure_window_seconds),
        )


@dataclass(frozen=True)
class CodeCheck:
    accepted: bool
    method: Literal["totp", "recovery_code"] | None = None
    replayed: bool = False
    throttled_for: timedelta | None = None


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
        if step is not None and await repository.advance_last_step(conn, row.user_id, step):
            await repository.set_code_failures(conn, row.user_id, 0, None)
            return CodeCheck(True, "totp")
        if recovery and recovery_codes.looks_like_recovery_code(code):
            digest = recovery_codes.digest(code)
            if await repository.use_recovery_code(conn, row.user_id, digest, now):
                await repository.set_code_failures(conn, row.user_id, 0, None)
                return CodeCheck(True, "recovery_code")
        replayed = step is None and totp.matching_step(secret, code, now) is not None
        await repository.set_code_failures(conn, row.user_id, failures + 1, since or now)
        return CodeCheck(False, replayed=replayed)


async def audit_code_failure(
    conn: Connection,
    user: User,
    client: ClientInfo,
    check: CodeCheck,
    now: datetime,
    *,
    failed_attempts: int | None = None,
) -> None:
    """The audit entry of a refused code: throttled, replayed or wrong."""
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
