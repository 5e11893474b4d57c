"""`clochette db roles`: each service connects as its own PostgreSQL role, owns its own schema
(migrations included) and cannot read the other's — a broken-into notifier reads no signing key."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from clochette.services import SERVICES
from services.auth.app import create_app as create_auth
from services.notifier.app import create_app as create_notifier
from services.notifier.settings import NotifierSettings
from shared.migrations import apply_migrations, pending_migrations
from shared.settings import Settings
from tests.auth.test_cli import run

AUTH_TABLES = ("signing_keys", "users", "outbox", "audit_log")


def as_role(url: str, role: str, password: str) -> str:
    """The same database, reached as another role."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{role}:{quote(password)}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def provision(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Run `clochette db roles` as the administrator; the URL of each service's role."""
    passwords = {name: secrets.token_urlsafe(24) for name in ("auth", "notifier")}
    files = {}
    for name, password in passwords.items():
        files[name] = tmp_path / f"{name}-password"
        files[name].write_text(password + "\n")
    done = run(
        database_url,
        "db",
        "roles",
        "--auth-password-file",
        str(files["auth"]),
        "--notifier-password-file",
        str(files["notifier"]),
        tmp=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return {
        "auth": as_role(database_url, "clochette_auth", passwords["auth"]),
        "notifier": as_role(database_url, "clochette_notifier", passwords["notifier"]),
    }


async def fetch_as(url: str, query: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def assert_refused(url: str, query: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await fetch_as(url, query)


async def test_the_notifier_role_cannot_read_auth_tables_and_auth_none_of_the_notifier(
    database_url: str, tmp_path: Path
) -> None:
    """On a database the administrator migrated (an existing deployment)."""
    urls = provision(database_url, tmp_path)
    for table in AUTH_TABLES:
        await assert_refused(urls["notifier"], f"SELECT * FROM auth.{table}")
    await assert_refused(urls["notifier"], "CREATE TABLE auth.stolen (x int)")
    await assert_refused(urls["auth"], "SELECT * FROM notifier.notifications")
    await assert_refused(urls["auth"], "SELECT * FROM notifier.recipients")
    # Each owns its own schema and what is in it.
    assert await fetch_as(urls["auth"], "SELECT count(*) FROM auth.signing_keys")
    assert await fetch_as(urls["notifier"], "SELECT count(*) FROM notifier.recipients")
    for name, url in urls.items():
        info = SERVICES[name]
        assert await pending_migrations(url, info.schema, info.migrations) == []


async def test_each_role_migrates_its_own_schema_and_runs_its_service(
    empty_database_url: str, tmp_path: Path
) -> None:
    """On a fresh database: roles first, then each service migrates with its own role."""
    urls = provision(empty_database_url, tmp_path)
    for name, url in urls.items():
        info = SERVICES[name]
        assert await apply_migrations(url, info.schema, info.migrations)
    await assert_refused(urls["notifier"], "SELECT * FROM auth.signing_keys")
    # A migration of the other service's schema is refused too.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await apply_migrations(urls["notifier"], "auth", SERVICES["auth"].migrations)

    def settings(url: str) -> Settings:
        return Settings(
            DATABASE_URL=url,
            KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
            AUTH_SECRET_KEY=secrets.token_urlsafe(48),
            NOTIFIER_SECRET_KEY=secrets.token_urlsafe(48),
            CLOCHETTE_ENV="test",
        )

    async with AsyncTestClient(app=create_auth(settings(urls["auth"]))) as client:
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert await fetch_as(urls["auth"], "SELECT kid FROM auth.signing_keys")
    no_ingest = NotifierSettings(NOTIFIER_INGEST_ENABLED=False)
    notifier = create_notifier(settings(urls["notifier"]), notifier=no_ingest)
    async with AsyncTestClient(app=notifier) as client:
        ready = await client.get("/health/ready")
    assert ready.json()["checks"]["database"] == "ok"  # (no broker here: 503 for that alone)
    assert await fetch_as(urls["notifier"], "SELECT count(*) FROM notifier.notifications")
