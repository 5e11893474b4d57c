"""POST /v1/auth/login: credentials, enumeration resistance, throttling, rehashing, and hashing
off the event loop."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from services.auth.app import create_app
from tests.auth.conftest import (
    PASSWORD,
    AuthHarness,
    cheap_auth_settings,
    http_client,
    running,
    settings_for,
)
from tests.auth.database_use import counted_database_use


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_login_returns_a_bearer_pair(auth: AuthHarness) -> None:
    await auth.create_user()
    response = await attempt(auth.client, "  Jan.Peeters@Example.BE ", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "device_token",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("clr_")
    assert response.headers["cache-control"] == "no-store"


async def test_unknown_email_and_wrong_password_get_the_identical_401(auth: AuthHarness) -> None:
    await auth.create_user()
    wrong_password = await attempt(auth.client, "jan.peeters@example.be", "not the password")
    unknown_email = await attempt(auth.client, "nobody@example.be", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.content == unknown_email.content
    assert wrong_password.headers["content-type"] == unknown_email.headers["content-type"]
    assert wrong_password.json() == {
        "type": "https://clochette.dev/problems/invalid-credentials",
        "title": "Invalid credentials",
        "status": 401,
        "detail": "The e-mail address or the password is not correct.",
        "instance": "/v1/auth/login",
    }


async def test_an_unknown_email_costs_an_argon2_verification(auth: AuthHarness) -> None:
    hashing = auth.app.state.hashing
    calls: list[str | None] = []
    original = hashing.verify

    async def spy(password_hash: str | None, password: str) -> object:
        calls.append(password_hash)
        return await original(password_hash, password)

    hashing.verify = spy
    await attempt(auth.client, "nobody@example.be", "whatever it is")
    assert calls == [None]  # None: verified against the dummy hash, same parameters


async def test_a_login_takes_two_short_transactions_and_no_connection_while_hashing(
    auth: AuthHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transaction 1: throttle admission and user lookup; argon2 with no connection held;
    transaction 2: the throttle's success and the new session."""
    await auth.create_user()
    await auth.login()  # the app's start-up work (keys, housekeeping) is over
    pool = auth.app.state.pool
    hashing = auth.app.state.hashing
    in_use_while_hashing: list[int] = []
    original = hashing.verify

    async def watched(password_hash: str | None, password: str) -> object:
        in_use_while_hashing.append(pool.get_size() - pool.get_idle_size())
        return await original(password_hash, password)

    monkeypatch.setattr(hashing, "verify", watched)
    with counted_database_use(monkeypatch) as use:
        response = await attempt(auth.client, "jan.peeters@example.be", PASSWORD)
    assert response.status_code == 200
    assert (use.acquisitions, use.transactions) == (2, 2)
    assert in_use_while_hashing == [0]


async def test_a_failed_login_also_takes_two_transactions(
    auth: AuthHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await auth.create_user()
    await auth.login()
    with counted_database_use(monkeypatch) as use:
        response = await attempt(auth.client, "jan.peeters@example.be", "not the password")
    assert response.status_code == 401
    assert (use.acquisitions, use.transactions) == (2, 2)


async def test_a_deactivated_user_gets_the_same_401(auth: AuthHarness) -> None:
    user = await auth.create_user()
    await auth.app.state.accounts.deactivate(user.id)
    response = await attempt(auth.client, "jan.peeters@example.be", PASSWORD)
    assert response.status_code == 401
    assert response.json()["type"] == "https://clochette.dev/problems/invalid-credentials"


async def test_malformed_bodies_are_422_listing_the_fields(auth: AuthHarness) -> None:
    response = await auth.client.post(
        "/v1/auth/login", json={"email": "", "passwd": "x", "remember": True}
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "password", "passwd", "remember"}


async def test_sequential_wrong_logins_are_throttled_with_growing_delays(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    statuses = [
        (await attempt(auth.client, "jan.peeters@example.be", f"wrong {i}")).status_code
        for i in range(20)
    ]
    assert statuses == [401] * 5 + [429] * 15
    refused = await attempt(auth.client, "jan.peeters@example.be", PASSWORD)
    assert refused.status_code == 429  # even the right password waits: no oracle
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["retry_after"] == 2
    assert refused.json()["type"] == "https://clochette.dev/problems/too-many-attempts"

    retry_afters = []
    for _ in range(4):
        auth.clock.advance(int(refused.headers["retry-after"]))
        assert (await attempt(auth.client, "jan.peeters@example.be", "wrong")).status_code == 401
        refused = await attempt(auth.client, "jan.peeters@example.be", "wrong")
        retry_afters.append(int(refused.headers["retry-after"]))
    assert retry_afters == [4, 8, 16, 32]


async def test_twenty_parallel_wrong_logins_get_no_more_guesses_than_sequential_ones(
    auth: AuthHarness,
) -> None:
    await auth.create_user("seq@example.be")
    await auth.create_user("par@example.be")
    sequential = [
        (await attempt(auth.client, "seq@example.be", f"wrong {i}")).status_code for i in range(20)
    ]
    parallel = [
        r.status_code
        for r in await asyncio.gather(
            *(attempt(auth.client, "par@example.be", f"wrong {i}") for i in range(20))
        )
    ]
    assert sequential.count(401) == 5
    assert parallel.count(401) <= sequential.count(401)
    assert sorted(parallel) == [401] * parallel.count(401) + [429] * parallel.count(429)


async def test_the_account_delay_is_capped_so_a_guesser_cannot_lock_the_owner_out_long(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    attacker = auth.client_from("203.0.113.66")
    guessed_at = []
    for _ in range(80):  # a determined attacker, waiting out every delay
        response = await attempt(attacker, "jan.peeters@example.be", "guess")
        if response.status_code == 429:
            auth.clock.advance(int(response.headers["retry-after"]))
        else:
            guessed_at.append(auth.clock.now())
    # Once the delays have grown, each guess costs the attacker minutes.
    assert (guessed_at[-1] - guessed_at[-11]).total_seconds() >= 10 * 300
    while (await attempt(attacker, "jan.peeters@example.be", "guess")).status_code == 429:
        auth.clock.advance(300)
    owner = auth.client_from("198.51.100.77")
    response = await attempt(owner, "jan.peeters@example.be", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) <= 300
    auth.clock.advance(int(response.headers["retry-after"]))
    assert (await attempt(owner, "jan.peeters@example.be", PASSWORD)).status_code == 200


async def test_a_success_clears_the_account_and_failures_are_forgotten(auth: AuthHarness) -> None:
    await auth.create_user()
    for _ in range(4):
        await attempt(auth.client, "jan.peeters@example.be", "wrong")
    assert (await attempt(auth.client, "jan.peeters@example.be", PASSWORD)).status_code == 200
    for _ in range(5):
        assert (await attempt(auth.client, "jan.peeters@example.be", "x")).status_code == 401
    assert (await attempt(auth.client, "jan.peeters@example.be", "x")).status_code == 429
    auth.clock.advance(3601)
    assert (await attempt(auth.client, "jan.peeters@example.be", "x")).status_code == 401


async def test_one_address_guessing_many_accounts_is_throttled(auth: AuthHarness) -> None:
    sprayer = auth.client_from("203.0.113.99")
    statuses = [
        (await attempt(sprayer, f"user{i}@example.be", "Summer2026!")).status_code
        for i in range(25)
    ]
    assert statuses == [401] * 20 + [429] * 5
    # Other addresses are unaffected.
    assert (await attempt(auth.client, "user1@example.be", "x")).status_code == 401


async def test_throttling_holds_across_instances(auth: AuthHarness, database_url: str) -> None:
    await auth.create_user()
    second = create_app(
        settings_for(database_url), auth_settings=cheap_auth_settings(), clock=auth.clock
    )
    async with running(second), http_client(second) as other:
        for i in range(6):
            client = auth.client if i % 2 else other
            last = await attempt(client, "jan.peeters@example.be", "wrong")
    assert last.status_code == 429


async def test_login_rehashes_when_the_argon2_parameters_change(
    auth: AuthHarness, database_url: str
) -> None:
    user = await auth.create_user()
    assert "$m=256,t=1,p=1$" in user.password_hash
    stronger = cheap_auth_settings(argon2_time_cost=2, argon2_memory_kib=512)
    app = create_app(settings_for(database_url), auth_settings=stronger, clock=auth.clock)
    async with running(app), http_client(app) as client:
        assert (await attempt(client, "jan.peeters@example.be", PASSWORD)).status_code == 200
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT password_hash FROM auth.users WHERE id = $1", user.id)
    finally:
        await conn.close()
    assert "$m=512,t=2,p=1$" in stored
    PasswordHasher().verify(stored, PASSWORD)
    # The new hash works with the new parameters, and is not rehashed again.
    async with running(app), http_client(app) as client:
        assert (await attempt(client, "jan.peeters@example.be", PASSWORD)).status_code == 200


async def test_hashing_does_not_block_other_requests(database_url: str) -> None:
    """A request that needs no hashing finishes while slow hashes are running."""
    slow = cheap_auth_settings(argon2_time_cost=4, argon2_memory_kib=32768, hash_threads=1)
    app = create_app(settings_for(database_url), auth_settings=slow)
    async with running(app), http_client(app) as client:
        hashing = app.state.hashing
        hashing_started = asyncio.Event()
        original = hashing.verify

        async def signalling(password_hash: str | None, password: str) -> object:
            hashing_started.set()
            return await original(password_hash, password)

        hashing.verify = signalling
        login = asyncio.create_task(attempt(client, "someone@example.be", "a password"))
        await asyncio.wait_for(hashing_started.wait(), timeout=10)
        health = await client.get("/health/live")
        assert not login.done()  # answered while the hash was still running
        assert (await login).status_code == 401
    assert health.status_code == 200
