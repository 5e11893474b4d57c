"""`clochette users create`, `users deactivate`, `keys rotate` and `audit`, run as an operator
would: a subprocess with DATABASE_URL set."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from clochette.auth_commands import _audit, _create_user, _deactivate
from tests.auth.conftest import SECRET_KEY, cheap_auth_settings

CLOCHETTE = [sys.executable, "-m", "clochette.cli"]


def run(
    database_url: str,
    *args: str,
    stdin: str = "",
    tmp: Path,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CLOCHETTE_SECRET_KEY": SECRET_KEY,
        "CLOCHETTE_HOME": str(tmp),
        "AUTH_ARGON2_TIME_COST": "1",
        "AUTH_ARGON2_MEMORY_KIB": "256",
        "AUTH_ARGON2_PARALLELISM": "1",
        "LOG_FORMAT": "json",
    }
    env.update(extra)
    return subprocess.run(
        [*CLOCHETTE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "auth"})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_users_create_prints_json_and_stores_the_user(
    database_url: str, tmp_path: Path
) -> None:
    done = run(
        database_url,
        "users", "create", "--organization", "Boulangerie Dupont",
        "--email", "Marie@Dupont.be", "--role", "admin", "--language", "fr",
        stdin="croissants at dawn daily\n",
        tmp=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["email"] == "marie@dupont.be"
    assert result["organization_created"] is True
    rows = await fetch(
        database_url,
        """SELECT u.id, u.organization_id, u.role, u.language, u.password_hash, o.name
           FROM users u JOIN organizations o ON o.id = u.organization_id""",
    )
    assert len(rows) == 1
    assert str(rows[0]["id"]) == result["user_id"]
    assert str(rows[0]["organization_id"]) == result["organization_id"]
    assert (rows[0]["role"], rows[0]["language"], rows[0]["name"]) == (
        "admin", "fr", "Boulangerie Dupont",
    )  # fmt: skip
    assert rows[0]["password_hash"].startswith("$argon2id$")
    outbox = await fetch(database_url, "SELECT topic, key FROM outbox")
    assert [(r["topic"], r["key"]) for r in outbox] == [("auth.users", result["organization_id"])]

    second = run(
        database_url,
        "users", "create", "--organization", "boulangerie dupont",
        "--email", "paul@dupont.be", "--role", "member", "--language", "nl",
        stdin="bread crumbs everywhere today\n",
        tmp=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["organization_id"] == result["organization_id"]
    assert json.loads(second.stdout)["organization_created"] is False


async def test_users_create_refuses_a_taken_email_and_a_weak_password(
    database_url: str, tmp_path: Path
) -> None:
    args = ["users", "create", "--organization", "Acme", "--role", "member", "--language", "en"]
    ok = run(
        database_url, *args, "--email", "a@acme.be", stdin="long enough phrase here\n", tmp=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    taken = run(
        database_url, *args, "--email", "A@ACME.be", stdin="another fine phrase\n", tmp=tmp_path
    )
    assert taken.returncode == 1
    assert "already exists" in taken.stderr
    weak = run(database_url, *args, "--email", "b@acme.be", stdin="acme\n", tmp=tmp_path)
    assert weak.returncode == 1
    assert "password: Use at least 12 characters." in weak.stderr
    assert "password: The password must not contain the name of your organisation." in weak.stderr
    assert weak.stdout == ""


async def test_keys_rotate_creates_a_sealed_key_published_ahead(
    database_url: str, tmp_path: Path
) -> None:
    rotated = run(database_url, "keys", "rotate", tmp=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    result = json.loads(rotated.stdout)
    keys = await fetch(
        database_url, "SELECT kid, sealed_private_key, created_at, activates_at FROM signing_keys"
    )
    assert [r["kid"] for r in keys] == [result["kid"]]
    assert len(keys[0]["sealed_private_key"]) > 32
    assert keys[0]["activates_at"] - keys[0]["created_at"] == timedelta(seconds=600)


async def test_deactivate_and_audit_commands(database_url: str) -> None:
    """The bodies of `users deactivate` and `audit`, run in-process (the subprocess start-up
    costs seconds; the argument wiring is the same as above)."""
    args = argparse.Namespace(organization="Acme", email="a@acme.be", role="member", language="en")
    created = await _create_user(database_url, cheap_auth_settings(), args, "long enough phrase")
    assert created["email"] == "a@acme.be"
    deactivated = await _deactivate(database_url, "A@Acme.be")
    assert deactivated == {"user_id": created["user_id"], "email": "a@acme.be", "active": False}
    assert await _deactivate(database_url, "nobody@acme.be") is None
    entries = await _audit(database_url, "a@acme.be", 10)
    assert [e["event"] for e in entries] == ["user_deactivated", "user_created"]
    assert entries[0]["details"]["deactivated_by"] == "cli"
