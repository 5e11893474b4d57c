"""One PostgreSQL role per service, owning its own schema and nothing else (`clochette db roles`).

The auth schema holds the sealed signing keys and the users' credentials; the notifier has no
business reading them. Each role owns its schema (so it can run its own migrations), the schema
is closed to PUBLIC, and each role loses whatever it had on the other service's schema. Run by
an administrator (a superuser, or the database owner with CREATEROLE) once per release, before
the services migrate their schemas with their own roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

# schema -> role of the service that owns it.
SERVICE_ROLES: Mapping[str, str] = {"auth": "clochette_auth", "notifier": "clochette_notifier"}


@dataclass(frozen=True)
class RoleReport:
    role: str
    schema: str
    created: bool
    objects_reassigned: int


async def provision_service_roles(dsn: str, passwords: Mapping[str, str]) -> list[RoleReport]:
    """Create (or update the password of) each service's role, give it its schema and every
    object in it, and revoke its rights on the other schemas; one transaction."""
    missing = [schema for schema in SERVICE_ROLES if not passwords.get(schema)]
    if missing:
        raise ValueError(f"no password for the role of {', '.join(missing)}")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            database = await conn.fetchval("SELECT current_database()")
            reports = [
                await _own_schema(conn, database, schema, role, passwords[schema])
                for schema, role in SERVICE_ROLES.items()
            ]
            for schema, role in SERVICE_ROLES.items():
                for other in SERVICE_ROLES:
                    if other != schema:
                        await _revoke(conn, other, role)
            # PostgreSQL before 15 lets PUBLIC create in `public`: a service must not hide
            # objects there either.
            await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        return reports
    finally:
        await conn.close()


async def _own_schema(
    conn: asyncpg.Connection[Any], database: str, schema: str, role: str, password: str
) -> RoleReport:
    exists = bool(await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))
    verb = "ALTER" if exists else "CREATE"
    # A password cannot be a bind parameter of a utility statement: format() quotes it.
    await conn.execute(
        await conn.fetchval(
            "SELECT format('%s ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOREPLICATION PASSWORD %L', $1::text, $2::text, $3::text)",
            verb,
            role,
            password,
        )
    )
    await conn.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(role)}")
    await conn.execute(f"ALTER ROLE {_ident(role)} SET search_path TO {_ident(schema)}")
    if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
        await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {_ident(role)}")
    else:
        await conn.execute(f"CREATE SCHEMA {_ident(schema)} AUTHORIZATION {_ident(role)}")
    await conn.execute(f"REVOKE ALL ON SCHEMA {_ident(schema)} FROM PUBLIC")
    statements = await conn.fetch(_REASSIGN_OBJECTS, schema, role)
    for row in statements:
        await conn.execute(row["statement"])
    return RoleReport(role, schema, created=not exists, objects_reassigned=len(statements))


async def _revoke(conn: asyncpg.Connection[Any], schema: str, role: str) -> None:
    """Take back anything `role` was granted on another service's schema."""
    if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
        return
    for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
        await conn.execute(
            f"REVOKE ALL ON ALL {kind} IN SCHEMA {_ident(schema)} FROM {_ident(role)}"
        )
    await conn.execute(f"REVOKE ALL ON SCHEMA {_ident(schema)} FROM {_ident(role)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Tables, views and free-standing sequences (a sequence owned by a column follows its table),
# and functions, of one schema, with the statement that gives each to the role.
_REASSIGN_OBJECTS = """
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, $2::text) AS statement
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $2::text)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1
"""
