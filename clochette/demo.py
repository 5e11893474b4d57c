"""The demo organisation and administrator that `clochette dev` seeds, so a fresh checkout can
log in at once.

The password is random per machine and kept (mode 0600) under CLOCHETTE_HOME, never a
well-known default: a dev stack pointed at a shared database must not open it to anyone.
Seeding is idempotent: a second run keeps the existing user and shows the kept password, unless
it was changed since.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from clochette.auth_commands import auth_pool
from services.auth.accounts.accounts import Accounts, NewUser
from services.auth.accounts.password_policy import PasswordContext
from services.auth.components import password_hashing, password_policy
from services.auth.platform.config import AuthSettings, load_auth_settings
from shared.clock import SystemClock
from shared.db import UnitOfWork

DEMO_ORGANIZATION: Final = "Demo Company"
DEMO_EMAIL: Final = "admin@demo.clochette.test"
LOGIN_FILE: Final = "demo-login.json"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str | None
    """None when the password was changed since it was seeded."""
    created: bool

    def banner_lines(self) -> list[str]:
        if self.password is None:
            return [
                f"  demo login        {self.email}   (password changed since it was seeded; "
                f"delete the user or {LOGIN_FILE} to start over)"
            ]
        return [
            f"  demo login        {self.email} / {self.password}",
            f"                    (administrator of {DEMO_ORGANIZATION!r}; kept in {LOGIN_FILE})",
        ]


def _kept_password(path: Path) -> str | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    password = document.get("password") if isinstance(document, dict) else None
    return password if isinstance(password, str) else None


def _keep_password(path: Path, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps({"email": DEMO_EMAIL, "password": password}) + "\n")


def _new_password(auth: AuthSettings) -> str:
    policy, context = password_policy(auth), PasswordContext(DEMO_EMAIL, DEMO_ORGANIZATION)
    while True:
        password = secrets.token_urlsafe(15)
        if not policy.broken_rules(password, context):
            return password


async def _seed(database_url: str, home: Path) -> DemoLogin:
    auth = load_auth_settings()
    hashing = password_hashing(auth)
    path = home / LOGIN_FILE
    kept = _kept_password(path)
    try:
        async with auth_pool(database_url) as pool:
            accounts = Accounts(UnitOfWork(pool), SystemClock(), hashing, password_policy(auth))
            user = await accounts.find_by_email(DEMO_EMAIL)
            if user is not None:
                still_valid = (
                    kept is not None and (await hashing.verify(user.password_hash, kept)).ok
                )
                return DemoLogin(DEMO_EMAIL, kept if still_valid else None, created=False)
            password = kept or _new_password(auth)
            await accounts.create_user_in_named_organization(
                DEMO_ORGANIZATION, NewUser(DEMO_EMAIL, password, "admin", "en")
            )
            _keep_password(path, password)
            return DemoLogin(DEMO_EMAIL, password, created=True)
    finally:
        hashing.close()


def seed_demo(database_url: str, home: Path) -> DemoLogin:
    """Create the demo organisation and its administrator unless they exist."""
    return asyncio.run(_seed(database_url, home))
