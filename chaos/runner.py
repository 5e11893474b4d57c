"""The soak from start to verdict: stack, users, traffic with faults, drain, invariants."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import shutil
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from chaos import faults, invariants, report
from chaos.bell_check import COUNTERS, bell_counts
from chaos.invariants import Check, DeadLetter, LagSample
from chaos.observe import LagReader, sample_lag, sample_rss
from chaos.seed import Population, create_users, wait_for_projection
from chaos.stack import STOPPING, Stack, start_stack
from chaos.traffic import (
    Auth,
    HttpLog,
    NotifierTargets,
    Publisher,
    Session,
    login_traffic,
    poller,
    steady_and_bursts,
)
from clochette.machine import git_sha, machine
from shared.logging import configure_logging
from shared.settings import clochette_home
from shared.topics import DEAD_LETTER_TOPIC, PLATFORM_TOPICS


@dataclass(frozen=True)
class Options:
    minutes: float
    pollers: int
    rate: float
    burst: int
    organizations: int
    users_per_organization: int
    two_factor_per_organization: int
    poll_interval: float
    login_interval: float
    wrong_passwords: int
    lag_deadline: float
    grace: float
    seed: int
    keep: bool

    @property
    def duration(self) -> float:
        return self.minutes * 60


def say(text: str = "") -> None:
    print(text, flush=True)


def run(options: Options) -> int:
    """Start the stack, soak, check; 0 only when every invariant holds."""
    home = clochette_home() / "chaos"
    workdir = home / time.strftime("run-%Y%m%d-%H%M%S", time.gmtime())
    m = machine()
    sha = git_sha()
    say(
        f"chaos soak: {options.minutes:g} min, {options.rate:g} events/s + bursts of "
        f"{options.burst:,}, {options.pollers} pollers, seed {options.seed}; files in {workdir}"
    )
    say(report.machine_line(m, sha))
    # The seeding runs the auth service's code in this process: its audit lines belong to the
    # service's log, not to the soak's output.
    configure_logging("WARNING", "console", service="chaos")
    previous = install_stop_handlers()
    stack = start_stack(workdir)
    try:
        results, checks = asyncio.run(soak(stack, options))
    finally:
        STOPPING.set()
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    results |= {
        "machine": m,
        "git_sha": sha,
        "options": options.__dict__,
        "workdir": str(workdir),
        "checks": [c.__dict__ for c in checks],
        "passed": all(c.ok for c in checks),
    }
    report.write_json(home / "latest.json", results)
    say()
    say(report.table(checks))
    say()
    say(report.machine_line(m, sha))
    passed = all(c.ok for c in checks)
    say(
        f"{'PASS' if passed else 'FAIL'}: {sum(c.ok for c in checks)}/{len(checks)} invariants "
        f"hold; written to {home / 'latest.json'}"
    )
    if passed and not options.keep:
        shutil.rmtree(workdir / "pg", ignore_errors=True)  # logs stay for reading
    return 0 if passed else 1


def install_stop_handlers() -> dict[signal.Signals, Any]:
    """Ctrl-C and SIGTERM alike: flag the fault threads to stop waiting, then unwind through
    KeyboardInterrupt so every `finally` runs and `Stack.stop` ends each child in order."""

    def stop(signum: int, _frame: Any) -> None:
        STOPPING.set()
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, stop)
    return previous


async def soak(stack: Stack, options: Options) -> tuple[dict[str, Any], list[Check]]:
    rng = random.Random(options.seed)
    setup_started = time.monotonic()
    await asyncio.to_thread(stack.auth.start)
    await asyncio.to_thread(stack.auth.wait_ready)
    population = await create_users(
        stack.database_url, options.organizations, options.users_per_organization
    )
    await asyncio.to_thread(stack.notifier_a.start)
    await asyncio.to_thread(stack.notifier_a.wait_ready)
    projection_s = await wait_for_projection(stack.database_url, population, limit_s=90)
    say(
        f"setup: {len(population.users)} users in {options.organizations} organisations, "
        f"projection confirmed in {projection_s:.1f} s"
    )

    log = HttpLog()
    # Every tab is a browser of its own with its own connections: a long-polling tab holds one
    # for up to its wait, so the shared pool has room for each poller and the other traffic
    # (100 connections for 200 tabs queued requests behind held long polls until the client's
    # pool timeout counted them as "no answer").
    # An idle connection is dropped by the client (2 s) before uvicorn closes it (its keep-alive
    # timeout, 5 s): with both at 5 s a request sent on a connection the server was just closing
    # got no answer (ReadError, RemoteProtocolError) — a race browsers hide by retrying.
    limits = httpx.Limits(
        max_connections=options.pollers + 100,
        max_keepalive_connections=options.pollers + 100,
        keepalive_expiry=2.0,
    )
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as client:
        auth = Auth(client, stack.auth.url, log)
        sessions = [Session(u) for u in population.users]
        await open_sessions(auth, sessions)
        enrolled = await enroll_two_factor(auth, sessions, population, options, stack)
        say(
            f"setup: {len(sessions)} sessions, {enrolled} users with 2FA (real enrollment), "
            f"{time.monotonic() - setup_started:.0f} s"
        )

        results, checks = await traffic_and_faults(
            stack,
            options,
            rng,
            population=population,
            sessions=sessions,
            client=client,
            auth=auth,
            log=log,
        )
    results["setup_seconds"] = time.monotonic() - setup_started
    return results, checks


async def open_sessions(auth: Auth, sessions: list[Session]) -> None:
    """Log every user in (a handful at a time: logins in flight count as failures for the
    address throttle until their password is checked)."""
    limit = asyncio.Semaphore(6)

    async def one(session: Session) -> None:
        async with limit:
            for _ in range(3):
                if await auth.open(session):
                    return
                await asyncio.sleep(1)
            raise RuntimeError(f"{session.user.email} could not log in")

    await asyncio.gather(*(one(s) for s in sessions))


async def enroll_two_factor(
    auth: Auth, sessions: list[Session], population: Population, options: Options, stack: Stack
) -> int:
    """The real flow for a few users per organisation (never the admin): phone number, the SMS
    code (read from the auth outbox, where the SMS request waits for the gateway), TOTP."""
    conn = await asyncpg.connect(stack.database_url)
    enrolled = 0
    try:
        for members in population.members:
            for index in members[1 : 1 + options.two_factor_per_organization]:
                session = sessions[index]
                user_id = str(session.user.id)

                async def sms_code(user_id: str = user_id) -> str:
                    payload = await conn.fetchval(
                        "SELECT payload FROM auth.outbox WHERE topic = 'sms.requested' "
                        "AND payload->>'user_id' = $1 ORDER BY id DESC LIMIT 1",
                        user_id,
                    )
                    document = json.loads(payload) if isinstance(payload, str) else payload
                    match = re.search(r"\b(\d{6})\b", str((document or {}).get("text", "")))
                    return match.group(1) if match else ""

                phone = f"+32470{100000 + index:06d}"
                if not await auth.enable_two_factor(session, phone, sms_code):
                    raise RuntimeError(f"2FA enrollment failed for {session.user.email}")
                enrolled += 1
    finally:
        await conn.close()
    return enrolled


async def traffic_and_faults(
    stack: Stack,
    options: Options,
    rng: random.Random,
    *,
    population: Population,
    sessions: list[Session],
    client: httpx.AsyncClient,
    auth: Auth,
    log: HttpLog,
) -> tuple[dict[str, Any], list[Check]]:
    duration = options.duration
    publisher = Publisher(stack.bootstrap, population, rng)
    ledger = publisher.ledger
    reader = await asyncio.to_thread(LagReader, stack.bootstrap, lambda: dict(ledger.high_water))
    lag_samples: list[LagSample] = []
    rss: dict[str, list[tuple[float, int]]] = {}
    observers_stop = asyncio.Event()
    traffic_stop = asyncio.Event()
    started = time.monotonic()
    targets = NotifierTargets(
        {"notifier-a": stack.notifier_a.url, "notifier-b": stack.notifier_b.url}
    )
    fault_records: list[faults.FaultRecord] = []
    bursts = [(started + f * duration, options.burst) for f in faults.BURSTS]
    observers = [
        asyncio.create_task(sample_lag(reader, lag_samples, observers_stop)),
        asyncio.create_task(sample_rss(stack.service_pids, rss, observers_stop)),
    ]
    traffic = [
        asyncio.create_task(
            steady_and_bursts(
                publisher, rate=options.rate, bursts=bursts, stop=traffic_stop, started=started
            )
        ),
        asyncio.create_task(
            login_traffic(
                population.users,
                auth=auth,
                log=log,
                stop=traffic_stop,
                interval=options.login_interval,
                wrong_passwords=options.wrong_passwords,
                seed=options.seed,
            )
        ),
        *(
            asyncio.create_task(
                poller(
                    i,
                    sessions[i % len(sessions)],
                    client=client,
                    auth=auth,
                    targets=targets,
                    log=log,
                    stop=traffic_stop,
                    interval=options.poll_interval,
                    seed=options.seed,
                    token_max_age=480,
                )
            )
            for i in range(options.pollers)
        ),
    ]
    fault_task = asyncio.create_task(
        faults.run_faults(
            stack,
            started=started,
            duration=duration,
            targets=targets,
            high_water=lambda: dict(ledger.high_water),
            records=fault_records,
        )
    )
    progress = asyncio.create_task(report_progress(started, duration, ledger, log, lag_samples))
    try:
        await asyncio.sleep(duration)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(fault_task), 120)
        traffic_stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        traffic_ended = time.monotonic()
        unacked = await asyncio.to_thread(publisher.flush, 60)
        published_at = time.monotonic()
        drain_s = await drain(reader, options.lag_deadline)
    finally:
        traffic_stop.set()
        observers_stop.set()
        progress.cancel()
        for task in [*traffic, fault_task]:
            task.cancel()
        await asyncio.gather(*observers, *traffic, fault_task, progress, return_exceptions=True)
        reader.close()
    say(
        f"traffic stopped at {traffic_ended - started:.0f} s; every record acknowledged "
        f"{published_at - traffic_ended:.1f} s later; lag 0 after "
        f"{'never' if drain_s is None else f'{drain_s:.1f} s'}; checking"
    )

    checks: list[Check] = []
    results: dict[str, Any] = {}
    checks.append(check_faults(fault_records))
    checks += await check_delivery_and_letters(stack, population, publisher, unacked, results)
    checks.append(await check_badges(stack, client, auth, sessions, log))
    checks += check_http(log, fault_records, options.grace, results)
    checks += check_memory(rss, started, duration, results)
    checks += check_lag(lag_samples, fault_records, options, drain_s, results)
    results |= {
        "faults": [
            {
                "name": r.name,
                "what": r.what,
                "planned_at_s": r.planned_at,
                "start_s": None if r.window is None else r.window.start - started,
                "end_s": None if r.window is None else r.window.end - started,
                "error": r.error,
                **r.details,
            }
            for r in fault_records
        ],
        "http": dict(sorted(log.counts.items())),
        "logins": dict(auth.logins),
        "published": dict(ledger.counts()),
        "producer_retries": publisher.retries,
        "delivery_errors": dict(publisher.delivery_errors),
        "duration_s": duration,
    }
    print_activity(results, started, fault_records)
    return results, checks


async def report_progress(
    started: float,
    duration: float,
    ledger: Any,
    log: HttpLog,
    lag_samples: list[LagSample],
) -> None:
    """One line a minute (every 20 s in short runs): a soak that looks stuck is stopped."""
    every = 60.0 if duration >= 300 else 20.0
    while True:
        await asyncio.sleep(every)
        lag = next((s.total for s in reversed(lag_samples) if s.total is not None), None)
        polls = sum(v for k, v in log.counts.items() if "unread-count" in k)
        say(
            f"  t={time.monotonic() - started:5.0f} s  published {len(ledger):,}  polls {polls:,}"
            f"  failures {len(log.failures)}  lag {lag}"
        )


async def drain(reader: LagReader, deadline: float) -> float | None:
    """Seconds until the lag is exactly 0 on every partition after the traffic stopped."""
    begin = time.monotonic()
    while time.monotonic() - begin < deadline:
        sample = await asyncio.to_thread(reader.sample)
        if sample.total == 0:
            return time.monotonic() - begin
        await asyncio.sleep(0.5)
    return None


def check_faults(records: list[faults.FaultRecord]) -> Check:
    done = [r for r in records if r.window is not None and r.error is None]
    failed = [f"{r.name}: {r.error}" for r in records if r.error]
    return Check(
        "faults executed, services back",
        f"{len(done)}/{len(faults.SCHEDULE)}" + (f" ({'; '.join(failed)})" if failed else ""),
        f"{len(faults.SCHEDULE)}/{len(faults.SCHEDULE)}",
        len(done) == len(faults.SCHEDULE),
    )


async def check_delivery_and_letters(
    stack: Stack,
    population: Population,
    publisher: Publisher,
    unacked: int,
    results: dict[str, Any],
) -> list[Check]:
    ledger = publisher.ledger
    index = population.index_of()
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_id, user_id FROM notifier.notifications WHERE type = ANY($1::text[])",
            [*PLATFORM_TOPICS, "invoice.teleported"],
        )
    finally:
        await conn.close()
    stored = (
        (sequence, index.get(r["user_id"], -1))
        for r in rows
        if (sequence := ledger.sequence_of(r["event_id"])) is not None
    )
    delivery = invariants.check_delivery(ledger.expected(population.members), stored)
    letters = await asyncio.to_thread(read_dead_letters, stack.bootstrap, ledger)
    dead = invariants.check_dead_letters(ledger.bad_records(), letters)
    results["delivery"] = delivery.__dict__
    results["dead_letters"] = dead.__dict__
    results["unacknowledged_at_end"] = unacked
    return [
        Check(
            "published events = stored notifications",
            f"{delivery.events:,} events acked → {delivery.expected:,} expected, "
            f"{delivery.stored:,} stored",
            "stored = expected",
            delivery.ok and delivery.stored == delivery.expected,
        ),
        Check(
            "  no loss",
            f"{delivery.missing} missing" + _examples(delivery.missing_examples),
            "0",
            delivery.missing == 0,
        ),
        Check("  no duplicate", f"{delivery.duplicates} duplicates", "0", delivery.duplicates == 0),
        Check(
            "  no notification for a bad record / wrong user",
            f"{delivery.unexpected} unexpected" + _examples(delivery.unexpected_examples),
            "0",
            delivery.unexpected == 0,
        ),
        Check(
            "every bad record dead-lettered",
            f"{dead.found}/{dead.bad} in {DEAD_LETTER_TOPIC}, {dead.wrong_headers} wrong headers, "
            f"{dead.unexpected} foreign, {dead.repeated} repeated",
            "all, 0 wrong, 0 foreign",
            dead.ok and dead.bad > 0,
        ),
        Check(
            "records left unacknowledged",
            f"{unacked}",
            "0",
            unacked == 0,
        ),
    ]


def _examples(pairs: tuple[tuple[int, int], ...]) -> str:
    return f" e.g. (event #, user #) {list(pairs)}" if pairs else ""


def read_dead_letters(bootstrap: str, ledger: Any) -> list[DeadLetter]:
    """The whole dead-letter topic through `assign()` from the beginning of each partition
    (`subscribe()` hangs with tansu), up to each partition's end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-dlq-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    try:
        metadata = consumer.list_topics(DEAD_LETTER_TOPIC, timeout=10)
        partitions = sorted(metadata.topics[DEAD_LETTER_TOPIC].partitions)
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(DEAD_LETTER_TOPIC, p), timeout=10, cached=False
            )
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(DEAD_LETTER_TOPIC, p, OFFSET_BEGINNING) for p in ends])
        letters: list[DeadLetter] = []
        positions = dict.fromkeys(ends, -1)
        deadline = time.monotonic() + 60
        # ListOffsets may answer short on tansu: read until a poll brings nothing new after
        # every partition reached the end it reported.
        idle = 0
        while time.monotonic() < deadline and idle < 3:
            batch = consumer.consume(1000, timeout=1.0)
            if not batch:
                if all(positions[p] + 1 >= ends[p] for p in ends):
                    idle += 1
                continue
            idle = 0
            for message in batch:
                if message.error():
                    continue
                positions[message.partition() or 0] = message.offset() or 0
                headers = dict(message.headers() or [])
                letters.append(
                    DeadLetter(
                        ledger.sequence_in_dead_letter(message.value()),
                        _text(headers.get("dlq.original.topic")),
                        _int(headers.get("dlq.original.partition")),
                        _int(headers.get("dlq.original.offset")),
                    )
                )
        return letters
    finally:
        consumer.close()


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _int(value: str | bytes | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


async def check_badges(
    stack: Stack, client: httpx.AsyncClient, auth: Auth, sessions: list[Session], log: HttpLog
) -> Check:
    """For every user and every counter (unread, unseen, unread per category): the badge, the
    lists walked with their cursors, the rows in the database by the visibility rule and the
    recipient's counter must be the same number (chaos/bell_check.py)."""
    counts = await bell_counts(stack.database_url, client, stack.notifier_a.url, auth, sessions)
    bad = [c for c in counts if not c.consistent]
    agreeing = len(counts) - len(bad)
    example = f"; e.g. {bad[0].user}: {bad[0].disagreements()}" if bad else ""
    return Check(
        "every counter = its list, every user",
        f"{agreeing}/{len(sessions)} users agree on {len(COUNTERS)} counters (badge = listed "
        "= DB rows = counter)" + example,
        f"{len(sessions)}/{len(sessions)}",
        agreeing == len(sessions),
    )


def check_http(
    log: HttpLog, records: list[faults.FaultRecord], grace: float, results: dict[str, Any]
) -> list[Check]:
    windows = [r.window for r in records if r.window is not None]
    failures = invariants.check_http_failures(log.failures, windows, grace)
    unexpected = invariants.check_http_failures(log.unexpected, windows, grace)
    total = sum(log.counts.values())
    results["http_failures"] = {
        "inside_windows": failures.inside,
        "outside": failures.outside,
        "outside_examples": [
            {"target": f.target, "route": f.route, "status": f.status, "error": f.error}
            for f in failures.outside_examples
        ],
        "by_window": failures.by_window,
    }
    say("failures inside fault windows (status 0 = no answer):")
    for key, count in sorted(failures.by_window.items()):
        say(f"  {key}: {count}")
    results["http_unexpected_4xx"] = {"inside": unexpected.inside, "outside": unexpected.outside}

    def examples(figures: invariants.HttpFigures) -> str:
        return "".join(
            f"; {f.target} {f.route} {f.status or f'no answer ({f.error})'}"
            for f in figures.outside_examples
        )

    return [
        Check(
            "no 5xx / no answer outside fault windows",
            f"{failures.outside} outside, {failures.inside} inside windows "
            f"(of {total:,} requests)" + examples(failures),
            f"0 outside (windows + {grace:g} s)",
            failures.ok,
        ),
        Check(
            "no unexpected 4xx outside fault windows",
            f"{unexpected.outside} outside, {unexpected.inside} inside" + examples(unexpected),
            "0 outside",
            unexpected.ok,
        ),
    ]


def check_memory(
    rss: dict[str, list[tuple[float, int]]],
    started: float,
    duration: float,
    results: dict[str, Any],
) -> list[Check]:
    """Each service's process alive through the last half: its fitted growth there."""
    since, until = started + duration / 2, started + duration
    checks = []
    results["rss"] = {}
    for service in ("auth", "notifier-a", "notifier-b"):
        keys = [k for k in rss if k.startswith(service + "#")]
        covering = [
            k for k in keys if rss[k] and rss[k][0][0] <= since + 5 and rss[k][-1][0] >= until - 10
        ]
        if not covering:
            peak = max((v for k in keys for _, v in rss[k]), default=0) / invariants.MIB
            results["rss"][service] = {"peak_mb": peak, "note": "not running in the last half"}
            if service == "notifier-b":
                continue  # B runs in the first third only, by design
            checks.append(
                Check(
                    f"RSS {service} flat over last half",
                    "no process covering it",
                    "a process",
                    False,
                )
            )
            continue
        figures = invariants.check_rss(rss[covering[-1]], since=since, until=until)
        results["rss"][service] = figures.__dict__ | {"growth_percent": figures.growth_percent}
        checks.append(
            Check(
                f"RSS {service} flat over last half",
                f"{figures.start_mb:.0f} MB, fitted growth {figures.growth_mb:+.1f} MB "
                f"({figures.growth_percent:+.1f} %), peak {figures.peak_mb:.0f} MB, "
                f"{figures.samples} samples",
                f"< {figures.limit_mb:.0f} MB (max of 20 MB, 10 %)",
                figures.ok,
            )
        )
    return checks


def check_lag(
    samples: list[LagSample],
    records: list[faults.FaultRecord],
    options: Options,
    drain_s: float | None,
    results: dict[str, Any],
) -> list[Check]:
    ended = [r for r in records if r.window is not None]
    last = max(ended, key=lambda r: r.window.end if r.window else 0.0) if ended else None
    recovery = None
    if last is not None and last.window is not None:
        recovery = invariants.lag_recovery(
            samples,
            since=last.window.end,
            backlog=last.backlog,
            allowance=max(1, int(options.rate)),
        )
    results["lag_recovery_s"] = recovery
    results["lag_drain_s"] = drain_s
    unmeasured = sum(1 for s in samples if s.total is None)
    peak = max((s.total for s in samples if s.total is not None), default=0)
    return [
        Check(
            "lag back to 0 after the last fault",
            ("never" if recovery is None else f"{recovery:.1f} s")
            + f" after {last.name if last else '?'} ended (backlog consumed, lag ≤ "
            f"{int(options.rate)} = 1 s of traffic); peak lag {peak:,}, "
            f"{unmeasured} samples unmeasured (broker paused)",
            f"≤ {options.lag_deadline:g} s",
            recovery is not None and recovery <= options.lag_deadline,
        ),
        Check(
            "lag exactly 0 once traffic stopped",
            "never" if drain_s is None else f"0 after {drain_s:.1f} s",
            f"≤ {options.lag_deadline:g} s",
            drain_s is not None,
        ),
    ]


def print_activity(
    results: dict[str, Any], started: float, records: list[faults.FaultRecord]
) -> None:
    """What happened, before the verdicts: the faults with their windows, the traffic."""
    say("\nfaults (seconds from the start of traffic):")
    for r in records:
        window = (
            "not run"
            if r.window is None
            else f"{r.window.start - started:6.1f} → {r.window.end - started:6.1f}"
        )
        details = ", ".join(f"{k} {v:.1f}" for k, v in r.details.items())
        say(
            f"  {r.name:<22} {window}  {r.what}"
            + (f" ({details})" if details else "")
            + (f" ERROR {r.error}" if r.error else "")
        )
    published: Counter[str] = Counter(results["published"])
    say("traffic:")
    say(
        "  events: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(published.items()))
        + f"; producer retries {results['producer_retries']}"
    )
    http: dict[str, int] = results["http"]
    by_route: Counter[str] = Counter()
    for key, value in http.items():
        _target, route, status = key.split(" ")
        by_route[f"{route} {status}"] += value
    say("  http: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_route.items())))
    say("  logins: " + ", ".join(f"{k} {v:,}" for k, v in sorted(results["logins"].items())))
