"""SQL of logging in: the throttle's counters, device tokens and the half-done logins waiting for
a second factor (mfa challenges).

Functions take a connection, so the use case decides the transaction; timestamps come from the
caller's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.auth.platform.sql import Connection, row_count


@dataclass
class ThrottleRow:
    scope: str
    key: str
    failures: int
    last_failure_at: datetime | None
    blocked_until: datetime | None
    audited_block_until: datetime | None


async def lock_throttle_rows(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> list[ThrottleRow]:
    """The counters of these (scope, key) pairs, created when missing and locked in a fixed
    order, so parallel attempts on one account or address are admitted one after the other."""
    scopes, names = [s for s, _ in keys], [k for _, k in keys]
    await conn.execute(
        """INSERT INTO login_throttle (scope, key)
           SELECT * FROM unnest($1::text[], $2::text[])
           ORDER BY 1, 2
           ON CONFLICT DO NOTHING""",
        scopes,
        names,
    )
    rows = await conn.fetch(
        """SELECT t.scope, t.key, t.failures, t.last_failure_at, t.blocked_until,
                  t.audited_block_until
           FROM login_throttle t
           JOIN unnest($1::text[], $2::text[]) AS k (scope, key)
             ON t.scope = k.scope AND t.key = k.key
           ORDER BY t.scope, t.key
           FOR UPDATE OF t""",
        scopes,
        names,
    )
    return [ThrottleRow(**dict(r)) for r in rows]


async def save_throttle_rows(conn: Connection, rows: Sequence[ThrottleRow]) -> None:
    await conn.executemany(
        """UPDATE login_throttle
           SET failures = $3, last_failure_at = $4, blocked_until = $5, audited_block_until = $6
           WHERE scope = $1 AND key = $2""",
        [
            (r.scope, r.key, r.failures, r.last_failure_at, r.blocked_until, r.audited_block_until)
            for r in rows
        ],
    )


@dataclass
class DeviceToken:
    """A device that logged in before, with its own failure counter."""

    token_hash: bytes
    user_id: UUID
    expires_at: datetime
    failures: int
    last_failure_at: datetime | None
    blocked_until: datetime | None


async def lock_device_token(
    conn: Connection, digest: bytes, user_id: UUID, now: datetime
) -> DeviceToken | None:
    """The device token if it is this user's and still valid, locked (parallel attempts from one
    device are admitted one after the other); None for another user's, an expired or an unknown
    token alike."""
    row = await conn.fetchrow(
        """SELECT token_hash, user_id, expires_at, failures, last_failure_at, blocked_until
           FROM device_tokens
           WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3
           FOR UPDATE""",
        digest,
        user_id,
        now,
    )
    return DeviceToken(**dict(row)) if row else None


async def save_device_counter(conn: Connection, device: DeviceToken) -> None:
    await conn.execute(
        """UPDATE device_tokens SET failures = $2, last_failure_at = $3, blocked_until = $4
           WHERE token_hash = $1""",
        device.token_hash,
        device.failures,
        device.last_failure_at,
        device.blocked_until,
    )


async def remember_device(
    conn: Connection, digest: bytes, user_id: UUID, now: datetime, expires_at: datetime
) -> None:
    """Store a new device token, or renew a valid one of the same user (used now, valid again
    for the full lifetime). A digest of another user's token is never taken over."""
    await conn.execute(
        """INSERT INTO device_tokens (token_hash, user_id, created_at, last_used_at, expires_at)
           VALUES ($1, $2, $3, $3, $4)
           ON CONFLICT (token_hash) DO UPDATE
               SET last_used_at = EXCLUDED.last_used_at, expires_at = EXCLUDED.expires_at
               WHERE device_tokens.user_id = EXCLUDED.user_id""",
        digest,
        user_id,
        now,
        expires_at,
    )


async def purge_device_tokens(conn: Connection, now: datetime) -> int:
    """Delete expired device tokens."""
    status = await conn.execute("DELETE FROM device_tokens WHERE expires_at < $1", now)
    return row_count(status)


@dataclass
class MfaChallenge:
    token_hash: bytes
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    failed_attempts: int
    consumed_at: datetime | None


async def challenge_user_id(conn: Connection, digest: bytes) -> UUID | None:
    """The user a challenge belongs to, read without a lock (the caller locks in order)."""
    user_id: UUID | None = await conn.fetchval(
        "SELECT user_id FROM mfa_challenges WHERE token_hash = $1", digest
    )
    return user_id


async def insert_challenge(
    conn: Connection, digest: bytes, user_id: UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4)""",
        digest,
        user_id,
        now,
        expires_at,
    )


async def lock_challenge(conn: Connection, digest: bytes) -> MfaChallenge | None:
    """The challenge, locked: parallel guesses on one token are evaluated one at a time."""
    row = await conn.fetchrow(
        """SELECT token_hash, user_id, created_at, expires_at, failed_attempts, consumed_at
           FROM mfa_challenges WHERE token_hash = $1 FOR UPDATE""",
        digest,
    )
    return MfaChallenge(**dict(row)) if row else None


async def update_challenge(
    conn: Connection, digest: bytes, failed_attempts: int, consumed_at: datetime | None
) -> None:
    await conn.execute(
        """UPDATE mfa_challenges SET failed_attempts = $2, consumed_at = $3
           WHERE token_hash = $1""",
        digest,
        failed_attempts,
        consumed_at,
    )
