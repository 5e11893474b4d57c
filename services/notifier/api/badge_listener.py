"""The LISTEN side of long polling: one dedicated PostgreSQL connection (not from the pool, which
would hand it to other work) listening on the channel the `recipients` triggers notify
(migration 0005), for the whole process.

A real-time channel must not die silently: the connection is watched (a termination callback,
and a ping every `ping_interval_s` for a peer that vanished without closing), reconnected with
capped exponential backoff, and after every reconnection the waiters are all told to re-check,
since notifications sent while nobody listened are lost. Its state is a gauge and a readiness
check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final

import asyncpg
from prometheus_client import Counter, Gauge

from services.notifier.ingest.backoff import RetryPolicy
from shared.clock import Clock
from shared.logging import get_logger

CHANNEL: Final = "notifier_badges"
APPLICATION_NAME: Final = "clochette-notifier-listen"

log = get_logger(__name__)

LISTENER_UP: Final = Gauge(
    "notifier_longpoll_listener_up",
    "1 while this process LISTENs for badge changes (long polls get woken), else 0.",
)
LISTENER_RECONNECTS: Final = Counter(
    "notifier_longpoll_listener_reconnects_total",
    "LISTEN connections opened again after one was lost.",
)


class BadgeListener:
    """Calls `on_changed(hex_user_ids)` for every notification on the channel and `on_gap()`
    after each (re)connection; runs until cancelled."""

    def __init__(
        self,
        dsn: str,
        *,
        on_changed: Callable[[list[str]], None],
        on_gap: Callable[[], None],
        retry: RetryPolicy,
        clock: Clock,
        ping_interval_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._on_changed = on_changed
        self._on_gap = on_gap
        self._retry = retry
        self._clock = clock
        self._ping_interval_s = ping_interval_s
        self._up = False
        self.connected = asyncio.Event()  # set while listening (tests wait on it)

    @property
    def up(self) -> bool:
        return self._up

    async def run(self) -> None:
        backoff = self._retry.backoff()
        connections = 0
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
            except Exception as exc:  # whatever it is, retry: never die silently
                log.warning("longpoll_listen_connect_failed", error=repr(exc))
                await self._clock.sleep(backoff.next())
                continue
            connections += 1
            if connections > 1:
                LISTENER_RECONNECTS.inc()
            try:
                await self._listen(connection)
                backoff = self._retry.backoff()  # it worked: the next loss starts short again
            except Exception as exc:
                log.warning("longpoll_listen_failed", error=repr(exc))
            finally:
                self._set_up(False)
                await _close(connection)
            await self._clock.sleep(backoff.next())

    async def _listen(self, connection: asyncpg.Connection[Any]) -> None:
        """Listen until the connection is lost or stops answering."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        self._set_up(True)
        log.info("longpoll_listening", channel=CHANNEL)
        # Anything committed before LISTEN took effect was announced to nobody: re-check all.
        self._on_gap()
        while not lost.is_set():
            if not await _wait_or_sleep(lost, self._clock.sleep(self._ping_interval_s)):
                await connection.fetchval("SELECT 1", timeout=self._ping_interval_s)
        log.warning("longpoll_listen_connection_lost")

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        self._on_changed(str(payload).split(","))

    def _set_up(self, up: bool) -> None:
        self._up = up
        LISTENER_UP.set(1 if up else 0)
        if up:
            self.connected.set()
        else:
            self.connected.clear()

    async def readiness(self) -> str | None:
        """None while listening; the reason otherwise (for /health/ready)."""
        return None if self._up else "the long-poll LISTEN connection is down (reconnecting)"


async def _wait_or_sleep(event: asyncio.Event, sleep: Coroutine[Any, Any, None]) -> bool:
    """True when `event` was set before the `sleep` coroutine finished."""
    waiting = asyncio.ensure_future(event.wait())
    sleeping = asyncio.ensure_future(sleep)
    try:
        await asyncio.wait({waiting, sleeping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, sleeping):
            task.cancel()
    return event.is_set()


async def _close(connection: asyncpg.Connection[Any]) -> None:
    if connection.is_closed():
        return
    try:
        await asyncio.wait_for(connection.close(), timeout=2)
    except Exception:  # one that does not close cleanly is cut
        connection.terminate()
    except asyncio.CancelledError:
        connection.terminate()
        raise
