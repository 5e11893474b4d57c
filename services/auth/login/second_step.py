"""The second login step: the mfa challenge of the password step, the code check that starts
the session, and its bookkeeping: the challenge's own count of wrong codes (a run of
them kills it), the audit trail and the security notifications (a recovery code used, a run of
wrong codes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.auth.accounts import repository as accounts_repository
from services.auth.domain import ClientInfo, User
from services.auth.login import repository
from services.auth.login.devices import Devices
from services.auth.login.new_sign_in import alert_unless_known_device
from services.auth.login.repository import MfaChallenge as StoredChallenge
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.sessions.sessions import Sessions, StartedSession
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.verifier import (
    CodeCheck,
    CodeVerifier,
    TwoFactorPolicy,
    audit_code_failure,
    report_suspicious_codes,
)
from shared.events.user_events import UserRecoveryCodeUsed


@dataclass(frozen=True)
class MfaChallenge:
    """The answer of the password step when 2FA is on."""

    mfa_token: str
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {"mfa_required": True, "mfa_token": self.mfa_token, "expires_in": self.expires_in}


def mfa_token_digest(token: str) -> bytes:
    """SHA-256 is enough: the token is random, so there is nothing to brute-force slowly."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class StartedWithDevice:
    """A session stored in the caller's transaction and the device token for the answer."""

    session: StartedSession
    device: str


@dataclass(frozen=True)
class SecondStepAttempt:
    """`POST /v1/auth/login/2fa` as the use case received it."""

    digest: bytes
    code: str
    client: ClientInfo
    now: datetime
    device_token: str | None


OTP_AMR = ("pwd", "otp")
"""Access tokens after the second step (TOTP code or recovery code alike; the audit trail
tells which was used)."""


async def check_second_step(
    conn: Connection,
    attempt: SecondStepAttempt,
    *,
    policy: TwoFactorPolicy,
    verifier: CodeVerifier,
    sessions: Sessions,
    devices: Devices,
) -> StartedWithDevice | CodeCheck | None:
    """The session when the code is accepted; the refused check, or None for a dead
    mfa_token (both answered alike, except a throttled user)."""
    digest, code, client, now = attempt.digest, attempt.code, attempt.client, attempt.now
    live = await live_second_step(conn, digest, now, failures_per_token=policy.failures_per_token)
    if live is None:
        return None
    user, row, challenge = live.user, live.row, live.challenge
    check = await verifier.check(conn, row, code, now, recovery=True)
    await record_second_step(
        conn,
        user=user,
        challenge=challenge,
        check=check,
        client=client,
        now=now,
        failures_per_token=policy.failures_per_token,
    )
    if not check.accepted:
        return check
    return await start_with_device(
        conn,
        user,
        OTP_AMR,
        client,
        now,
        device_token=attempt.device_token,
        sessions=sessions,
        devices=devices,
    )


@dataclass(frozen=True)
class LiveSecondStep:
    """A half-done login that can still finish, with its rows locked."""

    user: User
    row: two_factor_repository.TwoFactorRow
    challenge: StoredChallenge


async def live_second_step(
    conn: Connection, digest: bytes, now: datetime, *, failures_per_token: int
) -> LiveSecondStep | None:
    """The user, their locked two_factor row and the locked mfa challenge, while the half-done
    login can still finish (whatever the second factor); None for a dead mfa_token."""
    user_id = await repository.challenge_user_id(conn, digest)
    if user_id is None:
        return None
    # Lock order: the user's two_factor row, then the challenge (as deactivation does).
    row = await two_factor_repository.lock_two_factor(conn, user_id, now)
    challenge = await repository.lock_challenge(conn, digest)
    user = await accounts_repository.get_user(conn, user_id)
    if (
        challenge is None
        or challenge.consumed_at is not None
        or challenge.expires_at <= now
        or challenge.failed_attempts >= failures_per_token
        or user is None
        or not user.active
        or not row.enabled
    ):
        return None
    return LiveSecondStep(user, row, challenge)


async def start_with_device(
    conn: Connection,
    user: User,
    amr: tuple[str, ...],
    client: ClientInfo,
    now: datetime,
    *,
    device_token: str | None,
    sessions: Sessions,
    devices: Devices,
) -> StartedWithDevice:
    """Start the session of a finished second step, alert on a sign-in from an unknown device
    and remember the device (a new device token when the old one is not valid)."""
    session = await sessions.start(conn, user, amr, client, now)
    valid = await devices.is_valid(conn, user.id, device_token, now)
    await alert_unless_known_device(conn, user, session.session_id, client, now, known_device=valid)
    device = await devices.remember(conn, user.id, device_token, valid, now)
    return StartedWithDevice(session, device)


async def record_second_step(
    conn: Connection,
    *,
    user: User,
    challenge: StoredChallenge,
    check: CodeCheck,
    client: ClientInfo,
    now: datetime,
    failures_per_token: int,
) -> None:
    """Consume the challenge on success (or once the user is throttled), count a wrong code
    against it otherwise."""
    if check.accepted:
        await repository.update_challenge(
            conn, challenge.token_hash, challenge.failed_attempts, now
        )
        if check.method == "recovery_code":
            left = await two_factor_repository.unused_recovery_codes(conn, user.id)
            await audit.record(
                conn, "recovery_code_used", now, user=user, client=client, codes_left=left
            )
            await events.publish_user_event(conn, user, UserRecoveryCodeUsed(remaining=left), now)
        return
    if check.throttled_for is not None:
        # A locked second step discards the half-done login.
        await repository.update_challenge(
            conn, challenge.token_hash, challenge.failed_attempts, now
        )
        await audit_code_failure(conn, user, client, check, now)
        return
    failed = challenge.failed_attempts + 1
    dead = failed >= failures_per_token
    await repository.update_challenge(conn, challenge.token_hash, failed, now if dead else None)
    await audit_code_failure(conn, user, client, check, now, failed_attempts=failed)
    if dead:
        # A run of wrong codes after a correct password: the password may be known.
        await report_suspicious_codes(conn, user, client, failed, now)
