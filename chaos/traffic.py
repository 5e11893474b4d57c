"""The soak's traffic: platform events on the seven topics (steady rate plus bursts, ~1 % bad
records), a few hundred bell pollers with ETags, list / mark read / read-all, and logins with
and without the second factor.

Only what the broker acknowledged counts as published: the generator keeps every record until
its delivery report and produces it again (same bytes, same event id) when delivery failed,
so a broker pause delays records but never makes the ledger guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import secrets
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pyotp
from confluent_kafka import KafkaError, Message, Producer

from chaos.bell_traffic import BellActions, long_poll_headers, was_held
from chaos.invariants import BadRecord, HttpFailure
from chaos.seed import Population, User
from shared.events.examples import EXAMPLE_DATA
from shared.topics import PLATFORM_TOPICS

GOOD, NOT_JSON, UNKNOWN_TYPE, INVALID_PAYLOAD = 0, 1, 2, 3
KIND_NAMES = {GOOD: "good", NOT_JSON: "not_json", UNKNOWN_TYPE: "unknown_type", 3: "invalid"}
BROADCAST = -1
_SEQUENCE_MASK = (1 << 62) - 1
_NOT_JSON_MARK = re.compile(rb'"chaos_bad": (\d+)')


class Ledger:
    """What the generator published, one slot per sequence number in typed arrays (~20 bytes
    per event instead of a few hundred for objects): kind, topic, organisation, user, and the
    partition and offset of the broker's acknowledgement."""

    def __init__(self, run_prefix: bytes) -> None:
        self.prefix = run_prefix
        self.prefix_high = uuid.UUID(bytes=run_prefix + bytes(8), version=4).int >> 64
        self.kind = array("b")
        self.topic = array("b")
        self.organization = array("h")
        self.user = array("h")
        self.partition = array("h")
        self.offset = array("q")
        self.acked = bytearray()
        # Highest acknowledged offset + 1 per "topic:partition": the exact high-water mark
        # (tansu's ListOffsets answers short by the last batch's size).
        self.high_water: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.kind)

    def event_id(self, sequence: int) -> uuid.UUID:
        return uuid.UUID(bytes=self.prefix + sequence.to_bytes(8, "big"), version=4)

    def sequence_of(self, event_id: uuid.UUID) -> int | None:
        """The sequence number inside one of this run's event ids; None for anyone else's."""
        if event_id.int >> 64 != self.prefix_high:
            return None
        return event_id.int & _SEQUENCE_MASK

    def add(self, kind: int, topic: int, organization: int, user: int) -> int:
        self.kind.append(kind)
        self.topic.append(topic)
        self.organization.append(organization)
        self.user.append(user)
        self.partition.append(-1)
        self.offset.append(-1)
        self.acked.append(0)
        return len(self.kind) - 1

    def acknowledge(self, sequence: int, partition: int, offset: int) -> None:
        self.acked[sequence] = 1
        self.partition[sequence] = partition
        self.offset[sequence] = offset
        key = f"{PLATFORM_TOPICS[self.topic[sequence]]}:{partition}"
        if offset + 1 > self.high_water.get(key, 0):
            self.high_water[key] = offset + 1

    def expected(self, members: list[list[int]]) -> dict[int, list[int]]:
        """Good, acknowledged events → the users they must reach."""
        out: dict[int, list[int]] = {}
        for sequence in range(len(self.kind)):
            if self.kind[sequence] != GOOD or not self.acked[sequence]:
                continue
            user = self.user[sequence]
            out[sequence] = members[self.organization[sequence]] if user == BROADCAST else [user]
        return out

    def bad_records(self) -> list[BadRecord]:
        return [
            BadRecord(s, PLATFORM_TOPICS[self.topic[s]], self.partition[s], self.offset[s])
            for s in range(len(self.kind))
            if self.kind[s] != GOOD and self.acked[s]
        ]

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for sequence in range(len(self.kind)):
            state = "acked" if self.acked[sequence] else "unacked"
            kind = self.kind[sequence]
            if kind == GOOD:
                kind_name = "broadcast" if self.user[sequence] == BROADCAST else "direct"
            else:
                kind_name = KIND_NAMES[kind]
            counts[f"{kind_name} {state}"] += 1
        return counts

    def sequence_in_dead_letter(self, value: bytes | None) -> int | None:
        """Which of our bad records a dead letter carries (its original bytes)."""
        if not value:
            return None
        match = _NOT_JSON_MARK.search(value)
        if match:
            return int(match.group(1))
        try:
            event_id = uuid.UUID(str(json.loads(value)["event_id"]))
        except (ValueError, KeyError, TypeError):
            return None
        return self.sequence_of(event_id)


class Publisher:
    """librdkafka producer (acks=all; no idempotence: tansu has no InitProducerId), keyed by
    organisation like every platform producer."""

    def __init__(
        self,
        bootstrap: str,
        population: Population,
        rng: random.Random,
        *,
        bad_ratio: float = 0.01,
        broadcast_ratio: float = 0.1,
    ) -> None:
        self.ledger = Ledger(rng.randbytes(8))
        self.population = population
        self.rng = rng
        self.bad_ratio = bad_ratio
        self.broadcast_ratio = broadcast_ratio
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": False,
                "linger.ms": 5,
                "batch.num.messages": 5000,
                "queue.buffering.max.messages": 1_000_000,
                "message.timeout.ms": 60_000,
                "log_level": 3,
            }
        )
        self.pending: dict[int, tuple[str, bytes, bytes]] = {}
        self.failed: list[int] = []
        self.retries = 0
        self.delivery_errors: Counter[str] = Counter()

    def _record(self) -> tuple[int, str, bytes, bytes]:
        rng = self.rng
        topic_index = rng.randrange(len(PLATFORM_TOPICS))
        topic = PLATFORM_TOPICS[topic_index]
        organization = rng.randrange(len(self.population.organization_ids))
        members = self.population.members[organization]
        user = BROADCAST if rng.random() < self.broadcast_ratio else rng.choice(members)
        kind = GOOD
        if rng.random() < self.bad_ratio:
            kind = rng.choice((NOT_JSON, UNKNOWN_TYPE, INVALID_PAYLOAD))
        sequence = self.ledger.add(kind, topic_index, organization, user)
        organization_id = str(self.population.organization_ids[organization])
        if kind == NOT_JSON:
            value = b'{"chaos_bad": %d, "truncated' % sequence
        else:
            document: dict[str, Any] = {
                "event_id": str(self.ledger.event_id(sequence)),
                "type": topic if kind != UNKNOWN_TYPE else "invoice.teleported",
                "version": 1,
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "organization_id": organization_id,
                "user_id": None if user == BROADCAST else str(self.population.users[user].id),
                "data": EXAMPLE_DATA[topic] if kind != INVALID_PAYLOAD else {"status": "bogus"},
            }
            value = json.dumps(document).encode()
        return sequence, topic, organization_id.encode(), value

    def _delivered(self, sequence: int, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.delivery_errors[error.name()] += 1
            self.failed.append(sequence)
            return
        partition, offset = message.partition(), message.offset()
        if partition is None or offset is None:  # pragma: no cover - set on a delivered record
            self.failed.append(sequence)
            return
        self.pending.pop(sequence, None)
        self.ledger.acknowledge(sequence, partition, offset)

    def _send(self, sequence: int, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(
                    topic, value, key=key, on_delivery=partial(self._delivered, sequence)
                )
            except BufferError:
                self.producer.poll(0.05)
            else:
                return

    def publish(self, count: int) -> None:
        for _ in range(count):
            sequence, topic, key, value = self._record()
            self.pending[sequence] = (topic, key, value)
            self._send(sequence, topic, key, value)
        self.pump()

    def pump(self) -> None:
        """Serve delivery reports; produce again what failed (same bytes, same event id)."""
        self.producer.poll(0)
        while self.failed:
            sequence = self.failed.pop()
            if sequence in self.pending:
                self.retries += 1
                self._send(sequence, *self.pending[sequence])

    def flush(self, timeout: float) -> int:
        """Wait for every delivery report (retrying failures) until `timeout`; returns the
        number of records still unacknowledged (they count as not published)."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self.producer.flush(min(5.0, max(0.1, deadline - time.monotonic())))
            self.pump()
        return len(self.pending)


async def steady_and_bursts(
    publisher: Publisher,
    *,
    rate: float,
    bursts: list[tuple[float, int]],
    stop: asyncio.Event,
    started: float,
) -> None:
    """`rate` events per second, plus `count` more at each (monotonic time, count) burst."""
    sent = 0
    pending_bursts = sorted(bursts)
    while not stop.is_set():
        now = time.monotonic()
        due = int(rate * (now - started)) - sent
        if due > 0:
            publisher.publish(due)
            sent += due
        while pending_bursts and pending_bursts[0][0] <= now:
            _, count = pending_bursts.pop(0)
            for chunk in range(0, count, 500):
                publisher.publish(min(500, count - chunk))
                await asyncio.sleep(0)
        publisher.pump()
        await asyncio.sleep(0.05)


# --- HTTP -----------------------------------------------------------------------------------


@dataclass
class HttpLog:
    """Every answer by target, route and status; failures (5xx, no answer) and unexpected 4xx
    with their start and end times, to be judged against the fault windows at the end."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: list[HttpFailure] = field(default_factory=list)
    unexpected: list[HttpFailure] = field(default_factory=list)

    async def call(
        self,
        client: httpx.AsyncClient,
        target: str,
        route: str,
        method: str,
        url: str,
        *,
        expect: frozenset[int],
        **kwargs: Any,
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.counts[f"{target} {route} error"] += 1
            self.failures.append(
                HttpFailure(target, route, 0, started, time.monotonic(), type(exc).__name__)
            )
            return None
        status = response.status_code
        self.counts[f"{target} {route} {status}"] += 1
        if status >= 500:
            self.failures.append(HttpFailure(target, route, status, started, time.monotonic()))
        elif status not in expect:
            self.unexpected.append(HttpFailure(target, route, status, started, time.monotonic()))
        return response


OK = frozenset({200})


def totp_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // 30)


@dataclass
class Session:
    """A user's token pair; refreshed under a lock (two refreshes of one token would count as
    reuse and revoke the family), logged in again when the refresh token was refused."""

    user: User
    access: str = ""
    refresh: str = ""
    obtained: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


def with_device(user: User, body: dict[str, Any]) -> dict[str, Any]:
    """A login body with the user's device token, as a browser that logged in before sends."""
    return body if user.device_token is None else {**body, "device_token": user.device_token}


class Auth:
    """The auth service as the web app uses it."""

    def __init__(self, client: httpx.AsyncClient, url: str, log: HttpLog) -> None:
        self.client, self.url, self.log = client, url, log
        self.logins: Counter[str] = Counter()

    async def login(self, user: User, password: str | None = None) -> dict[str, Any] | None:
        """Password step, then the TOTP step when 2FA is on (waiting for a time step this
        user has not used: the service refuses a code, or an earlier one, twice)."""
        wrong = password is not None
        response = await self.log.call(
            self.client,
            "auth",
            "login",
            "POST",
            self.url + "/v1/auth/login",
            expect=frozenset({401}) if wrong else OK,
            json=with_device(user, {"email": user.email, "password": password or user.password}),
        )
        if response is None or response.status_code != 200:
            self.logins["wrong password refused" if wrong else "failed"] += 1
            return None
        body: dict[str, Any] = response.json()
        if not body.get("mfa_required"):
            self.logins["password"] += 1
            user.device_token = body.get("device_token", user.device_token)
            return body
        if user.two_factor_secret is None:
            self.logins["failed"] += 1
            return None
        if totp_step() <= user.last_totp_step:
            await asyncio.sleep((user.last_totp_step + 1) * 30 - time.time() + 0.05)
        step = totp_step()
        user.last_totp_step = step
        code = pyotp.TOTP(user.two_factor_secret).at(step * 30)
        second = await self.log.call(
            self.client,
            "auth",
            "login/2fa",
            "POST",
            self.url + "/v1/auth/login/2fa",
            expect=OK,
            json=with_device(user, {"mfa_token": body["mfa_token"], "code": code}),
        )
        if second is None or second.status_code != 200:
            self.logins["failed"] += 1
            return None
        self.logins["password + TOTP"] += 1
        pair: dict[str, Any] = second.json()
        user.device_token = pair.get("device_token", user.device_token)
        return pair

    async def open(self, session: Session) -> bool:
        pair = await self.login(session.user)
        if pair is None:
            return False
        session.access, session.refresh = pair["access_token"], pair["refresh_token"]
        session.obtained = time.monotonic()
        return True

    async def keep_fresh(self, session: Session, max_age: float) -> None:
        """Refresh a token older than `max_age`; a refused refresh token means a new login."""
        if time.monotonic() - session.obtained < max_age:
            return
        async with session.lock:
            if time.monotonic() - session.obtained < max_age:
                return
            response = await self.log.call(
                self.client,
                "auth",
                "refresh",
                "POST",
                self.url + "/v1/auth/refresh",
                expect=frozenset({200, 401}),
                json={"refresh_token": session.refresh},
            )
            if response is None or response.status_code >= 500:
                return  # the access token still has minutes to live: try again later
            if response.status_code == 200:
                pair = response.json()
                session.access, session.refresh = pair["access_token"], pair["refresh_token"]
                session.obtained = time.monotonic()
                self.logins["refresh"] += 1
            else:
                self.logins["refresh refused, logged in again"] += 1
                await self.open(session)

    async def enable_two_factor(
        self, session: Session, phone: str, sms_code: Callable[[], Any]
    ) -> bool:
        """The real enrollment: phone number, the code of the SMS (read from the outbox by
        `sms_code`), the TOTP secret of the otpauth URI, activation with a TOTP code."""
        headers = session.headers
        sent = await self.log.call(
            self.client,
            "auth",
            "2fa/phone",
            "POST",
            self.url + "/v1/me/2fa/phone",
            expect=frozenset({202}),
            json={"phone_number": phone},
            headers=headers,
        )
        if sent is None or sent.status_code != 202:
            return False
        code = await sms_code()
        verified = await self.log.call(
            self.client,
            "auth",
            "2fa/phone/verify",
            "POST",
            self.url + "/v1/me/2fa/phone/verify",
            expect=OK,
            json={"code": code},
            headers=headers,
        )
        if verified is None or verified.status_code != 200:
            return False
        secret = pyotp.parse_uri(verified.json()["otpauth_uri"]).secret
        step = totp_step()
        activated = await self.log.call(
            self.client,
            "auth",
            "2fa/activate",
            "POST",
            self.url + "/v1/me/2fa/activate",
            expect=OK,
            json={"code": pyotp.TOTP(secret).at(step * 30)},
            headers=headers,
        )
        if activated is None or activated.status_code != 200:
            return False
        session.user.two_factor_secret = secret
        session.user.last_totp_step = step
        return True


@dataclass
class NotifierTargets:
    """Which notifier instances take bell traffic now: A always (its errors while it is killed
    fall in that fault's window), B only between its readiness and its stop."""

    urls: dict[str, str]
    serving: set[str] = field(default_factory=lambda: {"notifier-a"})

    def choose(self, rng: random.Random) -> tuple[str, str]:
        if "notifier-b" in self.serving and rng.random() < 0.4:
            return "notifier-b", self.urls["notifier-b"]
        return "notifier-a", self.urls["notifier-a"]


@dataclass
class PollStats:
    polls: Counter[str] = field(default_factory=Counter)


async def poller(
    number: int,
    session: Session,
    *,
    client: httpx.AsyncClient,
    auth: Auth,
    targets: NotifierTargets,
    log: HttpLog,
    stop: asyncio.Event,
    interval: float,
    seed: int,
    token_max_age: float,
) -> None:
    """One open browser tab: the badge with If-None-Match every `interval` seconds; now and
    then the list (unread), marking its newest item read; rarely "mark all as read"."""
    rng = random.Random(seed * 100_003 + number)
    etag: str | None = None
    # A third of the tabs long-poll (contract 5.1); the others poll every `interval` seconds.
    long_polling = number % 3 == 0
    bell = BellActions(client, log, rng)
    await asyncio.sleep(rng.uniform(0, interval))
    while not stop.is_set():
        target, url = targets.choose(rng)
        headers = session.headers
        if etag:
            headers["if-none-match"] = etag
            if long_polling:
                headers = long_poll_headers(headers)
        answer = await log.call(
            client,
            target,
            "long-poll" if long_polling and etag else "unread-count",
            "GET",
            url + "/v1/notifications/unread-count",
            expect=frozenset({200, 304}),
            headers=headers,
        )
        if answer is not None and answer.status_code == 200:
            etag = answer.headers.get("etag")
        draw = rng.random()
        if draw >= 0.095 and draw < 0.145:
            await bell.one((draw - 0.095) / 0.05, target, url, session)
        if draw < 0.08:
            page = await log.call(
                client,
                target,
                "list",
                "GET",
                url + "/v1/notifications",
                expect=OK,
                params={"limit": 20, "status": "unread"},
                headers=session.headers,
            )
            if page is not None and page.status_code == 200 and page.json()["items"]:
                item = page.json()["items"][0]["id"]
                await log.call(
                    client,
                    target,
                    "read",
                    "POST",
                    f"{url}/v1/notifications/{item}/read",
                    expect=frozenset({204}),
                    headers=session.headers,
                )
        elif draw < 0.095:
            await log.call(
                client,
                target,
                "read-all",
                "POST",
                url + "/v1/notifications/read-all",
                expect=frozenset({204}),
                headers=session.headers,
            )
        await auth.keep_fresh(session, token_max_age)
        if long_polling and was_held(answer):
            continue  # the server held the request: ask again at once, as the web client does
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval * rng.uniform(0.8, 1.2))


async def login_traffic(
    users: list[User],
    *,
    auth: Auth,
    log: HttpLog,
    stop: asyncio.Event,
    interval: float,
    wrong_passwords: int,
    seed: int,
) -> None:
    """A login every `interval` seconds (password only or password + TOTP), then /v1/me and a
    logout; `wrong_passwords` deliberate failures spread over the run, each on another account
    (a few, far from the throttle: 5 per account, 20 per address)."""
    rng = random.Random(seed + 7)
    plain = [u for u in users if u.two_factor_secret is None]
    wrong_users = rng.sample(plain, min(wrong_passwords, len(plain)))
    turn = 0
    while not stop.is_set():
        turn += 1
        if wrong_users and turn % 10 == 5:
            await auth.login(wrong_users.pop(), password="not the password " + secrets.token_hex(4))
        else:
            with_2fa = [u for u in users if u.two_factor_secret and u.last_totp_step < totp_step()]
            user = rng.choice(with_2fa) if with_2fa and rng.random() < 0.4 else rng.choice(plain)
            pair = await auth.login(user)
            if pair is not None:
                headers = {"authorization": f"Bearer {pair['access_token']}"}
                await log.call(
                    auth.client,
                    "auth",
                    "me",
                    "GET",
                    auth.url + "/v1/me",
                    expect=OK,
                    headers=headers,
                )
                await log.call(
                    auth.client,
                    "auth",
                    "logout",
                    "POST",
                    auth.url + "/v1/auth/logout",
                    expect=frozenset({204}),
                    json={"refresh_token": pair["refresh_token"]},
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
