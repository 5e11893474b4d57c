"""Session-wide PostgreSQL and Kafka for the suite.

Without DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS the embedded ones are started once per session.
Every test that asks for `database_url` gets its own database, cloned from a template that the
real migrations built, so tests are isolated and can run in any order.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from clochette.devstack import free_port, start_broker, start_postgres
from clochette.services import migrate_all

DB_FIXTURES = {"database_url", "empty_database_url", "pg_admin_url", "template_database"}
KAFKA_FIXTURES = {"kafka_bootstrap"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the real services they use, so CI can rerun the database ones elsewhere."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & DB_FIXTURES:
            item.add_marker(pytest.mark.db)
        if names & KAFKA_FIXTURES:
            item.add_marker(pytest.mark.kafka)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def tmp_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def pg_admin_url(tmp_session_dir: Path) -> Iterator[str]:
    """A URL with the right to create databases: DATABASE_URL, or an embedded server."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    instance = start_postgres(
        tmp_session_dir / "postgres",
        free_port(),
        output=tmp_session_dir / "postgres.log",
        durable=False,
        create_database=None,
    )
    try:
        yield instance.admin_url
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_session_dir: Path) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS, or an embedded tansu broker on a free port."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    port = free_port()
    broker = start_broker(port, output=tmp_session_dir / "broker.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


async def _admin(pg_admin_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(pg_admin_url)


@pytest.fixture(scope="session")
async def template_database(pg_admin_url: str) -> AsyncIterator[str]:
    """A database with every service's migrations applied, cloned by each test."""
    name = f"clochette_template_{uuid.uuid4().hex[:10]}"
    admin = await _admin(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await migrate_all(with_database(pg_admin_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def scratch_database(
    pg_admin_url: str, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """A database of its own for one test (a copy of `template` when given), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await _admin(pg_admin_url)
    try:
        clone = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clone}')
        yield with_database(pg_admin_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(pg_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for this test alone."""
    async with scratch_database(pg_admin_url, "clochette_test", template_database) as url:
        yield url


@pytest.fixture
async def empty_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A fresh database without any migration, for testing the migration runner itself."""
    async with scratch_database(pg_admin_url, "clochette_empty") as url:
        yield url
