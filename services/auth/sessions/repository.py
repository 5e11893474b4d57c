"""SQL of sessions, refresh tokens and signing keys, returning plain dataclasses.

Functions take a connection, so the use case decides the transaction; timestamps come from the
caller's clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.auth.domain import Session
from services.auth.platform.sql import Connection, row_count

_SIGNING_KEYS_LOCK = (
    int.from_bytes(hashlib.sha256(b"clochette:auth:signing-keys").digest()[:8], "big") >> 1
)


@dataclass(frozen=True)
class RefreshTokenState:
    """A presented refresh token, with its session, locked for the rest of the transaction."""

    session: Session
    token_expires_at: datetime
    used_at: datetime | None


async def insert_session(
    conn: Connection, session: Session, client_address: str | None, user_agent: str | None
) -> None:
    await conn.execute(
        """INSERT INTO sessions (id, user_id, amr, client_address, user_agent, created_at,
                                 last_used_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        session.id,
        session.user_id,
        list(session.amr),
        client_address,
        user_agent[:512] if user_agent else None,
        session.created_at,
        session.last_used_at,
        session.expires_at,
    )


async def insert_refresh_token(
    conn: Connection, digest: bytes, session_id: UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4)""",
        digest,
        session_id,
        now,
        expires_at,
    )


async def lock_refresh_token(conn: Connection, digest: bytes) -> RefreshTokenState | None:
    """The token and its session, both locked: concurrent uses of one family queue up."""
    row = await conn.fetchrow(
        """SELECT t.expires_at AS token_expires_at, t.used_at, s.id, s.user_id, s.amr,
                  s.created_at, s.last_used_at, s.expires_at, s.revoked_at
           FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
           WHERE t.token_hash = $1
           FOR UPDATE OF t, s""",
        digest,
    )
    if row is None:
        return None
    session = Session(
        id=row["id"],
        user_id=row["user_id"],
        amr=tuple(row["amr"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
    return RefreshTokenState(session, row["token_expires_at"], row["used_at"])


async def refresh_token_exists(conn: Connection, digest: bytes, session_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = $1 AND session_id = $2)",
        digest,
        session_id,
    )
    return found


async def mark_refresh_token_used(conn: Connection, digest: bytes, now: datetime) -> None:
    await conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", digest, now)


async def touch_session(conn: Connection, session_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE sessions SET last_used_at = $2 WHERE id = $1", session_id, now)


async def revoke_session(conn: Connection, session_id: UUID, reason: str, now: datetime) -> bool:
    status = await conn.execute(
        """UPDATE sessions SET revoked_at = $3, revoked_reason = $2
           WHERE id = $1 AND revoked_at IS NULL""",
        session_id,
        reason,
        now,
    )
    return row_count(status) == 1


async def revoke_sessions_of_user(
    conn: Connection, user_id: UUID, reason: str, now: datetime, *, keep: UUID | None = None
) -> int:
    """Revoke every live session of a user except `keep`; returns how many."""
    status = await conn.execute(
        """UPDATE sessions SET revoked_at = $3, revoked_reason = $2
           WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $4""",
        user_id,
        reason,
        now,
        keep,
    )
    return row_count(status)


@dataclass(frozen=True)
class KeyRow:
    kid: str
    public_key: bytes
    sealed_private_key: bytes | None
    created_at: datetime
    activates_at: datetime


async def lock_signing_keys(conn: Connection) -> None:
    """Serialise key creation across instances until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _SIGNING_KEYS_LOCK)


async def signing_keys(conn: Connection) -> list[KeyRow]:
    rows = await conn.fetch(
        """SELECT kid, public_key, sealed_private_key, created_at, activates_at
           FROM signing_keys ORDER BY activates_at"""
    )
    return [KeyRow(**dict(r)) for r in rows]


async def latest_key_activation(conn: Connection) -> datetime | None:
    value: datetime | None = await conn.fetchval("SELECT max(activates_at) FROM signing_keys")
    return value


async def insert_signing_key(conn: Connection, row: KeyRow) -> None:
    await conn.execute(
        """INSERT INTO signing_keys (kid, public_key, sealed_private_key, created_at, activates_at)
           VALUES ($1, $2, $3, $4, $5)""",
        row.kid,
        row.public_key,
        row.sealed_private_key,
        row.created_at,
        row.activates_at,
    )


async def wipe_superseded_private_keys(conn: Connection, superseded_before: datetime) -> int:
    """Forget the private half of keys superseded (by a key active) before the given time."""
    status = await conn.execute(
        """UPDATE signing_keys k SET sealed_private_key = NULL
           WHERE sealed_private_key IS NOT NULL
             AND EXISTS (SELECT 1 FROM signing_keys n
                         WHERE n.activates_at > k.activates_at
                           AND n.activates_at <= $1)""",
        superseded_before,
    )
    return row_count(status)


async def delete_unpublished_keys(conn: Connection, superseded_before: datetime) -> int:
    """Delete keys superseded before the given time (none of their tokens is still valid)."""
    status = await conn.execute(
        """DELETE FROM signing_keys k
           WHERE EXISTS (SELECT 1 FROM signing_keys n
                         WHERE n.activates_at > k.activates_at AND n.activates_at <= $1)
             AND k.activates_at < (SELECT max(activates_at) FROM signing_keys
                                   WHERE activates_at <= $1)""",
        superseded_before,
    )
    return row_count(status)


async def lock_sealed_private_keys(conn: Connection) -> list[tuple[str, bytes]]:
    """(kid, sealed private key) of every key that still has one, locked (re-encryption)."""
    rows = await conn.fetch(
        """SELECT kid, sealed_private_key FROM signing_keys
           WHERE sealed_private_key IS NOT NULL ORDER BY kid FOR UPDATE"""
    )
    return [(r["kid"], r["sealed_private_key"]) for r in rows]


async def replace_sealed_private_key(conn: Connection, kid: str, sealed: bytes) -> None:
    await conn.execute(
        "UPDATE signing_keys SET sealed_private_key = $2 WHERE kid = $1", kid, sealed
    )
