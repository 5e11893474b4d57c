"""SQL of users and organisations, returning plain dataclasses.

Functions take a connection, so the use case decides the transaction. Timestamps come from the
caller's clock, never from now() in SQL.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from services.auth.domain import Organization, User, as_language, as_role
from services.auth.platform.sql import Connection, row_count

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
    return row_count(status) == 1


async def record_login(conn: Connection, user_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", user_id, now)


async def deactivate_user(conn: Connection, user_id: UUID, now: datetime) -> bool:
    status = await conn.execute(
        """UPDATE users SET active = false, deactivated_at = $2, updated_at = $2
           WHERE id = $1 AND active""",
        user_id,
        now,
    )
    return row_count(status) == 1
