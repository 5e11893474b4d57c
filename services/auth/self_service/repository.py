"""SQL of the security self-service: the caller's active sessions, ending them, and the caller's
own audit entries. Every statement is scoped to one user id, given by the use case from the
verified access token, never from the request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.auth.platform.sql import Connection, row_count

ENDED_BY_USER = "ended_by_user"

# A session is active while it is neither revoked nor past its maximum age and its refresh
# token has not expired for lack of use (each refresh moves last_used_at and renews the token):
# `revoked_at IS NULL AND expires_at > now AND last_used_at > idle_since` in every statement.


@dataclass(frozen=True)
class SessionRow:
    id: UUID
    amr: tuple[str, ...]
    client_address: str | None
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime


async def active_sessions(
    conn: Connection, user_id: UUID, now: datetime, idle_since: datetime, limit: int
) -> list[SessionRow]:
    """The user's active sessions, most recently used first."""
    rows = await conn.fetch(
        """SELECT id, amr, client_address, user_agent, created_at, last_used_at
           FROM sessions
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3
           ORDER BY last_used_at DESC, created_at DESC, id
           LIMIT $4""",
        user_id,
        now,
        idle_since,
        limit,
    )
    return [
        SessionRow(
            id=r["id"],
            amr=tuple(r["amr"]),
            client_address=r["client_address"],
            user_agent=r["user_agent"],
            created_at=r["created_at"],
            last_used_at=r["last_used_at"],
        )
        for r in rows
    ]


async def end_session(
    conn: Connection, user_id: UUID, session_id: UUID, now: datetime, idle_since: datetime
) -> bool:
    """End one active session of the user; False when the user has no such active session."""
    status = await conn.execute(
        """UPDATE sessions SET revoked_at = $2, revoked_reason = $5
           WHERE user_id = $1 AND id = $4
             AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3""",
        user_id,
        now,
        idle_since,
        session_id,
        ENDED_BY_USER,
    )
    return row_count(status) == 1


async def end_other_sessions(
    conn: Connection, user_id: UUID, keep: UUID, now: datetime, idle_since: datetime
) -> list[UUID]:
    """End every active session of the user but `keep`; returns the ids ended."""
    rows = await conn.fetch(
        """UPDATE sessions SET revoked_at = $2, revoked_reason = $5
           WHERE user_id = $1 AND id <> $4
             AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3
           RETURNING id""",
        user_id,
        now,
        idle_since,
        keep,
        ENDED_BY_USER,
    )
    return sorted(r["id"] for r in rows)


async def expire_refresh_tokens(
    conn: Connection, session_ids: Sequence[UUID], now: datetime
) -> int:
    """Let the ended sessions' refresh tokens expire now (the revocation alone already refuses
    them; this keeps the tokens' own rows telling the truth)."""
    status = await conn.execute(
        """UPDATE refresh_tokens SET expires_at = $2
           WHERE session_id = ANY($1::uuid[]) AND expires_at > $2""",
        list(session_ids),
        now,
    )
    return row_count(status)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    occurred_at: datetime
    event: str
    client_address: str | None
    user_agent: str | None


async def security_events(
    conn: Connection,
    user_id: UUID,
    events: Sequence[str],
    *,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[HistoryRow]:
    """The user's own audit entries of the given events, newest first, strictly after the
    (occurred_at, id) position `before` of the previous page."""
    occurred_at, entry_id = before if before is not None else (None, None)
    rows = await conn.fetch(
        """SELECT id, occurred_at, event, client_address, user_agent
           FROM audit_log
           WHERE user_id = $1 AND event = ANY($2::text[])
             AND ($3::timestamptz IS NULL OR (occurred_at, id) < ($3, $4::bigint))
           ORDER BY occurred_at DESC, id DESC
           LIMIT $5""",
        user_id,
        list(events),
        occurred_at,
        entry_id,
        limit,
    )
    return [
        HistoryRow(
            id=r["id"],
            occurred_at=r["occurred_at"],
            event=r["event"],
            client_address=r["client_address"],
            user_agent=r["user_agent"],
        )
        for r in rows
    ]
