"""Wiring of long polling for the composition root: the registry of held requests, the LISTEN
connection that wakes them, the readiness check, and what a process holding thousands of open
connections needs (file descriptors; answering held requests when the server stops)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from services.notifier.api.badge_listener import BadgeListener
from services.notifier.api.longpoll import LongPoll
from services.notifier.ingest.backoff import RetryPolicy
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, SystemClock
from shared.http import on_server_stopping
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)

# Descriptors beside the held connections: pool, broker, listeners, logs.
_SPARE_DESCRIPTORS = 1024


class LongPolling:
    """Builds the registry at start-up, runs the listener while the app runs."""

    def __init__(
        self, settings: Settings, notifier: NotifierSettings, clock: Clock | None = None
    ) -> None:
        self._dsn = settings.require_database_url()
        self._notifier = notifier
        self._clock = clock or SystemClock()
        self.long_poll = LongPoll(
            max_held=notifier.longpoll_max_held, max_wait_s=notifier.longpoll_max_wait_seconds
        )
        self.listener = BadgeListener(
            self._dsn,
            on_changed=self.long_poll.changed,
            on_gap=self.long_poll.wake_all,
            retry=RetryPolicy(notifier.retry_initial_backoff_s, notifier.retry_max_backoff_s),
            clock=self._clock,
        )

    async def readiness(self) -> str | None:
        """None while long polls can be woken (or long polling is off)."""
        if not self.long_poll.enabled:
            return None
        return await self.listener.readiness()

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        app.state.long_poll = self.long_poll
        app.state.longpoll_listener = self.listener
        if not self.long_poll.enabled:
            yield
            return
        raise_open_file_limit(self._notifier.longpoll_max_held + _SPARE_DESCRIPTORS)
        on_server_stopping(app, self.long_poll.close)
        listening = asyncio.create_task(self.listener.run(), name="longpoll-listener")
        # Not ready (readiness says so) until listening; start-up does not wait for it.
        try:
            yield
        finally:
            self.long_poll.close()
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening


def raise_open_file_limit(wanted: int) -> None:
    """Every held request keeps a socket open: raise the soft RLIMIT_NOFILE to the hard limit
    when it is below what `wanted` descriptors need (often 1,024 by default)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning("longpoll_file_limit_low", open_files=target, wanted=wanted)
