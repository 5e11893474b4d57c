"""A per-address request budget for endpoints that need no account: the password-quality meter
would otherwise be a free, unthrottled oracle (and a CPU sink: zxcvbn per call)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.problems import DomainError


class TooManyRequests(DomainError):
    slug = "too-many-requests"
    title = "Too many requests"
    status = 429

    def __init__(self, retry_after_seconds: float) -> None:
        seconds = max(1, math.ceil(retry_after_seconds))
        super().__init__(
            f"Too many requests from this address. Try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


class AddressRateLimit:
    """A token bucket per client address: `per_minute` calls in a burst, refilled at
    `per_minute` a minute. Kept in this process (each instance counts its own requests) and
    bounded: addresses idle for a full refill are forgotten when the table grows."""

    def __init__(self, per_minute: int, clock: Clock, *, max_addresses: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0  # tokens a second
        self._clock = clock
        self._max_addresses = max_addresses
        self._buckets: dict[str, _Bucket] = {}

    def take(self, address: str) -> None:
        """Spend one call of `address`'s budget, or raise TooManyRequests with the wait."""
        now = self._clock.now()
        bucket = self._buckets.get(address)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[address] = _Bucket(self._capacity, now)
        elapsed = max(0.0, (now - bucket.updated).total_seconds())
        bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            raise TooManyRequests((1 - bucket.tokens) / self._rate)
        bucket.tokens -= 1

    def _forget_idle(self, now: datetime) -> None:
        if len(self._buckets) < self._max_addresses:
            return
        full = timedelta(seconds=self._capacity / self._rate)
        self._buckets = {a: b for a, b in self._buckets.items() if now - b.updated < full}
        if len(self._buckets) >= self._max_addresses:  # all busy: drop the oldest half
            kept = sorted(self._buckets.items(), key=lambda item: item[1].updated)
            self._buckets = dict(kept[len(kept) // 2 :])
