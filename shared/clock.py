"""Time as a dependency: every time-based rule (throttling, token lifetimes, key rotation,
retry backoff, cache ages) asks a Clock, so tests move time instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC (for what is stored or compared with stored
        times)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations, ages and deadlines)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to (tests, benchmarks with a fixed time); `sleep`
    moves it at once, so code that waits out a backoff runs without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
        self._start = self._now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._start).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)  # still a suspension point, as a real sleep is

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move forward by `seconds` (and/or timedelta keyword arguments); returns the new time."""
        self._now += timedelta(seconds=seconds, **delta)
        return self._now
