"""Confirming a mobile number by SMS: validation, expiry, the try limit, the resend cooldown
and hourly caps, and the `sms.requested` record on the real broker."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from services.auth.app import create_app
from shared.topics import SMS_REQUESTED_TOPIC, TOPICS, ensure_topics
from tests.auth.conftest import AuthHarness, cheap_auth_settings, http_client, running, settings_for
from tests.auth.two_factor_support import MOBILE, MOBILE_E164, code_in, last_sms

SMS_TOPIC = tuple(t for t in TOPICS if t.name == SMS_REQUESTED_TOPIC)


async def _send(auth: AuthHarness, headers: dict[str, str], number: str = MOBILE) -> Any:
    return await auth.client.post(
        "/v1/me/2fa/phone", json={"phone_number": number}, headers=headers
    )


async def _verify(auth: AuthHarness, headers: dict[str, str], code: str) -> Any:
    return await auth.client.post("/v1/me/2fa/phone/verify", json={"code": code}, headers=headers)


async def test_a_number_that_is_not_mobile_is_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    for number in ("hello", "02 123 45 67", "+32 470"):
        answer = await _send(auth, headers, number)
        assert answer.status_code == 422, number
        assert answer.json()["type"].endswith("/invalid-phone-number")


async def test_the_sms_is_localized_and_the_code_confirms_the_number(auth: AuthHarness) -> None:
    await auth.create_user(language="fr")
    headers = auth.bearer(await auth.login())
    assert (await _send(auth, headers)).status_code == 202
    sms = await last_sms(auth)
    assert sms["phone_number"] == MOBILE_E164
    assert sms["language"] == "fr"
    assert sms["purpose"] == "phone_verification"
    assert sms["text"].startswith("Votre code de sécurité est ")
    async with auth.app.state.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT code_digest FROM phone_verifications")
    assert code_in(sms["text"]).encode() not in stored
    assert (await _verify(auth, headers, code_in(sms["text"]))).status_code == 200
    # Single use.
    assert (await _verify(auth, headers, code_in(sms["text"]))).status_code == 422


async def test_an_expired_sms_code_is_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    await _send(auth, headers)
    code = code_in((await last_sms(auth))["text"])
    auth.clock.advance(minutes=10, seconds=1)
    headers = auth.bearer(await auth.login())  # the first access token has expired too
    refused = await _verify(auth, headers, code)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/invalid-code")


async def test_the_sixth_try_is_refused_even_with_the_right_code(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    await _send(auth, headers)
    code = code_in((await last_sms(auth))["text"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await _verify(auth, headers, wrong)).status_code == 422
    assert (await _verify(auth, headers, code)).status_code == 422


async def test_resend_cooldown_and_hourly_cap_per_number(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    assert (await _send(auth, headers)).status_code == 202
    early = await _send(auth, headers)
    assert early.status_code == 429
    assert 0 < int(early.headers["retry-after"]) <= 60
    first_code = code_in((await last_sms(auth))["text"])
    for _ in range(2):
        auth.clock.advance(61)
        headers = auth.bearer(await auth.login())
        assert (await _send(auth, headers)).status_code == 202
    # A new code replaces the previous one.
    latest = code_in((await last_sms(auth))["text"])
    if first_code != latest:
        assert (await _verify(auth, headers, first_code)).status_code == 422
    auth.clock.advance(61)
    capped = await _send(auth, headers)
    assert capped.status_code == 429
    assert int(capped.headers["retry-after"]) > 60


async def test_the_same_number_is_capped_across_users(auth: AuthHarness) -> None:
    for n in range(4):
        await auth.create_user(f"user{n}@example.be")
    answers = []
    for n in range(4):
        headers = auth.bearer(await auth.login(f"user{n}@example.be"))
        answers.append((await _send(auth, headers)).status_code)
    assert answers == [202] * 3 + [429]


def _read_sms(bootstrap: str, user_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"auth-tests-{uuid.uuid4().hex}",  # required, unused with assign()
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [
            TopicPartition(SMS_REQUESTED_TOPIC, p, OFFSET_BEGINNING)
            for p in range(SMS_TOPIC[0].partitions)
        ]
    )
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while not found and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            key, value = message.key(), message.value()
            if key is None or value is None:
                continue
            record = json.loads(value)
            if record.get("user_id") == user_id:
                found.append(record | {"_key": key.decode()})
    finally:
        consumer.close()
    return found


@pytest.mark.usefixtures("kafka_bootstrap")
async def test_the_sms_request_reaches_the_broker_with_the_contract_fields(
    database_url: str, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, SMS_TOPIC)
    settings = cheap_auth_settings(outbox_relay_enabled=True, outbox_poll_seconds=0.2)
    app = create_app(settings_for(database_url, kafka_bootstrap), auth_settings=settings)
    async with running(app), http_client(app) as client:
        harness = AuthHarness(app, client, clock=None)  # type: ignore[arg-type]
        user = await harness.create_user(language="nl")
        headers = harness.bearer(await harness.login())
        sent = await client.post("/v1/me/2fa/phone", json={"phone_number": MOBILE}, headers=headers)
        assert sent.status_code == 202
        records = await asyncio.to_thread(_read_sms, kafka_bootstrap, str(user.id))
    assert records, "no sms.requested record arrived"
    record = records[0]
    assert set(record) == {
        "event_id",
        "occurred_at",
        "organization_id",
        "user_id",
        "phone_number",
        "language",
        "purpose",
        "text",
        "_key",
    }
    assert record["_key"] == str(user.organization_id)
    assert record["organization_id"] == str(user.organization_id)
    assert record["phone_number"] == MOBILE_E164
    assert record["language"] == "nl"
    assert record["purpose"] == "phone_verification"
    assert record["text"].startswith("Uw beveiligingscode is ")
    assert len(code_in(record["text"])) == 6


async def test_asyncapi_documents_the_sms_requests(auth: AuthHarness) -> None:
    document = (await auth.client.get("/asyncapi.json")).json()
    channel = document["channels"]["smsRequested"]
    assert channel["address"] == SMS_REQUESTED_TOPIC
    payload = document["components"]["messages"]["SmsRequested"]["payload"]
    assert set(payload["required"]) == {
        "event_id",
        "occurred_at",
        "organization_id",
        "user_id",
        "phone_number",
        "language",
        "purpose",
        "text",
    }


async def test_openapi_documents_the_two_factor_routes(auth: AuthHarness) -> None:
    document = (await auth.client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    for path, method in (
        ("/v1/me/2fa/phone", "post"),
        ("/v1/me/2fa/phone/verify", "post"),
        ("/v1/me/2fa/activate", "post"),
        ("/v1/me/2fa/recovery-codes", "post"),
        ("/v1/me/2fa", "delete"),
    ):
        assert paths[path][method]["security"] == [{"BearerToken": []}], path
    assert "security" not in paths["/v1/auth/login/2fa"]["post"]
    login = json.dumps(paths["/v1/auth/login"]["post"]["responses"]["200"])
    assert "MfaRequiredResponse" in login
    assert "TokenPairResponse" in login
