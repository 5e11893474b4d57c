"""Wiring of the bell API for the composition root: its routes, and a lifespan hook that builds
token verification, rendering, the inbox use cases and the retention task from the settings and
the database pool (opened by the app's own lifespan, which runs first)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

from litestar import Litestar

from services.notifier.api.cursors import CursorCodec
from services.notifier.api.inbox import Inbox, NotificationPage
from services.notifier.api.item_routes import NotificationChangesController
from services.notifier.api.page_cache import PageCache
from services.notifier.api.preferences import PreferencesController, PreferenceStore
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.repository import NotificationRepository
from services.notifier.api.retention import RetentionPurger
from services.notifier.api.routes import NotificationController
from services.notifier.api.tokens import JwksClient, TokenVerifier
from services.notifier.settings import NotifierSettings
from shared.settings import Settings


def api_route_handlers() -> list[Any]:
    return [NotificationController, NotificationChangesController, PreferencesController]


def api_lifespan(
    settings: Settings, notifier: NotifierSettings
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Builds the API's collaborators on start-up and stops its background work on shutdown."""
    # Built now, not at start-up, so a broken catalog or a missing secret fails create_app.
    renderer = NotificationRenderer(settings.web_app_base_url)
    cursors = CursorCodec(settings.require_notifier_secret_key())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        repository = NotificationRepository(app.state.pool)
        jwks = JwksClient(settings.auth_jwks_url)
        app.state.token_verifier = TokenVerifier(jwks)
        pages = PageCache[NotificationPage](notifier.page_cache_size)
        app.state.inbox = Inbox(repository, renderer, cursors, pages)
        app.state.preferences = PreferenceStore(app.state.pool)
        app.state.poll_interval_seconds = notifier.poll_interval_seconds
        purger = RetentionPurger(repository, max_age=timedelta(days=notifier.retention_days))
        retention = asyncio.create_task(purger.run_forever(), name="notification-retention")
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await jwks.aclose()

    return lifespan
