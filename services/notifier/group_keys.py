"""The key of a group of the bell: one notification type on one calendar day in Brussels.

A key reads `2026-11-28.subscription.invoiced` (the day first, so keys of one day sort
together). It is opaque to clients but stable: the same items always fall in the same group,
whatever the reader's language, so `GET /v1/notifications?group=KEY` and a read-all of the group
name exactly the rows the group counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from services.notifier.categories import ALL_TYPES

BRUSSELS: Final = ZoneInfo("Europe/Brussels")
MAX_GROUP_KEY_LENGTH: Final = 64
_KEY: Final = re.compile(r"(?P<day>\d{4}-\d{2}-\d{2})\.(?P<type>[a-z_]+\.[a-z_]+)")


class InvalidGroupKey(ValueError):
    """Not a key this service hands out."""


@dataclass(frozen=True, slots=True)
class GroupKey:
    day: date
    type: str

    def __str__(self) -> str:
        return f"{self.day.isoformat()}.{self.type}"

    @classmethod
    def parse(cls, text: str) -> GroupKey:
        match = _KEY.fullmatch(text) if len(text) <= MAX_GROUP_KEY_LENGTH else None
        if match is None or match["type"] not in ALL_TYPES:
            raise InvalidGroupKey(text)
        try:
            day = date.fromisoformat(match["day"])
        except ValueError as exc:
            raise InvalidGroupKey(text) from exc
        return cls(day=day, type=match["type"])

    @classmethod
    def of(cls, notification_type: str, created_at: datetime) -> GroupKey:
        return cls(day=created_at.astimezone(BRUSSELS).date(), type=notification_type)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the day in Brussels, as UTC instants (23 or 25 hours around DST)."""
        return day_bounds(self.day)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=BRUSSELS)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=BRUSSELS)
    return start.astimezone(UTC), end.astimezone(UTC)
