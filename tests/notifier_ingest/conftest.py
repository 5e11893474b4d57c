"""Fixtures of the ingest tests: per-test topics (a unique prefix) and a consumer in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from services.notifier.ingest.consumer import IngestConsumer, build_ingest_consumer
from services.notifier.settings import NotifierSettings
from shared.db import create_pool
from tests.notifier_ingest.helpers import create_topics, new_prefix, settings_for

RunConsumer = Callable[..., AbstractAsyncContextManager[IngestConsumer]]


@pytest.fixture
async def topics_prefix(kafka_bootstrap: str) -> str:
    """A fresh set of the notifier's topics (three partitions each) for this test alone."""
    prefix = new_prefix()
    await create_topics(kafka_bootstrap, settings_for(prefix).topics)
    return prefix


@pytest.fixture
def ingest_settings(request: pytest.FixtureRequest, topics_prefix: str) -> NotifierSettings:
    """The settings for this test's topics; `indirect` parametrization passes overrides."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return settings_for(topics_prefix, **overrides)


# Runs a consumer test once per write path: the one-statement path and the COPY path.
BOTH_WRITE_PATHS = pytest.mark.parametrize(
    "ingest_settings",
    [{"NOTIFIER_COPY_THRESHOLD": 1_000_000}, {"NOTIFIER_COPY_THRESHOLD": 1}],
    ids=["statement", "copy"],
    indirect=True,
)


@pytest.fixture
def run_consumer(kafka_bootstrap: str, database_url: str) -> RunConsumer:
    """`async with run_consumer(settings) as consumer:` — started, then stopped; it writes
    through a pool of its own, as the service's consumer writes through the service's pool."""

    @asynccontextmanager
    async def running(
        settings: NotifierSettings, *, dsn: str | None = None, **options: Any
    ) -> AsyncIterator[IngestConsumer]:
        pool = await create_pool(dsn or database_url, max_size=2, search_path="notifier")
        consumer = build_ingest_consumer(kafka_bootstrap, pool, settings, **options)
        await consumer.start()
        try:
            yield consumer
        finally:
            await consumer.stop()
            await pool.close()

    return running
