"""Long polling of the badge (contract 5.1): `GET /v1/notifications/unread-count` with
`If-None-Match` and `Prefer: wait=N` is held until the user's badge moves or N seconds pass.

`LongPoll` is the per-process registry of held requests: user → waiters, woken by the
`BadgeListener` (a change committed by any notifier instance), by a reconnection of the listener
(notifications may have been missed: everyone re-checks) and by the server's shutdown (everyone
is answered at once). A woken request re-reads the badge through the caller's read (the
coalesced primary-key read of the inbox) and answers only if it changed; otherwise it waits on.
Past `max_held` held requests a request is answered at once, as without `Prefer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar
from uuid import UUID

from litestar.types import Receive
from prometheus_client import Counter, Gauge

from services.notifier.api.prefer import requested_wait

T = TypeVar("T")

HELD: Final = Gauge(
    "notifier_longpoll_held", "Requests this process holds open, waiting for a badge change."
)
ANSWERS: Final = Counter(
    "notifier_longpoll_answers_total",
    "Long polls answered, by outcome: 200 (the badge moved), 304 (the wait ran out or the "
    "server stopped), at_once (not held: too many held already, or shutting down), "
    "disconnected (the client left first).",
    ["outcome"],
)


class _Waiter:
    """One held request: its wake-up call, and whether its client went away."""

    __slots__ = ("event", "gone")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.gone = False


@dataclass(frozen=True)
class Held(Generic[T]):
    """What to answer: the last value read, and the wait applied (for `Preference-Applied`;
    None when the request was not held)."""

    value: T
    applied_wait: int | None


class LongPoll:
    """The held requests of this process, by user (32-hex id, as the notifications carry it)."""

    def __init__(self, *, max_held: int, max_wait_s: int) -> None:
        self._max_held = max_held
        self._max_wait_s = max_wait_s
        self._waiters: dict[str, set[_Waiter]] = {}
        self._held = 0
        self._closing = False

    @property
    def enabled(self) -> bool:
        return self._max_held > 0

    @property
    def held(self) -> int:
        return self._held

    def changed(self, hex_user_ids: Iterable[str]) -> None:
        """These users' badges moved: wake their held requests."""
        waiters = self._waiters
        for user in hex_user_ids:
            for waiter in waiters.get(user, ()):
                waiter.event.set()

    def wake_all(self) -> None:
        """Every held request re-checks (changes may have gone unannounced)."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.event.set()

    def close(self) -> None:
        """The server is stopping: answer every held request now, hold no new one."""
        self._closing = True
        self.wake_all()

    async def hold(
        self,
        user_id: UUID,
        wait_s: int,
        *,
        read: Callable[[], Awaitable[T]],
        unchanged: Callable[[T], bool],
        receive: Receive,
    ) -> Held[T]:
        """Read now; while `unchanged` and for at most `wait_s` seconds (clamped), wait for a
        change of this user's badge and read again. `receive` tells a client's disconnect."""
        if self._closing or self._held >= self._max_held:
            ANSWERS.labels("at_once").inc()
            return Held(await read(), None)
        applied = min(wait_s, self._max_wait_s)
        key = user_id.hex
        waiter = self._register(key)
        watcher = asyncio.ensure_future(_watch_disconnect(receive, waiter))
        try:
            # Registered before this read: a change committed after it wakes the waiter.
            value = await self._wait(waiter, applied, read, unchanged)
        finally:
            watcher.cancel()
            self._release(key, waiter)
        return Held(value, applied)

    async def _wait(
        self,
        waiter: _Waiter,
        seconds: int,
        read: Callable[[], Awaitable[T]],
        unchanged: Callable[[T], bool],
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        value = await read()
        while unchanged(value):
            if self._closing or waiter.gone or not await _woken(waiter, deadline - loop.time()):
                break
            value = await read()
        else:
            ANSWERS.labels("200").inc()
            return value
        if waiter.gone:
            ANSWERS.labels("disconnected").inc()
            return value
        # The deadline (or the shutdown): once more, as a change may be on its way to us.
        value = await read()
        ANSWERS.labels("304" if unchanged(value) else "200").inc()
        return value

    def _register(self, key: str) -> _Waiter:
        waiter = _Waiter()
        self._waiters.setdefault(key, set()).add(waiter)
        self._held += 1
        HELD.inc()
        return waiter

    def _release(self, key: str, waiter: _Waiter) -> None:
        waiters = self._waiters.get(key)
        if waiters is None or waiter not in waiters:
            return
        waiters.discard(waiter)
        if not waiters:
            del self._waiters[key]
        self._held -= 1
        HELD.dec()


async def _woken(waiter: _Waiter, seconds: float) -> bool:
    """Wait up to `seconds` for a wake-up call; False when the time ran out."""
    if seconds <= 0:
        return False
    try:
        async with asyncio.timeout(seconds):
            await waiter.event.wait()
    except TimeoutError:
        return False
    waiter.event.clear()
    return True


async def _watch_disconnect(receive: Receive, waiter: _Waiter) -> None:
    """Wake the waiter when its client disconnects (uvicorn does not cancel the handler then)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    waiter.gone = True
    waiter.event.set()


async def answer_after_wait(
    state: Any,
    user_id: UUID,
    prefer: list[str],
    *,
    read: Callable[[], Awaitable[T]],
    unchanged: Callable[[T], bool],
    receive: Receive,
) -> Held[T]:
    """The unread-count route's long poll: held per `Prefer: wait=N` when long polling is on
    and the preference is well-formed; else one read, answered at once."""
    wait = requested_wait(prefer)
    long_poll: LongPoll | None = getattr(state, "long_poll", None)
    if not wait or long_poll is None or not long_poll.enabled:
        return Held(await read(), None)
    return await long_poll.hold(user_id, wait, read=read, unchanged=unchanged, receive=receive)
