"""What the CLI knows about each service: its schema and migrations, and how to build its app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.auth import app as auth_app
from services.notifier import app as notifier_app
from shared.migrations import apply_migrations


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    schema: str
    migrations: Path


SERVICES: dict[str, ServiceInfo] = {
    "auth": ServiceInfo("auth", auth_app.SCHEMA, auth_app.MIGRATIONS),
    "notifier": ServiceInfo("notifier", notifier_app.SCHEMA, notifier_app.MIGRATIONS),
}


async def migrate_all(dsn: str, names: tuple[str, ...] = tuple(SERVICES)) -> dict[str, list[str]]:
    """Apply every pending migration of the named services; returns what each applied."""
    return {
        name: await apply_migrations(dsn, SERVICES[name].schema, SERVICES[name].migrations)
        for name in names
    }
