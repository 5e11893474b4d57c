"""SQL of two-factor authentication (migrations 0003 and 0005), returning dataclasses.

Functions take a connection, so the use case decides the transaction; timestamps come from the
caller's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.auth.platform.sql import Connection, row_count

PENDING = "pending"
ACTIVE = "active"


@dataclass
class TwoFactorRow:
    user_id: UUID
    phone_number: str | None
    phone_confirmed_at: datetime | None
    sealed_secret: bytes | None
    secret_state: str | None
    enabled_at: datetime | None
    last_step: int | None
    code_failures: int
    code_failures_since: datetime | None
    code_failures_today: int = 0
    code_failures_today_since: datetime | None = None
    code_blocked_until: datetime | None = None
    passkeys: int = 0

    @property
    def totp_enabled(self) -> bool:
        return self.secret_state == ACTIVE

    @property
    def enabled(self) -> bool:
        """2FA is on: an active authenticator app or at least one passkey (migration 0007)."""
        return self.totp_enabled or self.passkeys > 0


_TWO_FACTOR_COLUMNS = """user_id, phone_number, phone_confirmed_at, sealed_secret, secret_state,
    enabled_at, last_step, code_failures, code_failures_since, code_failures_today,
    code_failures_today_since, code_blocked_until, passkeys"""


async def get_two_factor(conn: Connection, user_id: UUID) -> TwoFactorRow | None:
    row = await conn.fetchrow(
        f"SELECT {_TWO_FACTOR_COLUMNS} FROM two_factor WHERE user_id = $1", user_id
    )
    return TwoFactorRow(**dict(row)) if row else None


async def lock_two_factor(conn: Connection, user_id: UUID, now: datetime) -> TwoFactorRow:
    """The user's row, created when missing and locked: every code check and enrollment step of
    one user runs one after the other."""
    await conn.execute(
        "INSERT INTO two_factor (user_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        now,
    )
    row = await conn.fetchrow(
        f"SELECT {_TWO_FACTOR_COLUMNS} FROM two_factor WHERE user_id = $1 FOR UPDATE", user_id
    )
    if row is None:  # pragma: no cover - inserted just above, in the same transaction
        raise RuntimeError("two_factor row disappeared")
    return TwoFactorRow(**dict(row))


async def set_code_failures(
    conn: Connection, user_id: UUID, failures: int, since: datetime | None
) -> None:
    await conn.execute(
        """UPDATE two_factor SET code_failures = $2, code_failures_since = $3
           WHERE user_id = $1""",
        user_id,
        failures,
        since,
    )


async def record_code_failure(
    conn: Connection,
    user_id: UUID,
    *,
    failures: int,
    since: datetime,
    failures_today: int,
    today_since: datetime,
    blocked_until: datetime | None,
) -> None:
    """A wrong code counted in the window and in the day, and the lock-out it caused."""
    await conn.execute(
        """UPDATE two_factor
           SET code_failures = $2, code_failures_since = $3, code_failures_today = $4,
               code_failures_today_since = $5, code_blocked_until = $6
           WHERE user_id = $1""",
        user_id,
        failures,
        since,
        failures_today,
        today_since,
        blocked_until,
    )


async def advance_last_step(conn: Connection, user_id: UUID, step: int) -> bool:
    """Move the last accepted step forward to `step`; False when it already is there or past
    it (the code was used before): the atomic replay guard."""
    status = await conn.execute(
        """UPDATE two_factor SET last_step = $2
           WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)""",
        user_id,
        step,
    )
    return row_count(status) == 1


async def confirm_phone_and_set_pending_secret(
    conn: Connection, user_id: UUID, phone_number: str, sealed_secret: bytes, now: datetime
) -> None:
    await conn.execute(
        """UPDATE two_factor
           SET phone_number = $2, phone_confirmed_at = $4, sealed_secret = $3,
               secret_state = 'pending', enabled_at = NULL, last_step = NULL, updated_at = $4
           WHERE user_id = $1""",
        user_id,
        phone_number,
        sealed_secret,
        now,
    )


async def activate(conn: Connection, user_id: UUID, now: datetime) -> None:
    await conn.execute(
        """UPDATE two_factor SET secret_state = 'active', enabled_at = $2, updated_at = $2
           WHERE user_id = $1 AND secret_state = 'pending'""",
        user_id,
        now,
    )


async def remove_two_factor(conn: Connection, user_id: UUID) -> None:
    """Forget the secret, the confirmed number, the recovery codes, SMS codes and half-done
    logins of a user, and their passkeys."""
    await conn.execute("DELETE FROM webauthn_challenges WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM passkeys WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM phone_verifications WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM mfa_challenges WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM two_factor WHERE user_id = $1", user_id)


async def sealed_secrets(conn: Connection) -> list[tuple[UUID, bytes]]:
    """Every stored TOTP secret, locked (for re-encryption under a new key)."""
    rows = await conn.fetch(
        """SELECT user_id, sealed_secret FROM two_factor
           WHERE sealed_secret IS NOT NULL ORDER BY user_id FOR UPDATE"""
    )
    return [(r["user_id"], r["sealed_secret"]) for r in rows]


async def replace_sealed_secret(conn: Connection, user_id: UUID, sealed: bytes) -> None:
    await conn.execute(
        "UPDATE two_factor SET sealed_secret = $2 WHERE user_id = $1", user_id, sealed
    )


# Phone verification


@dataclass
class PhoneVerification:
    id: int
    user_id: UUID
    phone_number: str
    code_digest: bytes
    created_at: datetime
    expires_at: datetime
    attempts: int
    consumed_at: datetime | None


async def insert_verification(
    conn: Connection,
    *,
    user_id: UUID,
    phone_number: str,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A new code for the user; any earlier code of theirs stops counting."""
    await conn.execute(
        """UPDATE phone_verifications SET consumed_at = $2
           WHERE user_id = $1 AND consumed_at IS NULL""",
        user_id,
        now,
    )
    await conn.execute(
        """INSERT INTO phone_verifications (user_id, phone_number, code_digest, created_at,
                                            expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        user_id,
        phone_number,
        digest,
        now,
        expires_at,
    )


async def lock_open_verification(conn: Connection, user_id: UUID) -> PhoneVerification | None:
    row = await conn.fetchrow(
        """SELECT id, user_id, phone_number, code_digest, created_at, expires_at, attempts,
                  consumed_at
           FROM phone_verifications
           WHERE user_id = $1 AND consumed_at IS NULL
           ORDER BY created_at DESC, id DESC LIMIT 1
           FOR UPDATE""",
        user_id,
    )
    return PhoneVerification(**dict(row)) if row else None


async def update_verification(
    conn: Connection, verification_id: int, attempts: int, consumed_at: datetime | None
) -> None:
    await conn.execute(
        "UPDATE phone_verifications SET attempts = $2, consumed_at = $3 WHERE id = $1",
        verification_id,
        attempts,
        consumed_at,
    )


# Recovery codes


async def replace_recovery_codes(
    conn: Connection, user_id: UUID, digests: Sequence[bytes], now: datetime
) -> None:
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    await conn.executemany(
        "INSERT INTO recovery_codes (user_id, code_digest, created_at) VALUES ($1, $2, $3)",
        [(user_id, d, now) for d in digests],
    )


async def use_recovery_code(conn: Connection, user_id: UUID, digest: bytes, now: datetime) -> bool:
    """Spend an unused recovery code; False when it is unknown or already used."""
    status = await conn.execute(
        """UPDATE recovery_codes SET used_at = $3
           WHERE user_id = $1 AND code_digest = $2 AND used_at IS NULL""",
        user_id,
        digest,
        now,
    )
    return row_count(status) == 1


async def unused_recovery_codes(conn: Connection, user_id: UUID) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", user_id
    )
    return value


async def purge(conn: Connection, before: datetime) -> int:
    """Delete expired challenges and SMS codes older than the cutoff."""
    a = await conn.execute("DELETE FROM mfa_challenges WHERE expires_at < $1", before)
    b = await conn.execute("DELETE FROM phone_verifications WHERE created_at < $1", before)
    c = await conn.execute("DELETE FROM webauthn_challenges WHERE expires_at < $1", before)
    return row_count(a) + row_count(b) + row_count(c)
