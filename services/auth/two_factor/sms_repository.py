"""SQL of the SMS budget (migration 0005): a send log that no two-factor change deletes, and
the locks that make counting and logging one step."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final
from uuid import UUID

from services.auth.platform.sql import Connection, row_count

_SMS_SENT_SINCE: Final = {
    scope: f"""SELECT count(*) AS n,
                      (array_agg(sent_at ORDER BY sent_at))[greatest(count(*) - $3 + 1, 1)]
                          AS frees_at
               FROM sms_send_log WHERE {column} = $1 AND sent_at > $2"""
    for scope, column in (
        ("user", "user_id"),
        ("number", "phone_number"),
        ("organization", "organization_id"),
    )
}


def _lock_key(kind: str, value: object) -> int:
    digest = hashlib.sha256(f"clochette:sms:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_sms_budget(
    conn: Connection, user_id: UUID, phone_number: str, organization_id: UUID
) -> None:
    """Transaction-scoped advisory locks on the user, the number and the organisation, in that
    order (one order everywhere, so no deadlock): SMS requests that share any of them are
    counted one after the other."""
    for kind, value in (("user", user_id), ("number", phone_number), ("org", organization_id)):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(kind, value))


async def last_sms_sent(conn: Connection, user_id: UUID) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT max(sent_at) FROM sms_send_log WHERE user_id = $1", user_id
    )
    return value


async def sms_sent_since(
    conn: Connection, scope: str, key: UUID | str, since: datetime, cap: int
) -> tuple[int, datetime | None]:
    """How many SMS went out since a moment for one user, number or organisation, and when
    the one whose ageing out brings the count back under `cap` was sent."""
    row = await conn.fetchrow(_SMS_SENT_SINCE[scope], key, since, cap)
    if row is None:  # pragma: no cover - an aggregate always returns a row
        raise RuntimeError("no aggregate row")
    return int(row["n"]), row["frees_at"]


async def log_sms(
    conn: Connection,
    *,
    user_id: UUID,
    organization_id: UUID,
    phone_number: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO sms_send_log (user_id, organization_id, phone_number, sent_at)
           VALUES ($1, $2, $3, $4)""",
        user_id,
        organization_id,
        phone_number,
        now,
    )


async def purge_sms_send_log(conn: Connection, before: datetime) -> int:
    """Forget SMS sent before the cutoff (older than every budget window)."""
    return row_count(await conn.execute("DELETE FROM sms_send_log WHERE sent_at < $1", before))
