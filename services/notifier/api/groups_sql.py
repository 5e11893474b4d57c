"""The groups page of the bell in one statement, and the repository that runs it.

A group is a user's *visible* items (not archived; an `info` item of a muted type left out, the
mutes read from the recipient row in the same snapshot) of one type on one calendar day in
Europe/Brussels. Groups come newest day first, then newest item first within a day, then by type.

The statement walks back one Brussels day at a time and stops as soon as the page is full, so a
page costs the items of the few days it shows, not the user's whole history:

- `steps` is a recursive walk. Each step takes the newest visible item before `bound` (one probe
  of the `(user_id, created_at DESC, id DESC)` index), folds that item's whole day (an index range
  scan over the day's UTC bounds) into one row per type, and passes the day's start on as the next
  bound. Exactly one row of each day (`lead`) carries the walk on, and only while fewer than
  `$2` groups have been found.
- On a page after a cursor, the walk starts at the end of the cursor's day; that day's groups up
  to and including the cursor's are folded but not kept (`keep`).
- Money is summed exactly (`numeric`) per currency in SQL; only a group of one item has its
  `params` read, to be rendered as that item.

Parameters: $1 user id, $2 groups wanted (the page size plus one), $3 category or NULL, $4 the
walk's first bound (the end of the cursor's day) or NULL, $5-$7 the cursor's day,
latest_created_at and type, or NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

import asyncpg

from shared.db import Connection, UnitOfWork

# The visibility rule of 0004_bell_v2.sql, plus the optional category filter.
_VISIBLE: Final = """
          AND n.archived_at IS NULL AND (n.category <> 'info' OR n.type <> ALL (me.muted))
          AND ($3::text IS NULL OR n.category = $3)"""

FOLD_GROUPS: Final = f"""
WITH RECURSIVE me AS (
    SELECT coalesce((SELECT muted_types FROM recipients WHERE user_id = $1), '{{}}') AS muted
),
steps AS (
    SELECT true AS lead, false AS keep, coalesce($4::timestamptz, 'infinity') AS bound,
           0::bigint AS total, NULL::date AS day, NULL::text AS type, NULL::text AS category,
           NULL::bigint AS count, NULL::bigint AS unread_count, NULL::bigint AS action_count,
           NULL::timestamptz AS latest_created_at, NULL::text[] AS currencies,
           NULL::numeric[] AS amounts, NULL::uuid AS single_id
    UNION ALL
    SELECT g.rn = 1, g.keep, g.day_start, s.total + g.kept, g.day, g.type, g.category, g.count,
           g.unread_count, g.action_count, g.latest_created_at, g.currencies, g.amounts,
           g.single_id
    FROM steps s
    CROSS JOIN LATERAL (
        SELECT (n.created_at AT TIME ZONE 'Europe/Brussels')::date AS day
        FROM notifications n, me
        WHERE n.user_id = $1 AND n.created_at < s.bound{_VISIBLE}
        ORDER BY n.created_at DESC
        LIMIT 1
    ) newest
    CROSS JOIN LATERAL (
        SELECT d.*, newest.day, b.day_start,
               row_number() OVER () AS rn,
               count(*) FILTER (WHERE d.keep) OVER () AS kept
        FROM (
            SELECT newest.day::timestamp AT TIME ZONE 'Europe/Brussels' AS day_start,
                   (newest.day + 1)::timestamp AT TIME ZONE 'Europe/Brussels' AS day_end
        ) b
        CROSS JOIN LATERAL (
            SELECT c.type,
                   CASE WHEN sum(c.action_count) > 0 THEN 'action' ELSE min(c.category) END
                       AS category,
                   sum(c.count)::bigint AS count,
                   sum(c.unread_count)::bigint AS unread_count,
                   sum(c.action_count)::bigint AS action_count,
                   max(c.latest_created_at) AS latest_created_at,
                   array_agg(c.currency ORDER BY c.currency)
                       FILTER (WHERE c.amount IS NOT NULL) AS currencies,
                   array_agg(c.amount ORDER BY c.currency)
                       FILTER (WHERE c.amount IS NOT NULL) AS amounts,
                   CASE WHEN sum(c.count) = 1 THEN (array_agg(c.single_id))[1] END AS single_id,
                   ($5::date IS NULL OR newest.day < $5
                    OR max(c.latest_created_at) < $6
                    OR (max(c.latest_created_at) = $6 AND c.type > $7)) AS keep
            FROM (
                SELECT n.type, m.money ->> 'currency' AS currency,
                       min(n.category) AS category,
                       count(*) AS count,
                       count(*) FILTER (WHERE n.read_at IS NULL) AS unread_count,
                       count(*) FILTER (WHERE n.category = 'action') AS action_count,
                       max(n.created_at) AS latest_created_at,
                       sum(CASE WHEN m.money ->> 'amount' ~ '^\\d{{1,15}}(\\.\\d{{1,4}})?$'
                                THEN (m.money ->> 'amount')::numeric END) AS amount,
                       (array_agg(n.id))[1] AS single_id
                FROM notifications n
                CROSS JOIN me
                CROSS JOIN LATERAL (
                    SELECT CASE n.type
                               WHEN 'subscription.invoiced' THEN n.params -> 'total'
                               WHEN 'payment.received' THEN n.params -> 'amount'
                               WHEN 'reminder.created' THEN n.params -> 'amount_due'
                           END AS money
                ) m
                WHERE n.user_id = $1
                  AND n.created_at >= b.day_start AND n.created_at < b.day_end{_VISIBLE}
                GROUP BY n.type, m.money ->> 'currency'
            ) c
            GROUP BY c.type
        ) d
    ) g
    WHERE s.lead AND s.total < $2
)
SELECT g.day, g.type, g.category, g.count, g.unread_count, g.action_count,
       g.latest_created_at, g.currencies, g.amounts, one.params AS single_params,
       (SELECT language FROM recipients WHERE user_id = $1 AND NOT provisional) AS language,
       r.version AS recipient_version, r.latest_created_at AS recipient_latest
FROM steps g
LEFT JOIN recipients r ON r.user_id = $1
LEFT JOIN notifications one ON one.id = g.single_id AND one.user_id = $1
WHERE g.keep
ORDER BY g.day DESC, g.latest_created_at DESC, g.type
LIMIT $2
"""


@dataclass(frozen=True)
class GroupPosition:
    """Where a page of groups ended: the next page starts strictly after this group."""

    day: date
    latest_created_at: datetime
    type: str


@dataclass(frozen=True)
class StoredGroup:
    """One folded group, as the database sums it up."""

    day: date
    type: str
    category: str
    count: int
    unread_count: int
    action_count: int
    latest_created_at: datetime
    # Exact sums per currency, sorted by currency code (types that carry an amount only).
    totals: tuple[tuple[Decimal, str], ...]
    # The item's own parameters when the group holds exactly one item.
    single_params: dict[str, Any] | None

    @property
    def position(self) -> GroupPosition:
        return GroupPosition(self.day, self.latest_created_at, self.type)


@dataclass(frozen=True)
class StoredGroups:
    groups: list[StoredGroup]
    # The recipient's chosen language; None for an unknown or provisional recipient.
    language: str | None
    # The recipient row's version and newest arrival in the same snapshot (for the page cache);
    # None without groups or without a recipient row.
    version: int | None = None
    latest_created_at: datetime | None = None


def _group(row: asyncpg.Record) -> StoredGroup:
    return StoredGroup(
        day=row["day"],
        type=row["type"],
        category=row["category"],
        count=row["count"],
        unread_count=row["unread_count"],
        action_count=row["action_count"],
        latest_created_at=row["latest_created_at"],
        totals=tuple(zip(row["amounts"] or (), row["currencies"] or (), strict=True)),
        single_params=row["single_params"],
    )


class GroupRepository:
    """Reads a user's groups; never writes."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._unit_of_work = UnitOfWork(pool)

    async def fold(
        self,
        user_id: UUID,
        *,
        category: str | None,
        after: GroupPosition | None,
        after_bound: datetime | None,
        limit: int,
    ) -> StoredGroups:
        """Up to `limit` groups, strictly after `after` (whose day ends at `after_bound`).

        One statement, so the groups, their counts and the mutes are one snapshot."""
        args = (
            user_id,
            limit,
            category,
            after_bound,
            after.day if after else None,
            after.latest_created_at if after else None,
            after.type if after else None,
        )

        async def read(conn: Connection) -> list[asyncpg.Record]:
            return await conn.fetch(FOLD_GROUPS, *args)

        rows = await self._unit_of_work.read(read)
        if not rows:
            return StoredGroups(groups=[], language=None)
        first = rows[0]
        return StoredGroups(
            groups=[_group(row) for row in rows],
            language=first["language"],
            version=first["recipient_version"],
            latest_created_at=first["recipient_latest"],
        )
