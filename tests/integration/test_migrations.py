"""The migration runner: ordered, transactional, locked, checksummed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from clochette.services import SERVICES, migrate_all
from shared.migrations import (
    MigrationError,
    apply_migrations,
    load_migrations,
    pending_migrations,
)


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_service_migrations_apply_once_and_are_then_up_to_date(
    empty_database_url: str,
) -> None:
    first = await migrate_all(empty_database_url)
    assert all(first[name] for name in SERVICES)
    again = await migrate_all(empty_database_url)
    assert again == {name: [] for name in SERVICES}
    conn = await asyncpg.connect(empty_database_url)
    try:
        recorded = await conn.fetch("SELECT version, checksum FROM auth.schema_migrations")
    finally:
        await conn.close()
    assert [r["version"] for r in recorded] == [
        m.version for m in load_migrations(SERVICES["auth"].migrations)
    ]


async def test_migrations_apply_in_version_order(empty_database_url: str, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "0002_add_column.sql": "ALTER TABLE thing ADD COLUMN label text;",
            "0001_create.sql": "CREATE TABLE thing (id int PRIMARY KEY);",
        },
    )
    applied = await apply_migrations(empty_database_url, "demo", folder)
    assert applied == ["0001_create.sql", "0002_add_column.sql"]


async def test_a_failing_migration_leaves_nothing_half_applied(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE a (id int);",
            "0002_broken.sql": "CREATE TABLE b (id int); SELECT * FROM does_not_exist;",
        },
    )
    with pytest.raises(asyncpg.UndefinedTableError):
        await apply_migrations(empty_database_url, "demo", folder)
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('demo.a')") is not None
        assert await conn.fetchval("SELECT to_regclass('demo.b')") is None
        versions = await conn.fetch("SELECT version FROM demo.schema_migrations")
    finally:
        await conn.close()
    assert [r["version"] for r in versions] == [1]
    assert await pending_migrations(empty_database_url, "demo", folder) == ["0002_broken.sql"]


async def test_editing_an_applied_migration_is_an_error(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "m", {"0001_create.sql": "CREATE TABLE t (id int);"})
    await apply_migrations(empty_database_url, "demo", folder)
    write(folder, {"0001_create.sql": "CREATE TABLE t (id bigint);"})
    with pytest.raises(MigrationError, match="was edited after it was applied"):
        await apply_migrations(empty_database_url, "demo", folder)


async def test_a_database_newer_than_the_code_is_an_error(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "m",
        {"0001_a.sql": "CREATE TABLE a (id int);", "0002_b.sql": "CREATE TABLE b (id int);"},
    )
    await apply_migrations(empty_database_url, "demo", folder)
    (folder / "0002_b.sql").unlink()
    with pytest.raises(MigrationError, match="newer than the code"):
        await apply_migrations(empty_database_url, "demo", folder)


@pytest.mark.parametrize(
    "files",
    [
        {"1_short.sql": "SELECT 1;"},
        {"0001_Upper.sql": "SELECT 1;"},
        {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"},
    ],
)
def test_misnamed_or_duplicate_files_are_refused(tmp_path: Path, files: dict[str, str]) -> None:
    with pytest.raises(MigrationError):
        load_migrations(write(tmp_path / "m", files))


async def test_concurrent_runners_apply_each_migration_exactly_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    # A migration that is not idempotent: applying it twice would fail.
    folder = write(
        tmp_path / "m",
        {
            "0001_create.sql": "CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);",
            "0002_slow.sql": "SELECT pg_sleep(0.3); UPDATE counter SET n = n + 1;",
        },
    )
    results = await asyncio.gather(
        *(apply_migrations(empty_database_url, "demo", folder) for _ in range(4))
    )
    assert sorted(len(r) for r in results) == [0, 0, 0, 2]
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT n FROM demo.counter") == 1
    finally:
        await conn.close()
