"""New sign-in alerts (contract 4.2): a sign-in without a valid device token of that account
queues `user.new_sign_in` in the transaction of its session; a known device raises none; the
event reaches the broker and the notifier turns it into a `security.new_sign_in` bell item."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from services.auth.app import create_app
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.ingest.batch import BatchBuilder
from services.notifier.ingest.parser import EventParser
from services.notifier.settings import IngestTopics
from shared.events.registry import platform_registry, user_events_registry
from shared.topics import TOPICS, USER_EVENTS_TOPIC, ensure_topics
from tests.auth.conftest import AuthHarness, cheap_auth_settings, http_client, running, settings_for
from tests.auth.self_service_support import (
    EMAIL,
    FIREFOX_WINDOWS,
    SAFARI_IPHONE,
    new_sign_in_alerts,
    session_of,
    sign_in,
)
from tests.auth.test_outbox import read_records
from tests.auth.two_factor_support import code_at, enable_two_factor, mfa_token, second_step


async def test_a_sign_in_without_a_device_token_raises_an_alert(auth: AuthHarness) -> None:
    user = await auth.create_user()
    tokens = await sign_in(auth, address="203.0.113.77", user_agent=FIREFOX_WINDOWS)
    (alert,) = await new_sign_in_alerts(auth)
    assert alert["type"] == "user.new_sign_in"
    assert alert["user_id"] == str(user.id)
    assert alert["organization_id"] == str(user.organization_id)
    assert alert["occurred_at"] == "2026-11-28T09:00:00Z"
    assert alert["data"] == {
        "session_id": session_of(tokens),
        "device": {
            "browser": "Firefox 133",
            "os": "Windows 10",
            "label": "Firefox 133 on Windows 10",
        },
        "address": "203.0.113.0/24",
        "signed_in_at": "2026-11-28T09:00:00Z",
    }


async def test_a_known_device_raises_none_even_after_its_session_was_ended(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    first = await sign_in(auth)
    auth.clock.advance(60)
    again = await sign_in(auth, device_token=first["device_token"])
    assert again["device_token"] == first["device_token"]
    assert len(await new_sign_in_alerts(auth)) == 1
    # Ending a session leaves its device token alone: the device stays known.
    ended = await auth.client.delete(
        f"/v1/me/sessions/{session_of(first)}", headers=auth.bearer(again)
    )
    assert ended.status_code == 204
    await sign_in(auth, device_token=first["device_token"])
    assert len(await new_sign_in_alerts(auth)) == 1


async def test_a_device_token_of_another_account_raises_one(auth: AuthHarness) -> None:
    await auth.create_user()
    other = await auth.create_user("an@example.be")
    mine = await sign_in(auth)
    theirs = await sign_in(auth, email="an@example.be", device_token=mine["device_token"])
    alerts = await new_sign_in_alerts(auth)
    assert [a["user_id"] for a in alerts[1:]] == [str(other.id)]
    assert alerts[1]["data"]["session_id"] == session_of(theirs)


async def test_an_unknown_or_garbled_device_token_raises_one(auth: AuthHarness) -> None:
    await auth.create_user()
    await sign_in(auth, device_token="cld_" + "x" * 43)
    await sign_in(auth, device_token="not even a token")
    assert len(await new_sign_in_alerts(auth)) == 2


async def test_a_failed_sign_in_raises_none(auth: AuthHarness) -> None:
    await auth.create_user()
    wrong = await auth.client.post("/v1/auth/login", json={"email": EMAIL, "password": "nope"})
    assert wrong.status_code == 401
    assert await new_sign_in_alerts(auth) == []


async def test_with_two_factor_the_alert_comes_with_the_second_step(auth: AuthHarness) -> None:
    await auth.create_user()
    enrolling = await sign_in(auth)
    secret, _ = await enable_two_factor(auth, auth.bearer(enrolling))
    before = len(await new_sign_in_alerts(auth))

    token = await mfa_token(auth)  # the password step alone signs nobody in
    assert len(await new_sign_in_alerts(auth)) == before
    stepped = await second_step(auth, token, code_at(secret, auth.clock.now()))
    assert stepped.status_code == 200, stepped.text
    alerts = await new_sign_in_alerts(auth)
    assert len(alerts) == before + 1
    assert alerts[-1]["data"]["session_id"] == session_of(stepped.json())

    # The same device again, with its token: no alert.
    auth.clock.advance(30)
    body = await auth.login()
    known = await auth.client.post(
        "/v1/auth/login/2fa",
        json={
            "mfa_token": body["mfa_token"],
            "code": code_at(secret, auth.clock.now()),
            "device_token": enrolling["device_token"],
        },
    )
    assert known.status_code == 200, known.text
    assert len(await new_sign_in_alerts(auth)) == before + 1


async def test_the_alert_reaches_the_broker_and_the_notifier_makes_a_bell_item_of_it(
    database_url: str, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap, tuple(t for t in TOPICS if t.name == USER_EVENTS_TOPIC))
    settings = cheap_auth_settings(outbox_relay_enabled=True, outbox_poll_seconds=0.2)
    app = create_app(settings_for(database_url, kafka_bootstrap), auth_settings=settings)
    async with running(app), http_client(app, "2001:db8:1234:5678::1") as client:
        harness = AuthHarness(app, client, clock=None)  # type: ignore[arg-type]
        user = await harness.create_user("mobile@example.be", language="fr")
        answer = await client.post(
            "/v1/auth/login",
            json={"email": "mobile@example.be", "password": "violet tram under snow"},
            headers={"User-Agent": SAFARI_IPHONE},
        )
        assert answer.status_code == 200, answer.text
        records = await asyncio.to_thread(
            read_records,
            kafka_bootstrap,
            lambda uid: uid == str(user.id).encode(),
            lambda found: any(b"user.new_sign_in" in value for _, value in found),
        )
    alert = next(value for _, value in records if b"user.new_sign_in" in value)

    builder = BatchBuilder(EventParser(platform_registry(), user_events_registry()), IngestTopics())
    builder.add(_Record(USER_EVENTS_TOPIC, alert))
    batch = builder.build()
    assert batch.bad == []
    (event,) = batch.events
    assert (event.type, event.user_id) == ("security.new_sign_in", user.id)
    rendered = NotificationRenderer("https://app.example.be").render(
        event.type, _params(event.params_json), "fr"
    )
    assert rendered.title == "Nouvelle connexion à votre compte"
    # (The time is the real one here: this app runs on the system clock for the relay.)
    assert rendered.body.startswith("Connexion le ")
    assert " depuis Mobile Safari 17 sous iOS 17. " in rendered.body
    assert _params(event.params_json)["address"] == "2001:db8:1234::/48"
    assert rendered.link == "https://app.example.be/settings/security"


class _Record:
    """A consumed record, as the notifier's batch builder sees one."""

    def __init__(self, topic: str, value: bytes) -> None:
        self.topic, self.value = topic, value
        self.partition, self.offset, self.timestamp = 0, 0, 0
        self.key: bytes | None = str(uuid.uuid4()).encode()


def _params(params_json: str) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(params_json)
    return params
