"""Long polling of the unread count (contract 5.1): `Prefer: wait=N` with `If-None-Match` is held
until the user's badge moves (200) or N seconds pass (304), woken through PostgreSQL
LISTEN/NOTIFY by a change committed on any connection; the cap, malformed preferences, a lost
LISTEN connection, a client that leaves and a server that stops.

The notifier runs in a real uvicorn server (the production `Server` class, which tells the app
when it starts stopping) on a fresh database; changes are committed through other connections,
as another notifier instance would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar
from prometheus_client import REGISTRY

from clochette.devstack import free_port
from clochette.jwks_stub import JwksServer, SigningKey
from services.notifier.api.badge_listener import APPLICATION_NAME, CHANNEL, BadgeListener
from services.notifier.api.longpoll import LongPoll
from services.notifier.api.prefer import requested_wait
from services.notifier.app import create_app
from shared.db import create_pool
from shared.http import Server
from tests.notifier_api.conftest import UNUSED_BROKER, Bell, User, settings_for

URL = "/v1/notifications/unread-count"


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10) -> None:
    """Wait for a condition (checked every few milliseconds), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.01)


@dataclass
class Stack:
    bell: Bell
    app: Litestar
    server: uvicorn.Server
    serving: asyncio.Task[None]
    port: int

    @property
    def long_poll(self) -> LongPoll:
        long_poll: LongPoll = self.app.state.long_poll
        return long_poll

    @property
    def listener(self) -> BadgeListener:
        listener: BadgeListener = self.app.state.longpoll_listener
        return listener

    async def etag(self, user: User) -> str:
        answer = await self.bell.client.get(URL, headers=user.headers)
        assert answer.status_code == 200
        return answer.headers["etag"]

    def poll(self, user: User, etag: str | None, prefer: str) -> asyncio.Task[httpx.Response]:
        headers = {**user.headers, "Prefer": prefer}
        if etag is not None:
            headers["If-None-Match"] = etag
        return asyncio.ensure_future(self.bell.client.get(URL, headers=headers))

    async def held(self, count: int) -> None:
        await until(lambda: self.long_poll.held == count)


@pytest.fixture
def longpoll_env() -> dict[str, str]:
    """NOTIFIER_* variables of the test (overridden by parametrizing this fixture)."""
    return {}


@pytest.fixture
async def stack(
    database_url: str,
    jwks_server: JwksServer,
    signing_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
    longpoll_env: dict[str, str],
) -> AsyncIterator[Stack]:
    monkeypatch.setenv("NOTIFIER_INGEST_ENABLED", "false")
    for name, value in longpoll_env.items():
        monkeypatch.setenv(name, value)
    app = create_app(settings_for(database_url, jwks_server.url, UNUSED_BROKER))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = Server(config)
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started or serving.done())
    if serving.done():
        serving.result()
    pool = await create_pool(database_url, min_size=1, max_size=8, search_path="notifier")
    stack = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            stack = Stack(Bell(client, pool, signing_key), app, server, serving, port)
            if stack.long_poll.enabled:
                await asyncio.wait_for(stack.listener.connected.wait(), 10)
            yield stack
    finally:
        await pool.close()
        server.should_exit = True
        await serving


def with_env(**variables: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("longpoll_env", [variables])


# --- held, woken, timed out ---------------------------------------------------------------


async def test_a_change_committed_elsewhere_answers_the_held_request(stack: Stack) -> None:
    user = await stack.bell.add_user()
    etag = await stack.etag(user)
    polling = stack.poll(user, etag, "wait=20")
    await stack.held(1)
    started = time.monotonic()
    await stack.bell.notify(user)  # another connection, as another instance would commit
    answer = await asyncio.wait_for(polling, 10)
    assert time.monotonic() - started < 5
    assert answer.status_code == 200
    assert answer.headers["preference-applied"] == "wait=20"
    assert answer.headers["etag"] != etag
    assert answer.json()["unread_count"] == 1
    assert stack.long_poll.held == 0


async def test_mark_read_by_another_client_answers_the_held_request(stack: Stack) -> None:
    user = await stack.bell.add_user()
    notification = await stack.bell.notify(user)
    etag = await stack.etag(user)
    polling = stack.poll(user, etag, "wait=20")
    await stack.held(1)
    port = stack.port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other_tab:
        marked = await other_tab.post(
            f"/v1/notifications/{notification}/read", headers=user.headers
        )
    assert marked.status_code == 204
    answer = await asyncio.wait_for(polling, 10)
    assert (answer.status_code, answer.json()["unread_count"]) == (200, 0)


async def test_only_the_users_own_change_answers_it(stack: Stack) -> None:
    mine, theirs = await stack.bell.add_user(), await stack.bell.add_user()
    my_poll = stack.poll(mine, await stack.etag(mine), "wait=2")
    their_poll = stack.poll(theirs, await stack.etag(theirs), "wait=20")
    await stack.held(2)
    await stack.bell.notify(theirs)
    assert (await asyncio.wait_for(their_poll, 10)).status_code == 200
    assert not my_poll.done()
    assert stack.long_poll.held == 1
    mine_answer = await asyncio.wait_for(my_poll, 10)
    assert mine_answer.status_code == 304


async def test_unchanged_for_n_seconds_answers_304_with_preference_applied(stack: Stack) -> None:
    user = await stack.bell.add_user()
    etag = await stack.etag(user)
    started = time.monotonic()
    answer = await stack.poll(user, etag, "respond-async, wait=1")
    elapsed = time.monotonic() - started
    assert answer.status_code == 304
    assert answer.headers["preference-applied"] == "wait=1"
    assert answer.headers["etag"] == etag
    assert 1 <= elapsed < 3


async def test_an_etag_that_already_differs_answers_at_once(stack: Stack) -> None:
    user = await stack.bell.add_user()
    etag = await stack.etag(user)
    await stack.bell.notify(user)
    answer = await asyncio.wait_for(stack.poll(user, etag, "wait=20"), 5)
    assert answer.status_code == 200
    assert answer.json()["unread_count"] == 1


async def test_a_wait_above_30_is_clamped_and_says_so(stack: Stack) -> None:
    user = await stack.bell.add_user()
    polling = stack.poll(user, await stack.etag(user), "wait=120")
    await stack.held(1)
    await stack.bell.notify(user)
    answer = await asyncio.wait_for(polling, 10)
    assert (answer.status_code, answer.headers["preference-applied"]) == (200, "wait=30")


@with_env(NOTIFIER_LONGPOLL_MAX_WAIT_SECONDS="1")
async def test_the_configured_longest_wait_clamps(stack: Stack) -> None:
    user = await stack.bell.add_user()
    answer = await asyncio.wait_for(stack.poll(user, await stack.etag(user), "wait=25"), 5)
    assert (answer.status_code, answer.headers["preference-applied"]) == (304, "wait=1")


# --- answered at once, as without Prefer ----------------------------------------------------


@pytest.mark.parametrize("prefer", ["wait=abc", "wait=-3", "wait", 'wait="5"', "wait=0"])
async def test_a_malformed_or_zero_wait_answers_at_once(stack: Stack, prefer: str) -> None:
    user = await stack.bell.add_user()
    answer = await asyncio.wait_for(stack.poll(user, await stack.etag(user), prefer), 3)
    assert answer.status_code == 304
    assert "preference-applied" not in answer.headers


async def test_without_if_none_match_it_answers_at_once(stack: Stack) -> None:
    user = await stack.bell.add_user()
    answer = await asyncio.wait_for(stack.poll(user, None, "wait=20"), 3)
    assert answer.status_code == 200
    assert "preference-applied" not in answer.headers
    assert answer.headers["x-poll-interval"] == "30"


@with_env(NOTIFIER_LONGPOLL_MAX_HELD="1")
async def test_past_the_cap_it_answers_at_once_without_preference_applied(stack: Stack) -> None:
    first, second = await stack.bell.add_user(), await stack.bell.add_user()
    held = stack.poll(first, await stack.etag(first), "wait=20")
    await stack.held(1)
    answer = await asyncio.wait_for(stack.poll(second, await stack.etag(second), "wait=20"), 3)
    assert answer.status_code == 304
    assert "preference-applied" not in answer.headers
    await stack.bell.notify(first)
    assert (await asyncio.wait_for(held, 10)).status_code == 200


@with_env(NOTIFIER_LONGPOLL_MAX_HELD="0")
async def test_a_cap_of_zero_turns_long_polling_off(stack: Stack) -> None:
    user = await stack.bell.add_user()
    answer = await asyncio.wait_for(stack.poll(user, await stack.etag(user), "wait=20"), 3)
    assert answer.status_code == 304
    assert "preference-applied" not in answer.headers


# --- robustness ---------------------------------------------------------------------------


async def _terminate_listener(pool: asyncpg.Pool[Any]) -> int:
    return int(
        await pool.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE application_name = $1 AND datname = current_database()""",
            APPLICATION_NAME,
        )
    )


# The backoff before reconnecting is at least 0.5 s: the change below is committed while
# nobody listens, so only the re-check after reconnecting can answer the held request.
@with_env(NOTIFIER_RETRY_INITIAL_BACKOFF="1.0")
async def test_a_killed_listen_connection_reconnects_and_held_requests_still_get_changes(
    stack: Stack,
) -> None:
    user = await stack.bell.add_user()
    polling = stack.poll(user, await stack.etag(user), "wait=20")
    await stack.held(1)
    assert await _terminate_listener(stack.bell.pool) == 1
    await until(lambda: not stack.listener.up)
    assert REGISTRY.get_sample_value("notifier_longpoll_listener_up") == 0
    ready = await stack.bell.client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["longpoll"] != "ok"
    await stack.bell.notify(user)  # announced to nobody
    assert not stack.listener.up, "reconnected too soon for this test to mean anything"
    answer = await asyncio.wait_for(polling, 10)
    assert (answer.status_code, answer.json()["unread_count"]) == (200, 1)
    assert stack.listener.up
    assert REGISTRY.get_sample_value("notifier_longpoll_listener_up") == 1
    # The new connection listens: the next change is announced.
    again = stack.poll(user, answer.headers["etag"], "wait=20")
    await stack.held(1)
    await stack.bell.notify(user)
    assert (await asyncio.wait_for(again, 10)).json()["unread_count"] == 2


async def test_a_client_that_disconnects_frees_its_waiter(stack: Stack) -> None:
    user = await stack.bell.add_user()
    etag = await stack.etag(user)
    before = REGISTRY.get_sample_value(
        "notifier_longpoll_answers_total", {"outcome": "disconnected"}
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
    writer.write(
        (
            f"GET {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {user.token}\r\n"
            f"If-None-Match: {etag}\r\nPrefer: wait=30\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    await stack.held(1)
    writer.close()
    await writer.wait_closed()
    await until(lambda: stack.long_poll.held == 0, timeout=5)
    after = REGISTRY.get_sample_value(
        "notifier_longpoll_answers_total", {"outcome": "disconnected"}
    )
    assert (after or 0) - (before or 0) == 1
    assert not await reader.read()  # nothing was ever answered on it


async def test_shutdown_answers_held_requests_promptly(stack: Stack) -> None:
    user = await stack.bell.add_user()
    polling = stack.poll(user, await stack.etag(user), "wait=30")
    await stack.held(1)
    started = time.monotonic()
    stack.server.should_exit = True
    answer = await asyncio.wait_for(polling, 5)
    assert answer.status_code == 304
    await asyncio.wait_for(stack.serving, 5)
    assert time.monotonic() - started < 3


# --- the trigger -----------------------------------------------------------------------------


@pytest.fixture
async def listening(database_url: str) -> AsyncIterator[asyncio.Queue[str]]:
    payloads: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(database_url)
    await conn.add_listener(CHANNEL, lambda *args: payloads.put_nowait(args[-1]))
    try:
        yield payloads
    finally:
        await conn.close()


async def test_the_trigger_announces_changed_badges_on_commit_in_small_payloads(
    database_url: str, listening: asyncio.Queue[str]
) -> None:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notifier"})
    try:
        users = sorted(uuid.uuid4() for _ in range(450))
        await conn.execute(
            """INSERT INTO recipients (user_id, organization_id)
               SELECT u, $2 FROM unnest($1::uuid[]) u""",
            users,
            uuid.uuid4(),
        )
        async with conn.transaction():
            await conn.execute(
                "UPDATE recipients SET version = version + 1 WHERE user_id = ANY($1)", users
            )
            assert listening.empty()  # nothing before the commit
        payloads = [await asyncio.wait_for(listening.get(), 5) for _ in range(3)]
        announced = [user for payload in payloads for user in payload.split(",")]
        assert sorted(announced) == [user.hex for user in users]
        assert max(len(payload) for payload in payloads) < 8000
        rolled_back = conn.transaction()
        await rolled_back.start()
        await conn.execute("UPDATE recipients SET version = 9 WHERE user_id = $1", users[1])
        await rolled_back.rollback()
        await conn.execute("UPDATE recipients SET version = 7 WHERE user_id = $1", users[2])
        assert await asyncio.wait_for(listening.get(), 5) == users[2].hex  # not users[1]
        assert listening.empty()
    finally:
        await conn.close()


# --- the Prefer header (RFC 7240) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "wait"),
    [
        (["wait=5"], 5),
        (["WAIT = 7 ; x=1"], 7),
        (["respond-async, wait=10"], 10),
        (["return=minimal", "wait=3"], 3),
        (['handling=lenient;foo;bar="x" , Wait=12'], 12),
        (['x="a,wait=1", wait=4'], 4),
        (["wait=5, wait=3"], 5),
        (["wait=0030"], 30),
        (["wait=99999999999"], 10**9),
        (["wait=abc"], None),
        (["wait=-1"], None),
        (["wait"], None),
        (['wait="5"'], None),
        (["wait=5 garbage"], None),
        (['wait="5, wait=3'], None),
        (["wait=x, wait=3"], None),
        (["respond-async"], None),
        ([""], None),
        ([], None),
    ],
)
def test_prefer_wait_is_parsed_as_rfc_7240_says(values: list[str], wait: int | None) -> None:
    assert requested_wait(values) == wait
