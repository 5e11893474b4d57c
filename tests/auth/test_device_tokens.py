"""Device tokens and a shared address (contract 4.1): a known device is throttled by its own
counter, typos on one account are forgiven to the address, credential stuffing is not, an
abandoned attempt is not left counted, and a guesser cannot lock the owner out of a known device.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest

from services.auth.components import retention
from services.auth.platform.housekeeping import clean_up
from shared.db import UnitOfWork
from tests.auth.conftest import PASSWORD, AuthHarness, cheap_auth_settings
from tests.auth.two_factor_support import code_at, enable_two_factor, mfa_token, second_step

OFFICE = "192.0.2.10"
ATTACKER = "203.0.113.66"


async def attempt(
    client: httpx.AsyncClient, email: str, password: str, device_token: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"email": email, "password": password}
    if device_token is not None:
        body["device_token"] = device_token
    return await client.post("/v1/auth/login", json=body)


async def device_token_of(client: httpx.AsyncClient, email: str) -> str:
    response = await attempt(client, email, PASSWORD)
    assert response.status_code == 200, response.text
    token: str = response.json()["device_token"]
    return token


async def address_failures(auth: AuthHarness, address: str) -> int:
    async with auth.app.state.pool.acquire() as conn:
        value: int | None = await conn.fetchval(
            "SELECT failures FROM login_throttle WHERE scope = 'address' AND key = $1", address
        )
    return value or 0


async def test_a_login_answer_carries_a_device_token_stored_only_as_a_digest(
    auth: AuthHarness,
) -> None:
    user = await auth.create_user()
    body = (await attempt(auth.client, "jan.peeters@example.be", PASSWORD)).json()
    token = body["device_token"]
    assert token.startswith("cld_")
    assert len(token) >= 4 + 43  # 256 random bits, base64url
    async with auth.app.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM device_tokens")
    assert len(rows) == 1
    assert rows[0]["user_id"] == user.id
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in json.dumps([dict(r) for r in rows], default=repr).encode()
    assert (rows[0]["expires_at"] - rows[0]["created_at"]).days == 180
    # Presented again, the same token is renewed rather than multiplied.
    again = await attempt(auth.client, "jan.peeters@example.be", PASSWORD, token)
    assert again.json()["device_token"] == token


async def test_an_office_behind_one_address_is_not_locked_out_by_its_earlier_failures(
    auth: AuthHarness,
) -> None:
    """Ten colleagues, eight logins at a time from one address that collected failures."""
    office = auth.client_from(OFFICE)
    members = [f"member{i}@example.be" for i in range(10)]
    for email in members:
        await auth.create_user(email)
    tokens = {email: await device_token_of(office, email) for email in members}
    for i in range(25):  # a script with old credentials, a forgotten account, …
        await attempt(office, f"gone{i}@example.be", "old password")
    assert (await attempt(office, "newcomer@example.be", "x")).status_code == 429

    statuses: list[int] = []
    for round_ in range(10):
        batch = [members[(round_ + k) % 10] for k in range(8)]
        responses = await asyncio.gather(
            *(attempt(office, email, PASSWORD, tokens[email]) for email in batch)
        )
        statuses += [r.status_code for r in responses]
    assert statuses == [200] * 80


async def test_typos_followed_by_the_right_password_are_forgiven_to_the_address(
    auth: AuthHarness,
) -> None:
    office = auth.client_from(OFFICE)
    statuses = []
    for i in range(10):
        email = f"member{i}@example.be"
        await auth.create_user(email)
        statuses += [(await attempt(office, email, "typo")).status_code for _ in range(2)]
        statuses.append((await attempt(office, email, PASSWORD)).status_code)
    assert statuses == [401, 401, 200] * 10
    assert await address_failures(auth, OFFICE) == 0


async def test_failures_spread_over_many_accounts_keep_slowing_the_address(
    auth: AuthHarness,
) -> None:
    sprayer = auth.client_from(ATTACKER)
    await auth.create_user("real@example.be")
    for i in range(15):
        assert (await attempt(sprayer, f"user{i}@example.be", "Summer2026!")).status_code == 401
    # One account's typos and success forgive only that account's failures.
    assert (await attempt(sprayer, "real@example.be", "typo")).status_code == 401
    assert (await attempt(sprayer, "real@example.be", PASSWORD)).status_code == 200
    statuses = [
        (await attempt(sprayer, f"more{i}@example.be", "Summer2026!")).status_code for i in range(6)
    ]
    assert statuses == [401] * 5 + [429]


async def test_a_known_device_has_its_own_counter(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await device_token_of(auth.client, "jan.peeters@example.be")
    statuses = [
        (await attempt(auth.client, "jan.peeters@example.be", "wrong", token)).status_code
        for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    # The account and the address were not touched: a login without the token goes through.
    assert (await attempt(auth.client, "jan.peeters@example.be", PASSWORD)).status_code == 200


async def test_parallel_guesses_with_a_device_token_get_no_more_tries(auth: AuthHarness) -> None:
    await auth.create_user()
    token = await device_token_of(auth.client, "jan.peeters@example.be")
    responses = await asyncio.gather(
        *(attempt(auth.client, "jan.peeters@example.be", f"w{i}", token) for i in range(20))
    )
    assert [r.status_code for r in responses].count(401) <= 5


async def test_another_accounts_an_unknown_or_an_expired_device_token_is_ignored(
    auth: AuthHarness,
) -> None:
    await auth.create_user("anna@example.be")
    await auth.create_user()
    annas = await device_token_of(auth.client, "anna@example.be")
    for presented in (annas, "cld_unknown", "x"):
        response = await attempt(auth.client, "jan.peeters@example.be", PASSWORD, presented)
        assert response.status_code == 200
        assert response.json()["device_token"] not in {annas, presented}
    # Another account's token is no way around that account's own throttle.
    for _ in range(5):
        await attempt(auth.client, "jan.peeters@example.be", "wrong", annas)
    assert (await attempt(auth.client, "jan.peeters@example.be", "w", annas)).status_code == 429

    auth.clock.advance(days=181)
    response = await attempt(auth.client, "anna@example.be", PASSWORD, annas)
    assert response.status_code == 200
    assert response.json()["device_token"] != annas


async def test_an_abandoned_attempt_is_not_left_counted_against_the_address(
    auth: AuthHarness,
) -> None:
    """The client gives up (its request is cancelled) while the password is hashed."""
    office = auth.client_from(OFFICE)
    hashing = auth.app.state.hashing
    original = hashing.verify
    hashing_started, hash_done = asyncio.Event(), asyncio.Event()

    async def signalling(password_hash: str | None, password: str) -> object:
        hashing_started.set()
        await hash_done.wait()  # the hash is still running when the client leaves
        return await original(password_hash, password)

    hashing.verify = signalling
    for i in range(25):
        hashing_started.clear()
        hash_done.clear()
        request = asyncio.create_task(attempt(office, f"someone{i}@example.be", "a password"))
        await hashing_started.wait()
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        hash_done.set()
        await auth.app.state.login.settled()
    hashing.verify = original
    assert await address_failures(auth, OFFICE) == 0
    await auth.create_user()
    assert (await attempt(office, "jan.peeters@example.be", PASSWORD)).status_code == 200


async def test_a_client_that_disconnects_during_the_hash_leaves_nothing_counted(
    auth: AuthHarness,
) -> None:
    """A real ASGI server does not cancel the request: it tells `receive()` the client left."""
    await auth.create_user()
    hashing = auth.app.state.hashing
    original = hashing.verify
    hashing_started, hash_done = asyncio.Event(), asyncio.Event()

    async def signalling(password_hash: str | None, password: str) -> object:
        hashing_started.set()
        await hash_done.wait()  # the hash is still running when the client leaves
        return await original(password_hash, password)

    hashing.verify = signalling
    body = json.dumps({"email": "jan.peeters@example.be", "password": PASSWORD}).encode()
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    answered: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if sent:
            return sent.pop()
        await hashing_started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        answered.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/auth/login",
        "raw_path": b"/v1/auth/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"auth.test")],
        "client": (OFFICE, 40000),
        "server": ("auth.test", 80),
        "state": {},
    }
    await auth.app(scope, receive, send)  # type: ignore[arg-type]
    hash_done.set()
    await auth.app.state.login.settled()
    hashing.verify = original
    assert answered[0]["status"] != 200
    assert await address_failures(auth, OFFICE) == 0
    async with auth.app.state.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0


async def test_the_second_step_answers_with_a_device_token_and_renews_a_known_one(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    tokens = await attempt(auth.client, "jan.peeters@example.be", PASSWORD)
    known = tokens.json()["device_token"]
    secret, _ = await enable_two_factor(auth, auth.bearer(tokens.json()))
    auth.clock.advance(30)
    body = (await attempt(auth.client, "jan.peeters@example.be", PASSWORD, known)).json()
    assert "device_token" not in body
    done = await auth.client.post(
        "/v1/auth/login/2fa",
        json={
            "mfa_token": body["mfa_token"],
            "code": code_at(secret, auth.clock.now()),
            "device_token": known,
        },
    )
    assert done.status_code == 200, done.text
    assert done.json()["device_token"] == known
    auth.clock.advance(30)
    token = await mfa_token(auth)
    fresh = await second_step(auth, token, code_at(secret, auth.clock.now()))
    assert fresh.json()["device_token"] not in {None, known}


async def test_housekeeping_purges_expired_device_tokens(auth: AuthHarness) -> None:
    await auth.create_user()
    await device_token_of(auth.client, "jan.peeters@example.be")
    rules = retention(cheap_auth_settings())
    pool = auth.app.state.pool
    auth.clock.advance(days=179)
    assert (await clean_up(UnitOfWork(pool), auth.clock, rules))["device_tokens"] == 0
    auth.clock.advance(days=2)
    assert (await clean_up(UnitOfWork(pool), auth.clock, rules))["device_tokens"] == 1


async def test_the_openapi_document_shows_the_device_token(auth: AuthHarness) -> None:
    schemas = (await auth.client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert "device_token" in schemas["LoginRequest"]["properties"]
    assert "device_token" not in schemas["LoginRequest"].get("required", [])
    assert "device_token" in schemas["SecondFactorRequest"]["properties"]
    assert "device_token" in schemas["LoginTokenPairResponse"]["required"]
