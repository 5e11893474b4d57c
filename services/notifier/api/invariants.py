"""The invariant of the bell's counters, checked from the rows: every counter of every recipient
equals its list (the visible items it counts, migration 0004). Tests and the chaos checks call
it after the dust settles; it must find nothing."""

from __future__ import annotations

from typing import Any

from services.notifier.api.sql import COUNTER_DRIFT


async def counter_drift(executor: Any) -> list[Any]:
    """Recipients whose stored counters (unread, action, info, security, unseen) differ from a
    recount of their rows; `executor` is an asyncpg connection or pool (search_path notifier)."""
    return list(await executor.fetch(COUNTER_DRIFT))
