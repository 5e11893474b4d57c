"""The list queries of the bell: one SQL text per shape of filter (status, category, group,
cursor), so each gets a plan on the right index instead of a generic plan full of
`$n IS NULL OR …`.

Every shape leaves out what is not visible to the list asked for: archived items unless
`status=archived` (then only those), and the info items of the user's muted types everywhere.
Parameters: $1 user, $2 limit, then the filter's own in a fixed order.

Each text is ONE statement: the recipient row (the badge's columns and the muted types that
decide what the list leaves out) `LEFT JOIN LATERAL` the page, so both come from one snapshot
without an explicit transaction (one round trip instead of BEGIN, two reads and COMMIT). It
yields at least one row: the recipient's columns (NULL without a recipient row) on every row,
and the page's columns NULL when the page is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any


class StatusFilter(StrEnum):
    ALL = "all"
    UNREAD = "unread"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class PageFilter:
    """What a list asks for; `group` is (type, start, end) of a group key."""

    status: StatusFilter = StatusFilter.ALL
    category: str | None = None
    group: tuple[str, datetime, datetime] | None = None

    def scope(self) -> str:
        """What a cursor is bound to: a cursor of another filter is refused."""
        group = "" if self.group is None else f"{self.group[0]}@{self.group[1].isoformat()}"
        return f"{self.status.value}|{self.category or ''}|{group}"


@cache
def page_query(status: StatusFilter, category: bool, group: bool, after: bool) -> str:
    """The SQL of one shape; parameters as the module says, then category, group, cursor."""
    clauses = ["n.user_id = $1", "(n.category <> 'info' OR n.type <> ALL (me.muted))"]
    if status is StatusFilter.ARCHIVED:
        clauses.append("n.archived_at IS NOT NULL")
    else:
        clauses.append("n.archived_at IS NULL")
    if status is StatusFilter.UNREAD:
        clauses.append("n.read_at IS NULL")
    number = 3
    if category:
        clauses.append(f"n.category = ${number}")
        number += 1
    if group:
        clauses.append(
            f"n.type = ${number} AND n.created_at >= ${number + 1} AND n.created_at < ${number + 2}"
        )
        number += 3
    if after:
        clauses.append(f"(n.created_at, n.id) < (${number}, ${number + 1})")
    where = "\n  AND ".join(clauses)
    return f"""
SELECT r.unread_count, r.unseen_count, r.unread_action, r.unread_info, r.unread_security,
       r.muted_types, r.version, r.latest_created_at, r.language, r.provisional,
       p.id, p.type, p.params, p.created_at, p.read_at, p.category, p.seen_at, p.archived_at
FROM (SELECT $1::uuid AS user_id) a
LEFT JOIN recipients r ON r.user_id = a.user_id
CROSS JOIN LATERAL (SELECT coalesce(r.muted_types, '{{}}'::text[]) AS muted) me
LEFT JOIN LATERAL (
    SELECT n.id, n.type, n.params, n.created_at, n.read_at, n.category, n.seen_at,
           n.archived_at
    FROM notifications n
    WHERE {where}
    ORDER BY n.created_at DESC, n.id DESC
    LIMIT $2
) p ON true
ORDER BY p.created_at DESC, p.id DESC
"""


def page_arguments(page_filter: PageFilter) -> tuple[Any, ...]:
    """The filter's own parameters, in page_query's order (after $1-$2)."""
    arguments: tuple[Any, ...] = ()
    if page_filter.category is not None:
        arguments += (page_filter.category,)
    if page_filter.group is not None:
        arguments += page_filter.group
    return arguments
