"""The reference web client's server: static files (no build step), `/config.json` telling the
client where the services are, and the security headers that make the client's token handling
defensible (a strict CSP without inline script, Trusted Types, no framing).

The client itself only talks to the public HTTP APIs of auth and notifier, cross-origin, exactly
as the platform's web app does; this server never sees a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.response import File, Redirect
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope

from shared.http import health_routes, request_id_middleware
from shared.problems import EXCEPTION_HANDLERS
from shared.settings import Settings, origin_of

STATIC = Path(__file__).parent / "static"
LANGUAGES = ("nl", "fr", "en", "de")
# Paths of the single page the platform links to (the notifier's security notifications point
# at /settings/security); each serves index.html, which shows the right view.
PAGE_PATHS = ("/", "/login", "/settings", "/settings/security")
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles only from this origin (no inline code, no eval), network calls only to
    this origin and the two services, DOM sinks closed by Trusted Types (the client builds its
    DOM with textContent), no framing, no plugins, no <base> tricks."""
    connect = sorted(
        {
            "'self'",
            origin_of(settings.public_auth_url),
            origin_of(settings.public_notifier_url),
        }
    )
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if settings.web_app_base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def security_headers_hook(settings: Settings) -> Any:
    """A `before_send` hook, so every answer carries the headers — pages, scripts, JSON and the
    router's own 404s, which route middleware never sees. Static files are revalidated on each
    load (`no-cache`; they have validators) so a deploy is seen at once."""
    headers = security_headers(settings)

    async def add_headers(message: Message, _scope: Scope) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                mutable[name] = value
            if "cache-control" not in mutable:
                mutable["Cache-Control"] = "no-cache"

    return add_headers


def loopback_redirect(settings: Settings) -> Any:
    """A `before_request` hook: on a developer's machine, `localhost:3000` and `127.0.0.1:3000`
    are two origins, and the services' CORS lets only WEB_APP_BASE_URL's in (and passkeys work
    only under a domain name: the default is `localhost`). A page opened under the other
    loopback name would fail every call, so it is sent to the configured one. Only between
    loopback names, and always to that fixed URL: nothing here redirects elsewhere."""
    base = urlsplit(settings.web_app_base_url)
    canonical = f"{base.scheme}://{base.netloc}"

    async def redirect(request: Request[Any, Any, Any]) -> Redirect | None:
        host = request.headers.get("host", "")
        if host == base.netloc or base.hostname not in LOOPBACK:
            return None
        name = host.rpartition("]")[0].lstrip("[") if host.startswith("[") else host.split(":")[0]
        if name not in LOOPBACK:
            return None
        query = f"?{request.url.query}" if request.url.query else ""
        return Redirect(f"{canonical}{request.url.path}{query}", status_code=308)

    return redirect


def client_config(settings: Settings) -> dict[str, Any]:
    """What the client needs to know at start: where the services are and which languages."""
    return {
        "auth_url": settings.public_auth_url,
        "notifier_url": settings.public_notifier_url,
        "languages": list(LANGUAGES),
    }


def create_app(settings: Settings) -> Litestar:
    """The web client's server; stateless, no database, no broker."""
    config = client_config(settings)

    @get("/config.json", media_type=MediaType.JSON, include_in_schema=False)
    async def config_json() -> Response[dict[str, Any]]:
        return Response(config, headers={"Cache-Control": "no-store"})

    @get(list(PAGE_PATHS), include_in_schema=False)
    async def page() -> File:
        return File(
            STATIC / "index.html",
            filename="index.html",
            content_disposition_type="inline",
            media_type="text/html",
        )

    return Litestar(
        route_handlers=[
            *health_routes({}),
            config_json,
            page,
            create_static_files_router(
                path="/static", directories=[STATIC], include_in_schema=False
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware],
        before_request=loopback_redirect(settings),
        before_send=[security_headers_hook(settings)],
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
