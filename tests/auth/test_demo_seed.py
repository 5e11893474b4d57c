"""`clochette dev` seeds a demo administrator once and shows its login."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest

from clochette.demo import DEMO_EMAIL, LOGIN_FILE, _seed


async def test_the_demo_admin_is_created_once_and_its_login_kept(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"TIME_COST": "1", "MEMORY_KIB": "256", "PARALLELISM": "1"}.items():
        monkeypatch.setenv(f"AUTH_ARGON2_{name}", value)
    first = await _seed(database_url, tmp_path)
    assert first.created
    assert first.password is not None
    assert first.password in "\n".join(first.banner_lines())
    assert stat.S_IMODE((tmp_path / LOGIN_FILE).stat().st_mode) == 0o600

    second = await _seed(database_url, tmp_path)
    assert (second.created, second.password) == (False, first.password)

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT role FROM auth.users WHERE email = $1", DEMO_EMAIL)
        assert [r["role"] for r in rows] == ["admin"]
        await conn.execute(
            "UPDATE auth.users SET password_hash = 'changed' WHERE email = $1", DEMO_EMAIL
        )
    finally:
        await conn.close()
    changed = await _seed(database_url, tmp_path)
    assert (changed.created, changed.password) == (False, None)
    assert "password changed" in changed.banner_lines()[0]
