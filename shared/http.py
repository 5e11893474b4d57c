"""HTTP building blocks both services use: health routes, request ids, the app skeleton and
the uvicorn runner."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
import uvicorn
from litestar import Litestar, MediaType, Response, get
from litestar.config.app import AppConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger
from shared.problem_docs import problem_response
from shared.problems import EXCEPTION_HANDLERS, Problem

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when the dependency is fine, otherwise a short reason."""

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Bind a request id (the caller's X-Request-ID when sane, else a new one) to every log line
    of the request and echo it in the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await app(scope, receive, send_with_id)

    return middleware


def health_routes(checks: dict[str, ReadinessCheck]) -> list[Any]:
    """`/health/live` (the process answers) and `/health/ready` (every dependency is usable)."""

    @get("/health/live", media_type=MediaType.JSON, tags=["health"], summary="Liveness")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/health/ready",
        media_type=MediaType.JSON,
        tags=["health"],
        summary="Readiness",
        responses={503: problem_response(503, "Not ready; `checks` says which dependency")},
    )
    async def ready() -> Response[Any]:
        names = list(checks)
        results = await asyncio.gather(*(checks[n]() for n in names))
        failures = {n: r for n, r in zip(names, results, strict=True) if r is not None}
        if failures:
            problem = Problem(
                slug="not-ready",
                title="Not ready",
                status=503,
                detail="; ".join(f"{n}: {r}" for n, r in failures.items()),
                extensions={"checks": {n: failures.get(n, "ok") for n in names}},
            )
            return problem.to_response()
        return Response({"status": "ready", "checks": dict.fromkeys(names, "ok")})

    return [live, ready]


def openapi_config(title: str, version: str, description: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )


def build_app(
    *,
    route_handlers: Sequence[Any],
    openapi: OpenAPIConfig,
    lifespan: Sequence[Any] = (),
    dependencies: dict[str, Any] | None = None,
    on_app_init: Sequence[Callable[[AppConfig], AppConfig]] = (),
    state: dict[str, Any] | None = None,
) -> Litestar:
    """A Litestar app with the house defaults: problem+json errors, request ids, OpenAPI."""
    from litestar.datastructures import State

    return Litestar(
        route_handlers=list(route_handlers),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware],
        openapi_config=openapi,
        lifespan=list(lifespan),
        dependencies=dependencies or {},
        on_app_init=list(on_app_init),
        state=State(state or {}),
        logging_config=None,
        debug=False,
    )


def internal_app(route_handlers: Sequence[Any]) -> Litestar:
    """The internal listener's app (/metrics, AsyncAPI): no lifespan, no API."""
    return Litestar(
        route_handlers=list(route_handlers),
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


_STOPPING_HOOKS = "server_stopping_hooks"


def on_server_stopping(app: Litestar, hook: Callable[[], None]) -> None:
    """Call `hook` as soon as the server (a `Server`) begins its graceful shutdown, before it waits
    for the requests in flight: a request held open on purpose (a long poll) can then be answered
    at once instead of holding up the shutdown until it is cut off."""
    app.state.setdefault(_STOPPING_HOOKS, []).append(hook)


class Server(uvicorn.Server):
    """uvicorn's server, running the app's `on_server_stopping` hooks when it starts stopping
    (uvicorn sends the lifespan shutdown only after every request in flight has ended)."""

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        app = self.config.app
        if isinstance(app, Litestar):
            for hook in app.state.get(_STOPPING_HOOKS, ()):
                hook()
        await super().shutdown(sockets)


def _server(app: Litestar, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return Server(config)


def serve(
    app: Litestar, host: str, port: int, *, internal: tuple[Litestar, str, int] | None = None
) -> None:
    """Run an app with uvicorn until SIGINT/SIGTERM; shuts down gracefully. `internal`: a second
    listener (metrics) in the same process, stopped when the main one stops."""
    if internal is None:
        _server(app, host, port).run()
        return

    async def both() -> None:
        side = _server(*internal)
        side_task = asyncio.create_task(side.serve())
        await asyncio.sleep(0)  # the side server starts first: the main one owns the signals
        try:
            await _server(app, host, port).serve()
        finally:
            side.should_exit = True
            await side_task

    asyncio.run(both())
