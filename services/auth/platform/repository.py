"""SQL of the platform parts: the outbox, the audit trail and the periodic purge.

Functions take a connection, so the caller decides the transaction; timestamps come from the
caller's clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from services.auth.platform.sql import Connection, row_count
from shared.topics import SMS_REQUESTED_TOPIC

OUTBOX_CHANNEL: Final = "auth_outbox"
_RELAY_LEADER_LOCK: Final = (
    int.from_bytes(hashlib.sha256(b"clochette:auth:outbox-relay").digest()[:8], "big") >> 1
)


async def try_lead_relay(conn: Connection) -> bool:
    """Take the relay's leader lock for the life of this (dedicated) session; False when
    another instance holds it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LEADER_LOCK))


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
    """Mark the rows published; those whose payload must not outlive its publication (an SMS
    request carries the code in clear) are deleted instead of kept for the retention."""
    await conn.execute(
        "DELETE FROM outbox WHERE id = ANY($1::bigint[]) AND topic = ANY($2::text[])",
        list(ids),
        sorted(DELETED_ONCE_PUBLISHED),
    )
    await conn.execute(
        "UPDATE outbox SET published_at = $2 WHERE id = ANY($1::bigint[])", list(ids), now
    )


# Topics whose outbox rows are deleted as soon as the broker has them (see above).
DELETED_ONCE_PUBLISHED = frozenset({SMS_REQUESTED_TOPIC})


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
    user_agent: str | None = None


async def insert_audit(conn: Connection, entry: AuditEntry) -> None:
    await conn.execute(
        """INSERT INTO audit_log (occurred_at, event, user_id, organization_id, email,
                                  client_address, request_id, details, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        entry.occurred_at,
        entry.event,
        entry.user_id,
        entry.organization_id,
        entry.email,
        entry.client_address,
        entry.request_id,
        entry.details or {},
        entry.user_agent,
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
        "outbox": row_count(outbox),
        "sessions": row_count(sessions),
        "login_throttle": row_count(throttle),
        "audit_log": row_count(audit),
    }
