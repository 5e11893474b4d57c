"""Operator commands of the auth service: `users create`, `users deactivate`, `keys rotate` and
`audit`. Without DATABASE_URL they use the embedded PostgreSQL of `make run`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TextIO

import asyncpg

from clochette.devstack import DEFAULT_PG_PORT, database_url_for_command
from services.auth.platform.config import AuthSettings, load_auth_settings
from shared.problems import DomainError
from shared.settings import Settings, clochette_home

Handler = Callable[[Settings, argparse.Namespace], int]


def _pg_port() -> int:
    return int(os.environ.get("CLOCHETTE_PG_PORT", DEFAULT_PG_PORT))


def _out(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def read_password(stdin: TextIO) -> str:
    """The password: asked twice on a terminal, else the first line of standard input."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


@asynccontextmanager
async def auth_pool(database_url: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A small pool on the auth schema, after checking the schema is current."""
    from services.auth.app import MIGRATIONS, SCHEMA
    from shared.db import create_pool
    from shared.migrations import require_current_schema

    await require_current_schema(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(database_url, min_size=1, max_size=2, search_path=SCHEMA)
    try:
        yield pool
    finally:
        await pool.close()


def _report_domain_error(command: str, error: DomainError) -> int:
    _out(f"clochette {command}: {error.detail}", sys.stderr)
    for item in error.errors:
        _out(f"  {item.field}: {item.message}", sys.stderr)
    return 1


async def _create_user(
    database_url: str, auth: AuthSettings, args: argparse.Namespace, password: str
) -> dict[str, Any]:
    from services.auth.accounts.accounts import Accounts, NewUser
    from services.auth.components import password_hashing, password_policy
    from shared.clock import SystemClock
    from shared.db import UnitOfWork

    hashing = password_hashing(auth)
    try:
        async with auth_pool(database_url) as pool:
            accounts = Accounts(UnitOfWork(pool), SystemClock(), hashing, password_policy(auth))
            user, organization_created = await accounts.create_user_in_named_organization(
                args.organization, NewUser(args.email, password, args.role, args.language)
            )
    finally:
        hashing.close()
    return {
        "user_id": str(user.id),
        "organization_id": str(user.organization_id),
        "email": user.email,
        "role": user.role,
        "language": user.language,
        "organization_created": organization_created,
    }


def cmd_users_create(_settings: Settings, args: argparse.Namespace) -> int:
    """Create a user (and the organisation when it does not exist); prints JSON."""
    try:
        password = read_password(sys.stdin)
    except ValueError as exc:
        _out(f"clochette users create: {exc}", sys.stderr)
        return 1
    auth = load_auth_settings()
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        try:
            result = asyncio.run(_create_user(url, auth, args, password))
        except DomainError as error:
            return _report_domain_error("users create", error)
    _out(json.dumps(result))
    return 0


async def _deactivate(database_url: str, email: str) -> dict[str, Any] | None:
    from services.auth.accounts.accounts import Accounts
    from services.auth.components import password_hashing, password_policy
    from shared.clock import SystemClock
    from shared.db import UnitOfWork

    auth = load_auth_settings()
    hashing = password_hashing(auth)
    try:
        async with auth_pool(database_url) as pool:
            accounts = Accounts(UnitOfWork(pool), SystemClock(), hashing, password_policy(auth))
            user = await accounts.find_by_email(email)
            if user is None:
                return None
            user = await accounts.deactivate(user.id)
    finally:
        hashing.close()
    return {"user_id": str(user.id), "email": user.email, "active": user.active}


def cmd_users_deactivate(_settings: Settings, args: argparse.Namespace) -> int:
    """Deactivate a user: no more logins, every session ended, `user.deactivated` published."""
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        result = asyncio.run(_deactivate(url, args.email))
    if result is None:
        _out(
            f"clochette users deactivate: no user with the e-mail address {args.email}", sys.stderr
        )
        return 1
    _out(json.dumps(result))
    return 0


async def _rotate(database_url: str, secret_key: str, publish_ahead: timedelta) -> dict[str, Any]:
    from services.auth.platform.crypto import Sealer
    from services.auth.sessions.keys import SEALING_PURPOSE, rotate_signing_key
    from shared.clock import SystemClock
    from shared.db import UnitOfWork

    async with auth_pool(database_url) as pool:
        row = await rotate_signing_key(
            UnitOfWork(pool),
            Sealer(secret_key, SEALING_PURPOSE),
            SystemClock().now(),
            publish_ahead,
        )
    return {"kid": row.kid, "activates_at": row.activates_at.isoformat()}


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    """Create the next signing key: published at once, used from `activates_at`."""
    auth = load_auth_settings()
    ahead = timedelta(seconds=0 if args.now else auth.signing_key_publish_ahead_seconds)
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        result = asyncio.run(_rotate(url, settings.require_auth_secret_key(), ahead))
    _out(json.dumps(result))
    return 0


async def _audit(database_url: str, email: str | None, limit: int) -> list[dict[str, Any]]:
    from services.auth.domain import normalize_email
    from services.auth.platform import repository

    async with auth_pool(database_url) as pool, pool.acquire() as conn:
        entries = await repository.audit_entries(
            conn, email=normalize_email(email) if email else None, limit=limit
        )
    return [
        {
            "occurred_at": e.occurred_at.isoformat(),
            "event": e.event,
            "email": e.email,
            "user_id": str(e.user_id) if e.user_id else None,
            "client_address": e.client_address,
            "details": e.details,
        }
        for e in entries
    ]


def cmd_audit(_settings: Settings, args: argparse.Namespace) -> int:
    """The latest security events, newest first (a table, or JSON lines with --json)."""
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        entries = asyncio.run(_audit(url, args.email, args.limit))
    for entry in entries:
        if args.json:
            _out(json.dumps(entry))
        else:
            details = " ".join(f"{k}={v}" for k, v in (entry["details"] or {}).items())
            _out(
                f"{entry['occurred_at'][:19]}  {entry['event']:<24} {entry['email'] or '-':<32} "
                f"{entry['client_address'] or '-':<16} {details}"
            )
    return 0


async def _reencrypt(database_url: str, old_key: str, new_key: str) -> dict[str, int]:
    from services.auth.platform.reencryption import reencrypt_secrets
    from shared.db import UnitOfWork

    async with auth_pool(database_url) as pool:
        # One transaction: every secret is re-sealed, or none (CannotUnseal rolls back).
        return await UnitOfWork(pool).run(lambda conn: reencrypt_secrets(conn, old_key, new_key))


def old_secret_key(args: argparse.Namespace) -> str:
    """The previous CLOCHETTE_SECRET_KEY: --old-key-file, else CLOCHETTE_OLD_SECRET_KEY."""
    if args.old_key_file:
        with open(args.old_key_file, encoding="utf-8") as handle:
            key = handle.read().strip()
    else:
        key = os.environ.get("CLOCHETTE_OLD_SECRET_KEY", "").strip()
    if not key:
        raise ValueError("give the old key with --old-key-file or CLOCHETTE_OLD_SECRET_KEY")
    return key


def cmd_secrets_reencrypt(settings: Settings, args: argparse.Namespace) -> int:
    """Re-encrypt every TOTP secret and signing key from the old secret key to the current
    CLOCHETTE_SECRET_KEY, in one transaction (all or nothing)."""
    from services.auth.platform.crypto import CannotUnseal

    try:
        old = old_secret_key(args)
    except (OSError, ValueError) as error:
        _out(f"secrets reencrypt: {error}", sys.stderr)
        return 2
    new = settings.require_auth_secret_key()
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        try:
            result = asyncio.run(_reencrypt(url, old, new))
        except CannotUnseal:
            _out(
                "secrets reencrypt: a stored secret does not open with the old key; "
                "nothing was changed",
                sys.stderr,
            )
            return 1
    _out(json.dumps(result))
    return 0


def add_auth_commands(commands: Any) -> None:
    """Register `users`, `keys` and `audit` on the CLI's subcommand parser."""

    def add(parent: Any, name: str, handler: Handler | None, help_: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    users = add(commands, "users", None, "manage users of the auth service")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    create = add(
        user_commands,
        "create",
        cmd_users_create,
        "create a user; the password is read from standard input; prints JSON with "
        "user_id and organization_id",
    )
    create.add_argument("--organization", required=True, help="organisation name (created if new)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["admin", "member"])
    create.add_argument("--language", required=True, choices=["nl", "fr", "en", "de"])
    deactivate = add(
        user_commands, "deactivate", cmd_users_deactivate, "deactivate a user and end every session"
    )
    deactivate.add_argument("--email", required=True)

    keys = add(commands, "keys", None, "manage the access token signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    rotate = add(
        key_commands,
        "rotate",
        cmd_keys_rotate,
        "create the next signing key; it is published now and signs after "
        "AUTH_SIGNING_KEY_PUBLISH_AHEAD_SECONDS (600), so verifiers caching the JWKS know it",
    )
    rotate.add_argument("--now", action="store_true", help="sign with the new key at once")

    secrets = add(
        commands,
        "secrets",
        None,
        "manage secrets sealed under AUTH_SECRET_KEY (CLOCHETTE_SECRET_KEY in development)",
    )
    secret_commands = secrets.add_subparsers(
        dest="secrets_command", required=True, metavar="COMMAND"
    )
    reencrypt = add(
        secret_commands,
        "reencrypt",
        cmd_secrets_reencrypt,
        "re-encrypt every TOTP secret and signing key from the old key (--old-key-file or "
        "CLOCHETTE_OLD_SECRET_KEY) to AUTH_SECRET_KEY, in one transaction",
    )
    reencrypt.add_argument("--old-key-file", help="file holding the previous secret key")

    audit = add(commands, "audit", cmd_audit, "show the latest security events")
    audit.add_argument("--email", help="only events of this e-mail address")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true", help="JSON lines instead of a table")
