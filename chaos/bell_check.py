"""The soak's end check of the bell: every counter of every user equals its list.

For each user, five counters — unread, unseen, and unread per category (action, info,
security) — are read four ways, which must agree:
- the badge (`GET /v1/notifications/unread-count`);
- the lists walked with their cursors (`status=all` for unread and unseen, and
  `status=unread&category=…` for each category);
- the user's rows in the database, counted by the visibility rule of migration 0004 (not
  archived, and not an info item of a muted type);
- the recipient row's counters.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

from services.notifier.categories import CATEGORIES

if TYPE_CHECKING:
    from chaos.traffic import Auth, Session

COUNTERS = ("unread", "unseen", *(f"unread_{c.value}" for c in CATEGORIES))

# The recount, by the visibility rule, beside the recipient's counters.
RECOUNT = """
SELECT r.user_id,
       r.unread_count, r.unseen_count, r.unread_action, r.unread_info, r.unread_security,
       count(n.id) FILTER (WHERE n.read_at IS NULL) AS rows_unread,
       count(n.id) FILTER (WHERE n.seen_at IS NULL) AS rows_unseen,
       count(n.id) FILTER (WHERE n.read_at IS NULL AND n.category = 'action') AS rows_action,
       count(n.id) FILTER (WHERE n.read_at IS NULL AND n.category = 'info') AS rows_info,
       count(n.id) FILTER (WHERE n.read_at IS NULL AND n.category = 'security') AS rows_security
FROM notifier.recipients r
LEFT JOIN notifier.notifications n
       ON n.user_id = r.user_id AND n.archived_at IS NULL
      AND (n.category <> 'info' OR n.type <> ALL (r.muted_types))
GROUP BY r.user_id
"""


@dataclass(frozen=True)
class BellCounts:
    """One user's counters, each as (badge, listed, database rows, recipient counter)."""

    user: str
    counters: dict[str, tuple[int, int, int, int]]

    @property
    def consistent(self) -> bool:
        return all(len(set(views)) == 1 for views in self.counters.values())

    def disagreements(self) -> dict[str, tuple[int, int, int, int]]:
        return {name: views for name, views in self.counters.items() if len(set(views)) != 1}


async def database_counts(database_url: str) -> dict[Any, dict[str, tuple[int, int]]]:
    """user id -> counter -> (rows counted, recipient counter)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(RECOUNT)
    finally:
        await conn.close()
    return {
        row["user_id"]: {
            "unread": (row["rows_unread"], row["unread_count"]),
            "unseen": (row["rows_unseen"], row["unseen_count"]),
            **{
                f"unread_{c.value}": (row[f"rows_{c.value}"], row[f"unread_{c.value}"])
                for c in CATEGORIES
            },
        }
        for row in rows
    }


async def _walk(
    client: httpx.AsyncClient, url: str, session: Session, params: dict[str, Any]
) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {"limit": 100, **params, **({"cursor": cursor} if cursor else {})}
        page = await client.get(url + "/v1/notifications", params=query, headers=session.headers)
        if page.status_code != 200:
            return None
        body = page.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    return items


async def api_counts(
    client: httpx.AsyncClient, url: str, auth: Auth, session: Session
) -> tuple[dict[str, int], dict[str, int]] | None:
    """(badge, listed) for one user, or None when a call failed."""
    await auth.keep_fresh(session, 480)
    answer = await client.get(url + "/v1/notifications/unread-count", headers=session.headers)
    if answer.status_code != 200:
        return None
    body = answer.json()
    badge = {
        "unread": body["unread_count"],
        "unseen": body["unseen_count"],
        **{f"unread_{c.value}": body["by_category"][c.value] for c in CATEGORIES},
    }
    visible = await _walk(client, url, session, {"status": "all"})
    if visible is None:
        return None
    listed = Counter[str]()
    for item in visible:
        listed["unread"] += item["read_at"] is None
        listed["unseen"] += item["seen_at"] is None
    for category in CATEGORIES:
        unread = await _walk(client, url, session, {"status": "unread", "category": category.value})
        if unread is None:
            return None
        listed[f"unread_{category.value}"] = sum(
            1 for item in unread if item["read_at"] is None and item["category"] == category
        )
    return badge, {name: listed[name] for name in COUNTERS}


async def bell_counts(
    database_url: str,
    client: httpx.AsyncClient,
    url: str,
    auth: Auth,
    sessions: list[Session],
) -> list[BellCounts]:
    """Every user's counters four ways (users whose API walk failed are left out, so the
    caller's comparison with the number of users fails)."""
    database = await database_counts(database_url)
    limit = asyncio.Semaphore(8)

    async def one(session: Session) -> BellCounts | None:
        async with limit:
            views = await api_counts(client, url, auth, session)
        if views is None:
            return None
        badge, listed = views
        stored = database.get(session.user.id, {})
        return BellCounts(
            session.user.email,
            {name: (badge[name], listed[name], *stored.get(name, (-1, -1))) for name in COUNTERS},
        )

    measured = await asyncio.gather(*(one(s) for s in sessions))
    return [c for c in measured if c is not None]
