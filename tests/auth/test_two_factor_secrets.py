"""TOTP secrets under a new CLOCHETTE_SECRET_KEY (`clochette secrets reencrypt`), and the SMS
text logged only when the development flag CLOCHETTE_LOG_SMS_CODES says so."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from structlog.testing import capture_logs

from services.auth.app import create_app
from shared.clock import ManualClock
from shared.settings import Environment
from tests.auth.conftest import (
    SECRET_KEY,
    AuthHarness,
    cheap_auth_settings,
    http_client,
    running,
    settings_for,
)
from tests.auth.test_cli import run
from tests.auth.two_factor_support import (
    MOBILE,
    MOBILE_E164,
    code_at,
    enable_two_factor,
    mfa_token,
    second_step,
)

NEW_KEY = "the-next-secret-key-" + "y" * 40


async def _sealed(database_url: str) -> bytes:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "auth"})
    try:
        value: bytes = await conn.fetchval("SELECT sealed_secret FROM two_factor")
        return value
    finally:
        await conn.close()


async def test_reencrypt_moves_every_secret_to_the_new_key(
    auth: AuthHarness, database_url: str, tmp_path: Path
) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    before = await _sealed(database_url)

    old_key_file = tmp_path / "old-key"
    old_key_file.write_text("not the key that sealed them\n")
    env_new = {"CLOCHETTE_SECRET_KEY": NEW_KEY}
    refused = run(
        database_url, "secrets", "reencrypt", "--old-key-file", str(old_key_file),
        tmp=tmp_path, env=env_new,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert await _sealed(database_url) == before  # all or nothing

    old_key_file.write_text(SECRET_KEY + "\n")
    done = run(
        database_url, "secrets", "reencrypt", "--old-key-file", str(old_key_file),
        tmp=tmp_path, env=env_new,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"totp_secrets": 1' in done.stdout
    assert '"signing_keys": 0' not in done.stdout
    assert await _sealed(database_url) != before

    # A service running with the new key still accepts the user's codes.
    clock = ManualClock(auth.clock.now())
    app = create_app(
        settings_for(database_url, secret=NEW_KEY), auth_settings=cheap_auth_settings(), clock=clock
    )
    async with running(app), http_client(app) as client:
        harness = AuthHarness(app, client, clock)
        token = await mfa_token(harness)
        answer = await second_step(harness, token, code_at(secret, clock.now()))
        assert answer.status_code == 200, answer.text


async def test_the_sms_is_logged_only_when_the_development_flag_says_so(
    database_url: str,
) -> None:
    for environment, flag, expected in (
        (Environment.DEVELOPMENT, False, False),
        (Environment.TEST, False, False),
        (Environment.DEVELOPMENT, True, True),
    ):
        settings = settings_for(database_url).model_copy(
            update={"environment": environment, "log_sms_codes": flag}
        )
        app = create_app(settings, auth_settings=cheap_auth_settings(), clock=ManualClock())
        async with running(app), http_client(app) as client:
            harness = AuthHarness(app, client, ManualClock())
            email = f"{environment.value}-{flag}@example.be"
            await harness.create_user(email)
            headers = harness.bearer(await harness.login(email))
            with capture_logs() as logs:
                sent = await client.post(
                    "/v1/me/2fa/phone", json={"phone_number": MOBILE}, headers=headers
                )
            assert sent.status_code == 202
        lines = [entry for entry in logs if entry.get("event") == "sms_requested"]
        assert bool(lines) is expected, (environment, flag)
        if expected:
            assert lines[0]["phone"] == MOBILE_E164
            assert "beveiligingscode" in lines[0]["text"]
