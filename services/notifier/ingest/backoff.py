"""The one retry helper of the ingest: capped exponential backoff with full jitter, and a loop
that runs an attempt until it succeeds, waiting between attempts the way its caller must wait
(a plain sleep, or a keep-alive poll that keeps the consumer in its group)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class Abandoned(Exception):
    """The work being retried went stale (rebalance, reconnect or shutdown): give it up."""


class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's recommendation)."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial, self._maximum = initial, maximum
        self._attempt = 0

    def next(self) -> float:
        ceiling = min(self._maximum, self._initial * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


def _never() -> bool:
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts: from `initial_s`, doubling up to `maximum_s`."""

    initial_s: float
    maximum_s: float

    def backoff(self) -> Backoff:
        return Backoff(self.initial_s, self.maximum_s)

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retryable: Callable[[Exception], bool],
        pause: Callable[[float], Awaitable[None]],
        stale: Callable[[], bool] = _never,
    ) -> T:
        """`attempt` until it succeeds. An exception `retryable` accepts (it also logs and counts
        it) is followed by `pause(backoff)`, any other propagates; before every attempt, a true
        `stale()` raises Abandoned."""
        backoff = self.backoff()
        while True:
            if stale():
                raise Abandoned
            try:
                return await attempt()
            except Exception as exc:
                if not retryable(exc):
                    raise
            await pause(backoff.next())
