"""My security history: the caller's own audit entries (sign-ins, failed sign-ins, sign-outs,
sessions ended, password and two-factor changes), newest first, a page at a time, with titles
in the caller's language.

Only entries *about the caller* (`user_id` = the caller) are shown: what an administrator did
to other users stays in those users' histories (and the audit trail), never in the
administrator's. Entries older than the audit retention (AUTH_AUDIT_KEEP_DAYS) are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.auth.accounts.profile import require_live_user
from services.auth.domain import Language
from services.auth.platform.sql import Connection
from services.auth.self_service import repository
from services.auth.self_service.cursors import HistoryCursors, HistoryPosition
from services.auth.self_service.titles import PUBLIC_TYPES, SHOWN_AUDIT_EVENTS, title
from services.auth.sessions.client_devices import describe_device, truncate_address
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.tokens import Principal


@dataclass(frozen=True)
class HistoryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _item(row: repository.HistoryRow, language: Language) -> dict[str, Any]:
    public_type = PUBLIC_TYPES[row.event]
    return {
        "id": row.id,
        "type": public_type,
        "occurred_at": row.occurred_at,
        "title": title(public_type, language),
        # Entries written before the audit trail kept user agents have no device.
        "device": describe_device(row.user_agent).as_dict(language) if row.user_agent else None,
        "address": truncate_address(row.client_address),
    }


class SecurityHistory:
    """`GET /v1/me/security-events`."""

    def __init__(self, uow: UnitOfWork, clock: Clock, cursors: HistoryCursors) -> None:
        self._uow = uow
        self._clock = clock
        self._cursors = cursors

    async def page(self, principal: Principal, *, limit: int, cursor: str | None) -> HistoryPage:
        """`limit` entries after the cursor's position (from the newest without one);
        InvalidCursor for a cursor this service did not issue to the caller."""
        before = self._cursors.decode(principal.user_id, cursor) if cursor is not None else None

        async def read(conn: Connection) -> tuple[Language, list[repository.HistoryRow]]:
            user = await require_live_user(conn, principal, self._clock)
            rows = await repository.security_events(
                conn,
                user.id,
                SHOWN_AUDIT_EVENTS,
                before=(before.occurred_at, before.id) if before else None,
                limit=limit + 1,
            )
            return user.language, rows

        language, rows = await self._uow.read(read)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = self._cursors.encode(
                principal.user_id, HistoryPosition(last.occurred_at, last.id)
            )
        return HistoryPage([_item(row, language) for row in rows], next_cursor)
