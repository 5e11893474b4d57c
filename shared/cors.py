"""CORS for the services the web app calls from another origin (the browser's same-origin
policy otherwise hides every answer from it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.types import Method

from shared.settings import Settings

# A browser caches a preflight this long (Chromium caps it at 2 hours), so a tab polling every
# few seconds does not send an OPTIONS before each poll.
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_config(
    settings: Settings,
    *,
    methods: Sequence[Method],
    allow_headers: Sequence[str] = (),
    expose_headers: Sequence[str] = (),
) -> CORSConfig:
    """Only CORS_ALLOWED_ORIGINS may call; no cookies (the client sends bearer tokens), so
    `allow_credentials` stays off and a `*` origin cannot leak a cookie-authenticated answer."""
    return CORSConfig(
        allow_origins=settings.cors_origins,
        allow_methods=[*methods, "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Accept-Language",
            "X-Request-ID",
            *allow_headers,
        ],
        expose_headers=["Retry-After", "X-Request-ID", "WWW-Authenticate", *expose_headers],
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )


def with_cors(config: CORSConfig) -> Callable[[AppConfig], AppConfig]:
    """An `on_app_init` hook that installs `config` (build_app takes hooks, not a CORS config)."""

    def install(app_config: AppConfig) -> AppConfig:
        app_config.cors_config = config
        return app_config

    return install
