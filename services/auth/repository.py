"""Every SQL statement of the auth service, returning plain dataclasses.

Functions take a connection, so the use case decides the transaction. Timestamps come from the
caller's clock, never from now() in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeAlias
from uuid import UUID

import asyncpg

from services.auth.domain import Organization, Session, User, as_language, as_role

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
else:
    Connection: TypeAlias = Any

OUTBOX_CHANNEL: Final = "auth_outbox"

_USER_SELECT = """
    SELECT u.id, u.organization_id, o.name AS organization_name, u.email, u.role, u.language,
           u.active, u.password_hash, u.password_score, u.password_changed_at, u.created_at,
           u.updated_at, u.last_login_at
    FROM users u JOIN organizations o ON o.id = u.organization_id
"""


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        organization_id=row["organization_id"],
        organization_name=row["organization_name"],
        email=row["email"],
        role=as_role(row["role"]),
        language=as_language(row["language"]),
        active=row["active"],
        password_hash=row["password_hash"],
        password_score=row["password_score"],
        password_changed_at=row["password_changed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_login_at=row["last_login_at"],
    )


def _organization(row: asyncpg.Record) -> Organization:
    return Organization(id=row["id"], name=row["name"], created_at=row["created_at"])


# Organisations


async def get_organization(conn: Connection, organization_id: UUID) -> Organization | None:
    row = await conn.fetchrow(
        "SELECT id, name, created_at FROM organizations WHERE id = $1", organization_id
    )
    return _organization(row) if row else None


async def get_or_create_organization(
    conn: Connection, new_id: UUID, name: str, now: datetime
) -> tuple[Organization, bool]:
    """The organisation with this name (case-insensitive), created when there is none."""
    row = await conn.fetchrow(
        """INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)
           ON CONFLICT ((lower(btrim(name)))) DO NOTHING
           RETURNING id, name, created_at""",
        new_id,
        name,
        now,
    )
    if row is not None:
        return _organization(row), True
    row = await conn.fetchrow(
        """SELECT id, name, created_at FROM organizations
           WHERE lower(btrim(name)) = lower(btrim($1))""",
        name,
    )
    if row is None:  # pragma: no cover - the conflicting row cannot vanish inside the statement
        raise RuntimeError("organisation disappeared")
    return _organization(row), False


# Users


async def find_user_by_email(conn: Connection, email: str) -> User | None:
    row = await conn.fetchrow(_USER_SELECT + " WHERE u.email = $1", email)
    return _user(row) if row else None


async def get_user(conn: Connection, user_id: UUID, *, for_update: bool = False) -> User | None:
    lock = " FOR UPDATE OF u" if for_update else ""
    row = await conn.fetchrow(_USER_SELECT + " WHERE u.id = $1" + lock, user_id)
    return _user(row) if row else None


async def user_in_live_session(
    conn: Connection, user_id: UUID, session_id: UUID, now: datetime, *, for_update: bool = False
) -> User | None:
    """The user, when active and the session is neither revoked nor expired."""
    lock = " FOR UPDATE OF u" if for_update else ""
    row = await conn.fetchrow(
        _USER_SELECT
        + """ JOIN sessions s ON s.id = $2 AND s.user_id = u.id
              WHERE u.id = $1 AND u.active AND s.revoked_at IS NULL AND s.expires_at > $3"""
        + lock,
        user_id,
        session_id,
        now,
    )
    return _user(row) if row else None


async def email_exists(conn: Connection, email: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)", email))


async def insert_user(
    conn: Connection,
    *,
    user_id: UUID,
    organization_id: UUID,
    email: str,
    role: str,
    language: str,
    password_hash: str,
    password_score: int,
    now: datetime,
) -> bool:
    """False when the e-mail address is taken."""
    inserted = await conn.fetchval(
        """INSERT INTO users (id, organization_id, email, role, language, password_hash,
                              password_score, password_changed_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)
           ON CONFLICT (email) DO NOTHING
           RETURNING true""",
        user_id,
        organization_id,
        email,
        role,
        language,
        password_hash,
        password_score,
        now,
    )
    return bool(inserted)


async def users_of_organization(conn: Connection, organization_id: UUID) -> list[User]:
    rows = await conn.fetch(
        _USER_SELECT + " WHERE u.organization_id = $1 ORDER BY u.email", organization_id
    )
    return [_user(r) for r in rows]


async def set_language(conn: Connection, user_id: UUID, language: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET language = $2, updated_at = $3 WHERE id = $1", user_id, language, now
    )


async def set_password(
    conn: Connection, user_id: UUID, password_hash: str, score: int, now: datetime
) -> None:
    await conn.execute(
        """UPDATE users SET password_hash = $2, password_score = $3, password_changed_at = $4,
                            updated_at = $4
           WHERE id = $1""",
        user_id,
        password_hash,
        score,
        now,
    )


async def replace_password_hash(
    conn: Connection, user_id: UUID, old_hash: str, new_hash: str
) -> bool:
    """Store a rehash of the same password, unless the password changed meanwhile."""
    status = await conn.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        user_id,
        old_hash,
        new_hash,
    )
    return status.endswith(" 1")


async def record_login(conn: Connection, user_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", user_id, now)


async def deactivate_user(conn: Connection, user_id: UUID, now: datetime) -> bool:
    status = await conn.execute(
        """UPDATE users SET active = false, deactivated_at = $2, updated_at = $2
           WHERE id = $1 AND active""",
        user_id,
        now,
    )
    return status.endswith(" 1")


# Sessions and refresh tokens


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
    return status.endswith(" 1")


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
    return _count(status)


# Login throttling


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


# Signing keys


@dataclass(frozen=True)
class KeyRow:
    kid: str
    public_key: bytes
    sealed_private_key: bytes | None
    created_at: datetime
    activates_at: datetime


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
    return _count(status)


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
    return _count(status)


# Outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str
    key: str
    payload: dict[str, Any]


async def insert_outbox(
    conn: Connection, topic: str, key: str, payload: dict[str, Any], now: datetime
) -> int:
    """Queue a record in the caller's transaction; the relay is woken when it commits."""
    outbox_id: int = await conn.fetchval(
        """INSERT INTO outbox (topic, key, payload, created_at) VALUES ($1, $2, $3, $4)
           RETURNING id""",
        topic,
        key,
        payload,
        now,
    )
    # NOTIFY is delivered at commit and dropped on rollback, like the row itself.
    await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return outbox_id


async def unpublished_outbox(conn: Connection, limit: int) -> list[OutboxRow]:
    rows = await conn.fetch(
        """SELECT id, topic, key, payload FROM outbox
           WHERE published_at IS NULL ORDER BY id LIMIT $1""",
        limit,
    )
    return [OutboxRow(r["id"], r["topic"], r["key"], r["payload"]) for r in rows]


async def mark_outbox_published(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET published_at = $2 WHERE id = ANY($1::bigint[])", list(ids), now
    )


# Audit trail


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    event: str
    user_id: UUID | None = None
    organization_id: UUID | None = None
    email: str | None = None
    client_address: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None


async def insert_audit(conn: Connection, entry: AuditEntry) -> None:
    await conn.execute(
        """INSERT INTO audit_log (occurred_at, event, user_id, organization_id, email,
                                  client_address, request_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        entry.occurred_at,
        entry.event,
        entry.user_id,
        entry.organization_id,
        entry.email,
        entry.client_address,
        entry.request_id,
        entry.details or {},
    )


async def audit_entries(
    conn: Connection, *, email: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    rows = await conn.fetch(
        """SELECT occurred_at, event, user_id, organization_id, email, client_address,
                  request_id, details
           FROM audit_log
           WHERE $1::text IS NULL OR email = $1
           ORDER BY occurred_at DESC, id DESC LIMIT $2""",
        email,
        limit,
    )
    return [AuditEntry(**dict(r)) for r in rows]


# Housekeeping


def _count(status: str) -> int:
    """The row count of a command status such as `UPDATE 3`."""
    return int(status.rsplit(" ", 1)[1])


async def purge(conn: Connection, now: datetime, cutoffs: dict[str, datetime]) -> dict[str, int]:
    """Delete what no rule needs any more; returns the number of rows per table."""
    outbox = await conn.execute("DELETE FROM outbox WHERE published_at < $1", cutoffs["outbox"])
    sessions = await conn.execute(
        "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1", cutoffs["sessions"]
    )
    throttle = await conn.execute(
        """DELETE FROM login_throttle
           WHERE (last_failure_at IS NULL OR last_failure_at < $1)
             AND (blocked_until IS NULL OR blocked_until < $2)""",
        cutoffs["login_throttle"],
        now,
    )
    audit = await conn.execute("DELETE FROM audit_log WHERE occurred_at < $1", cutoffs["audit_log"])
    return {
        "outbox": _count(outbox),
        "sessions": _count(sessions),
        "login_throttle": _count(throttle),
        "audit_log": _count(audit),
    }


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
