"""The audit trail: security events as rows and log lines, never with a secret in them."""

from __future__ import annotations

import json

import asyncpg
from structlog.testing import capture_logs

from tests.auth.conftest import PASSWORD, AuthHarness

WRONG_PASSWORD = "wrong-secret-guess-1"
NEW_PASSWORD = "quiet lanterns drift east"


async def audit_rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        return await conn.fetch("SELECT * FROM auth.audit_log ORDER BY id")
    finally:
        await conn.close()


async def test_security_events_are_audited_without_secrets(
    auth: AuthHarness, database_url: str
) -> None:
    with capture_logs() as logs:
        user = await auth.create_user()
        await auth.client.post(
            "/v1/auth/login",
            json={"email": "jan.peeters@example.be", "password": WRONG_PASSWORD},
        )
        # A password typed into the e-mail field must not reach the trail.
        await auth.client.post(
            "/v1/auth/login", json={"email": "MyS3cretPassw0rd", "password": "x"}
        )
        tokens = await auth.login()
        rotated = (
            await auth.client.post(
                "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
        ).json()
        auth.clock.advance(31)  # past the reuse interval: the replay is a reuse
        await auth.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        fresh = await auth.login()
        await auth.client.patch("/v1/me", json={"language": "de"}, headers=auth.bearer(fresh))
        await auth.client.put(
            "/v1/me/password",
            json={
                "current_password": WRONG_PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_confirmation": NEW_PASSWORD,
            },
            headers=auth.bearer(fresh),
        )
        await auth.client.put(
            "/v1/me/password",
            json={
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_confirmation": NEW_PASSWORD,
            },
            headers=auth.bearer(fresh),
        )
        for _ in range(6):
            await auth.client.post(
                "/v1/auth/login", json={"email": "ghost@example.be", "password": WRONG_PASSWORD}
            )
        await auth.client.post("/v1/auth/logout", json={"refresh_token": fresh["refresh_token"]})

    rows = await audit_rows(database_url)
    events = [r["event"] for r in rows]
    assert events == [
        "user_created",
        "login_failed",
        "login_failed",
        "login_succeeded",
        "refresh_token_reused",
        "login_succeeded",
        "language_changed",
        "password_change_refused",
        "password_changed",
        "login_failed",
        "login_failed",
        "login_failed",
        "login_failed",
        "login_failed",
        "login_throttled",
        "logout",
    ]
    by_event = {r["event"]: r for r in rows}
    failed = rows[1]
    assert (failed["user_id"], failed["email"]) == (user.id, "jan.peeters@example.be")
    assert failed["details"] == {"reason": "wrong_password"}
    assert failed["client_address"] == "198.51.100.20"
    assert failed["request_id"]
    assert rows[2]["email"] is None  # not an address: maybe a password
    assert rows[2]["details"] == {"reason": "unknown_account"}
    assert by_event["language_changed"]["details"] == {"previous": "nl", "language": "de"}
    assert by_event["password_changed"]["details"]["other_sessions_revoked"] == 0
    assert by_event["login_throttled"]["email"] == "ghost@example.be"
    assert by_event["refresh_token_reused"]["user_id"] == user.id

    secrets = [
        PASSWORD,
        WRONG_PASSWORD,
        NEW_PASSWORD,
        "MyS3cretPassw0rd",
        tokens["refresh_token"],
        tokens["access_token"],
        rotated["refresh_token"],
        fresh["refresh_token"],
        fresh["access_token"],
        user.password_hash,
        "$argon2id$",
    ]
    stored = json.dumps([dict(r) for r in rows], default=str)
    logged = json.dumps(logs, default=str)
    for secret in secrets:
        assert secret not in stored
        assert secret not in logged
    audit_lines = [entry for entry in logs if entry.get("event") == "audit"]
    assert [line["audit_event"] for line in audit_lines] == events
