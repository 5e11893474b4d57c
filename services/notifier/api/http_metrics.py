"""HTTP metrics of the notifier and the `/metrics` endpoint.

Requests are labelled by route template (`/v1/notifications/{notification_id}/read`), never by
raw path, so the number of series stays bounded whatever ids clients send. Everything lives in
prometheus_client's default registry, beside the consumer metrics of the ingest side.
"""

from __future__ import annotations

import time
from typing import Final

from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from shared.problems import problem_for

_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS: Final = Counter(
    "notifier_http_requests_total",
    "HTTP requests answered by the notifier, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY: Final = Histogram(
    "notifier_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)


def http_metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Count and time every routed HTTP request (an unknown path or method is answered by the
    router before any middleware runs, so it is not counted here)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        status = 500  # what the client gets if the app fails before starting a response
        started = time.perf_counter()

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note_status)
        except Exception as exc:
            # Raised outside the handler (e.g. by the authentication middleware): the app's
            # exception handler answers it further out, with the status of the one mapping.
            status = problem_for(exc).status
            raise
        finally:
            route = scope.get("path_template") or "unrouted"
            labels = (scope.get("method", ""), route, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)

    return middleware


def instrument_http(app_config: AppConfig) -> AppConfig:
    """`on_app_init` hook adding the metrics middleware to the app."""
    app_config.middleware.append(http_metrics_middleware)
    return app_config
