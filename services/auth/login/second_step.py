"""The bookkeeping of a second login step: the challenge's own count of wrong codes (a run of
them kills it), the audit trail and the security notifications (a recovery code used, a run of
wrong codes)."""

from __future__ import annotations

from datetime import datetime

from services.auth.domain import ClientInfo, User
from services.auth.login import repository
from services.auth.login.repository import MfaChallenge
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.verifier import CodeCheck, audit_code_failure
from shared.events.user_events import UserRecoveryCodeUsed, UserSuspiciousCodes


async def record_second_step(
    conn: Connection,
    *,
    user: User,
    challenge: MfaChallenge,
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
