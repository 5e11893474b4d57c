"""Versioned SQL migrations: one folder of `NNNN_name.sql` files per service, each service in its
own PostgreSQL schema. Files apply in order, each in its own transaction, under an advisory lock,
and are recorded with a SHA-256 checksum; editing an applied file is an error.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from shared.logging import get_logger

log = get_logger(__name__)

_FILE_PATTERN = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The migrations on disk and in the database disagree; the message says how."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations(directory: Path) -> list[Migration]:
    """Read a folder of migrations, refusing misnamed files and duplicate versions."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lowercase_name.sql")
        version = int(match["version"])
        if version in migrations:
            raise MigrationError(
                f"{path.name}: version {version} is also {migrations[version].filename}"
            )
        migrations[version] = Migration(version, match["name"], path.read_text(encoding="utf-8"))
    return [migrations[v] for v in sorted(migrations)]


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"clochette:migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _applied(conn: asyncpg.Connection[Any], schema: str) -> dict[int, asyncpg.Record]:
    exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations")
    if exists is None:
        return {}
    rows = await conn.fetch(f'SELECT version, name, checksum FROM "{schema}".schema_migrations')
    return {row["version"]: row for row in rows}


def _check_history(
    migrations: list[Migration], applied: dict[int, asyncpg.Record], schema: str
) -> list[Migration]:
    on_disk = {m.version: m for m in migrations}
    for version, row in sorted(applied.items()):
        migration = on_disk.get(version)
        if migration is None:
            raise MigrationError(
                f"schema {schema!r} has migration {version:04d}_{row['name']} applied, which this "
                "code does not have: the database is newer than the code"
            )
        if migration.checksum != row["checksum"]:
            raise MigrationError(
                f"{migration.filename} was edited after it was applied to schema {schema!r}; "
                "write a new migration instead of changing an applied one"
            )
    return [m for m in migrations if m.version not in applied]


async def apply_migrations(dsn: str, schema: str, directory: Path) -> list[str]:
    """Apply the pending migrations of one service; returns the file names applied."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
        try:
            # CREATE SCHEMA IF NOT EXISTS checks the right to create schemas before it looks
            # for the schema: a service role owning its schema (`clochette db roles`) has not.
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                await conn.execute(f'CREATE SCHEMA "{schema}"')
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            pending = _check_history(migrations, await _applied(conn, schema), schema)
            for migration in pending:
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                    await conn.execute(migration.sql)
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations (version, name, checksum) '
                        "VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                log.info("migration_applied", schema=schema, migration=migration.filename)
            return [m.filename for m in pending]
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    finally:
        await conn.close()


async def pending_migrations(dsn: str, schema: str, directory: Path) -> list[str]:
    """The migrations not yet applied (raises MigrationError when the history disagrees)."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        pending = _check_history(migrations, await _applied(conn, schema), schema)
    finally:
        await conn.close()
    return [m.filename for m in pending]


async def require_current_schema(dsn: str, schema: str, directory: Path) -> None:
    """Refuse to serve on a database whose schema is behind this code."""
    pending = await pending_migrations(dsn, schema, directory)
    if pending:
        raise MigrationError(
            f"schema {schema!r} lacks migrations {', '.join(pending)}: run `clochette migrate`"
        )
