"""What the Schemathesis fuzz tests of both services share: how many examples, a real uvicorn
server in a thread of its own, and the loop that fuzzes one OpenAPI operation with the checks.

Why a server thread and not Schemathesis' ASGI transport: the services' lifespans open asyncpg
pools bound to their event loop, and Schemathesis calls synchronously (requests). A uvicorn server
running its own loop in a thread serves those synchronous calls over a real socket while the
test's session loop keeps the database fixtures.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import hypothesis
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema

from clochette.devstack import free_port
from tests.fuzz.budget import DERANDOMIZE, FUZZ_EXAMPLES

T = TypeVar("T")
Operation = APIOperation[Any, Any, Any, Any]
FuzzCase = schemathesis.Case[Any]


def checks() -> list[CheckFunction]:
    """The checks every response must pass.

    `not_a_server_error`: no 5xx. `status_code_conformance`, `content_type_conformance`,
    `response_schema_conformance`, `response_headers_conformance`: each answer is one the
    document declares, with its media type, body schema and required headers.
    `negative_data_rejection`: a request the document says is invalid gets a 4xx, not a 2xx.
    (`use_after_free` and `ensure_resource_availability` only judge stateful link sequences,
    which these per-operation tests do not run; they are left to a stateful run.)
    """
    from schemathesis import checks as sc

    return [
        sc.not_a_server_error,
        sc.status_code_conformance,
        sc.content_type_conformance,
        sc.response_schema_conformance,
        sc.response_headers_conformance,
        sc.negative_data_rejection,
    ]


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document the app serves at /schema/openapi.json (Litestar builds it from the
    same route handlers without a running server, so tests can be parametrized at collection)."""
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def errors_not_declared_as_problems(document: dict[str, Any]) -> list[str]:
    """Every 4xx/5xx a document declares must be problem+json (contract section 3)."""
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                media_types = list((response.get("content") or {}).keys())
                if status[0] in "45" and media_types != ["application/problem+json"]:
                    wrong.append(f"{method.upper()} {path} {status}: {media_types}")
    return wrong


def load_schema(document: dict[str, Any]) -> BaseSchema:
    """The document as Schemathesis' schema, with this project's settings."""
    schema = schemathesis.openapi.from_dict(document)
    # Excluded, a Schemathesis false positive: its negative mode sends undeclared query
    # parameters and headers (`?=false`) and expects a 4xx. OpenAPI cannot say "no other query
    # parameters", and ignoring unknown ones is what HTTP APIs do (cache-busters, tracing
    # headers); request *bodies* still refuse unknown fields where the document says so.
    schema.config.generation.update(allow_extra_parameters=False)
    # A body over a route's byte limit is refused with 413 before it is validated (three
    # 4096-character passwords of 4-byte characters, JSON-escaped, pass 64 KiB): a rejection
    # like 400/422, which the check's default list lacks.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def operations(schema: BaseSchema) -> list[Operation]:
    found: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise TypeError(f"the document has an invalid operation: {result.err()}")
        found.append(result.ok())
    return found


class ServedApp:
    """A Litestar app behind uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            loop="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="fuzz-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._server.serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise AssertionError(f"the server stopped before it started: {self._error!r}")
            self._thread.join(0.02)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine in the server's loop (where the app's pools live)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)


@contextmanager
def served(app: Litestar) -> Iterator[ServedApp]:
    server = ServedApp(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fuzz_settings() -> hypothesis.settings:
    """Bounded and reproducible: FUZZ_EXAMPLES per operation, derandomised, no example database
    (a stored failure from another branch must not change what `make test` runs)."""
    return hypothesis.settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def strategy(operation: Operation, *overrides: dict[str, Any]) -> st.SearchStrategy[FuzzCase]:
    """Positive and negative cases of one operation; each `overrides` (keyword arguments of
    `as_strategy`, e.g. a real path parameter) adds the same cases with those values fixed, so
    the fuzzer reaches past the 403/404 of random identifiers too."""
    variants = [
        operation.as_strategy(generation_mode=mode, **extra)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for extra in ({}, *overrides)
    ]
    return st.one_of(variants)


def fuzz(
    operation: Operation,
    base_url: str,
    headers: dict[str, str],
    *overrides: dict[str, Any],
) -> None:
    """Call the operation with every generated case and run the checks on each answer."""
    session = requests.Session()
    selected = checks()

    @fuzz_settings()
    @hypothesis.given(case=strategy(operation, *overrides))
    def run(case: FuzzCase) -> None:
        case.call_and_validate(
            base_url=base_url, session=session, headers=headers, checks=selected, timeout=30
        )

    try:
        run()
    finally:
        session.close()
