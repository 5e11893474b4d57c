"""Ingest benchmark on the embedded stack (issue 5): run `python -m bench.bench_ingest`.

Starts its own PostgreSQL (durable, as `clochette dev` runs it) and tansu broker on free ports,
runs `clochette notifier` as a real process, publishes with librdkafka and measures:

1. p99 publish-to-visible at a steady 1,000 events/s (visible = committed in PostgreSQL, seen by
   a poller reading new rows every few milliseconds);
2. sustained ingest: N events published as fast as librdkafka can while the notifier consumes;
   events/s from the first publish to the moment every record's offset is committed;
3. the rate of a raw asyncpg COPY of the very rows phase 2 stored into a table with the same
   indexes, in the same database (the ratio says how close the ingest is to PostgreSQL's limit);
   phases 2 and 3 alternate for three rounds and the round with the median ratio is reported;
4. the notifier's peak RSS (VmHWM);
5. each write path and a mixed workload (issue 14; `measure_paths`, workloads in
   `bench/ingest_workloads.py`): rounds of the clean workload (per-user and organisation-wide
   events) through the notifier (COPY path), a raw COPY of the rows it stored (the baseline),
   the same events through a second notifier that never copies (statement path), and the mix
   (also unknown users and redeliveries); each run from an emptied table and checked row for
   row; ratio = notification rows/s of the ingest / rows/s of the COPY.

Prints a table and returns the figures as a dict. Targets: >= 20,000 events/s, >= 0.5 x COPY,
p99 < 250 ms, RSS < 250 MB; COPY path >= 0.6 x COPY, mix >= 0.35 x COPY (statement path
reported). `--paths-only` runs step 5 alone, `--no-paths` steps 1-4.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from confluent_kafka import Consumer, Producer, TopicPartition

from bench import ingest_workloads
from bench.ingest_workloads import Population, Record, Workload
from clochette.devstack import free_port, start_broker, start_postgres
from clochette.services import migrate_all
from services.notifier.settings import IngestTopics
from shared.events.examples import EXAMPLE_DATA
from shared.topics import PLATFORM_TOPICS, TopicSpec, ensure_topics

DATA = EXAMPLE_DATA

TARGETS = {
    "ingest_events_per_s": 20_000,
    "ratio_to_copy": 0.5,
    "p99_visible_ms": 250,
    "peak_rss_mb": 250,
}


def make_events(population: Population, count: int) -> list[tuple[str, bytes, bytes, uuid.UUID]]:
    """(topic, key, value, event_id): per-user events over every organisation and topic."""
    events = []
    organizations = population.organizations
    for i in range(count):
        organization = organizations[i % len(organizations)]
        users = population.members[organization]
        event_type = PLATFORM_TOPICS[i % len(PLATFORM_TOPICS)]
        event_id = uuid.uuid4()
        document = {
            "event_id": str(event_id),
            "type": event_type,
            "version": 1,
            "occurred_at": "2026-11-28T09:15:00Z",
            "organization_id": str(organization),
            "user_id": str(users[(i // len(organizations)) % len(users)]),
            "data": DATA[event_type],
        }
        events.append(
            (event_type, str(organization).encode(), json.dumps(document).encode(), event_id)
        )
    return events


class Notifier:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = int(env["NOTIFIER_PORT"])
        with log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(Path(sys.executable).parent / "clochette"), "notifier"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/health/ready"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the notifier exited while starting")
            with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("the notifier did not become ready")

    def metrics(self) -> dict[str, float]:
        """The notifier's own figures from GET /metrics: every `notifier_*` sample, by its name
        with labels (e.g. `notifier_batches_stored_total{path="copy"}`)."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if line.startswith("notifier_"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class CommitWatcher:
    """Reads the group's committed offsets over one long-lived librdkafka consumer."""

    def __init__(self, bootstrap: str, group: str, topics: list[str], partitions: int) -> None:
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
        self._partitions = [TopicPartition(t, p) for t in topics for p in range(partitions)]

    def total(self) -> int:
        committed = self._consumer.committed(self._partitions, timeout=10)
        return sum(max(0, tp.offset) for tp in committed)

    def close(self) -> None:
        self._consumer.close()


def producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
            "acks": "all",
            "enable.idempotence": False,
        }
    )


def produce(p: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            p.produce(topic, value, key=key)
        except BufferError:
            p.poll(0.01)
        else:
            return


async def measure_latency(
    bootstrap: str,
    dsn: str,
    topics: IngestTopics,
    population: Population,
    *,
    rate: int,
    seconds: int,
) -> dict[str, float]:
    """Publish at `rate` events/s; record when each becomes visible in PostgreSQL."""
    events = make_events(population, rate * seconds)
    sent_at: dict[uuid.UUID, float] = {}
    seen_at: dict[uuid.UUID, float] = {}
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    last_id = await conn.fetchval(
        "SELECT id FROM notifications ORDER BY id DESC LIMIT 1"
    ) or uuid.UUID(int=0)
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal last_id
        while not (done.is_set() and len(seen_at) >= len(events)):
            rows = await conn.fetch(
                "SELECT id, event_id FROM notifications WHERE id > $1 ORDER BY id LIMIT 10000",
                last_id,
            )
            now = time.perf_counter()
            for row in rows:
                seen_at.setdefault(row["event_id"], now)
            if rows:
                last_id = rows[-1]["id"]
            await asyncio.sleep(0.002)

    poller = asyncio.create_task(poll())
    p = producer(bootstrap)
    interval = 1 / rate
    start = time.perf_counter()
    for i, (event_type, key, value, event_id) in enumerate(events):
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[event_id] = time.perf_counter()
        produce(p, topics.prefix + event_type, key, value)
        p.poll(0)
    await asyncio.to_thread(p.flush, 30)
    done.set()
    await asyncio.wait_for(poller, 60)
    await conn.close()
    latencies = sorted((seen_at[e] - sent_at[e]) * 1000 for e in sent_at)
    return {
        "latency_events": len(latencies),
        "p50_visible_ms": latencies[len(latencies) // 2],
        "p99_visible_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_visible_ms": latencies[-1],
    }


def measure_throughput(
    bootstrap: str, group: str, topics: IngestTopics, population: Population, count: int
) -> dict[str, float]:
    """Publish `count` events flat out; time until every offset is committed. Also the steady
    rate, between 10 % and 90 % of the records committed (ramp-up and tail left out)."""
    events = make_events(population, count)
    return publish_until_committed(
        bootstrap, group, topics, [(topic, key, value) for topic, key, value, _ in events]
    )


def publish_until_committed(
    bootstrap: str, group: str, topics: IngestTopics, records: list[Record]
) -> dict[str, float]:
    """Publish `records` flat out; time from the first publish until the group has committed
    the offset of every one of them (events consumed, stored and committed)."""
    count = len(records)
    watcher = CommitWatcher(bootstrap, group, list(topics.platform), 3)
    try:
        before = watcher.total()
        p = producer(bootstrap)
        start = time.perf_counter()
        for event_type, key, value in records:
            produce(p, topics.prefix + event_type, key, value)
            p.poll(0)
        p.flush(60)
        published = time.perf_counter()
        progress: list[tuple[float, int]] = []
        while not progress or progress[-1][1] < count:
            progress.append((time.perf_counter(), watcher.total() - before))
            time.sleep(0.05)
            if time.perf_counter() - start > 600:
                raise RuntimeError("the ingest did not finish within 10 minutes")
        finished = progress[-1][0]
    finally:
        watcher.close()
    if progress[-1][1] != count:
        raise RuntimeError(f"{progress[-1][1]} offsets committed for {count} records published")
    low = next(p for p in progress if p[1] >= count * 0.1)
    high = next(p for p in progress if p[1] >= count * 0.9)
    steady = (high[1] - low[1]) / (high[0] - low[0]) if high[0] > low[0] else float("nan")
    return {
        "events": count,
        "publish_events_per_s": count / (published - start),
        "ingest_seconds": finished - start,
        "ingest_events_per_s": count / (finished - start),
        "steady_events_per_s": steady,
    }


async def measure_copy(dsn: str, since: uuid.UUID, count: int) -> dict[str, float]:
    """COPY the rows the ingest stored, into a table with the same indexes, same database."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    try:
        rows = await conn.fetch(
            "SELECT id, user_id, event_id, type, params::text, created_at, read_at, category "
            "FROM notifications WHERE id > $1 ORDER BY id LIMIT $2",
            since,
            count,
        )
        await conn.execute(
            "DROP TABLE IF EXISTS bench_copy; "
            "CREATE TABLE bench_copy (LIKE notifications INCLUDING ALL)"
        )
        records = [tuple(r) for r in rows]
        start = time.perf_counter()
        for offset in range(0, len(records), 5000):
            await conn.copy_records_to_table(
                "bench_copy",
                records=records[offset : offset + 5000],
                columns=[
                    "id",
                    "user_id",
                    "event_id",
                    "type",
                    "params",
                    "created_at",
                    "read_at",
                    "category",
                ],
            )
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()
    return {"copy_rows": len(records), "copy_rows_per_s": len(records) / elapsed}


async def seed(dsn: str, organizations: int, users_per_org: int) -> Population:
    population = Population([uuid.uuid4() for _ in range(organizations)], {})
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    try:
        for organization in population.organizations:
            members = [uuid.uuid4() for _ in range(users_per_org)]
            population.members[organization] = members
            await conn.executemany(
                "INSERT INTO recipients (user_id, organization_id, language) VALUES ($1, $2, 'nl')",
                [(m, organization) for m in members],
            )
    finally:
        await conn.close()
    return population


@contextmanager
def embedded_stack(workdir: Path, durable: bool) -> Iterator[tuple[str, str]]:
    postgres = start_postgres(
        workdir / "pg", free_port(), output=workdir / "postgres.log", durable=durable
    )
    broker_port = free_port()
    broker = start_broker(broker_port, output=workdir / "broker.log")
    try:
        yield postgres.url(), f"127.0.0.1:{broker_port}"
    finally:
        broker.stop()
        postgres.stop()


async def max_id(dsn: str) -> uuid.UUID:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    try:
        value = await conn.fetchval("SELECT id FROM notifications ORDER BY id DESC LIMIT 1")
    finally:
        await conn.close()
    return value or uuid.UUID(int=0)


# Events per run of each workload (rows are ~1.9 per event: organisation-wide events fan out).
# Not fewer: the baseline's COPY into a nearly empty table is unrepresentatively fast (its indexes
# are tiny), and the pipeline's fill and drain weigh on a run of a few seconds — with 40,000
# events the same code measured 0.46 where 120,000 measured 0.56-0.59 (2026-11-29).
PATH_EVENTS = 100_000
# The population of the per-path part: small organisations (a fan-out of 10), as most are.
PATH_ORGANIZATIONS, PATH_MEMBERS = 100, 10
# A second notifier whose COPY threshold is above any batch: every batch by the statement.
STATEMENT_PREFIX = "bench-statement."
PATHS = ("copy_path", "statement_path", "mix")
PATH_TARGETS: dict[str, float | None] = {"copy_path": 0.6, "statement_path": None, "mix": 0.35}
# Above NOTIFIER_BATCH_MAX_RECORDS (5,000): no batch reaches it.
STATEMENT_ONLY_THRESHOLD = 1_000_000


def run(
    events: int = 200_000,
    rate: int = 1000,
    seconds: int = 10,
    durable: bool = True,
    rounds: int = 3,
    *,
    per_user: bool = True,
    paths: bool = True,
    path_events: int = PATH_EVENTS,
    path_rounds: int | None = None,
) -> dict[str, Any]:
    """Run every measurement; returns the figures (also printed as a table). `per_user`: the
    latency, per-user throughput and RSS measurements (issue 5); `paths`: each write path and
    the mixed workload against the COPY baseline (issue 14), in `figures["paths"]`."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        with embedded_stack(workdir, durable) as (dsn, bootstrap):
            asyncio.run(migrate_all(dsn))
            topics = IngestTopics("bench.")
            statement_topics = IngestTopics(STATEMENT_PREFIX)
            asyncio.run(
                ensure_topics(
                    bootstrap,
                    tuple(
                        TopicSpec(t, 3)
                        for prefixed in (topics, statement_topics)
                        for t in (*prefixed.consumed, prefixed.dead_letter)
                    ),
                )
            )
            population = asyncio.run(seed(dsn, organizations=20, users_per_org=50))
            group = "bench-notifier"
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "NOTIFIER_PORT": str(free_port()),
                "CLOCHETTE_SECRET_KEY": "b" * 48,
                "CLOCHETTE_ENV": "test",
                "NOTIFIER_TOPIC_PREFIX": topics.prefix,
                "NOTIFIER_CONSUMER_GROUP": group,
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
            }
            notifier = Notifier(env, workdir / "notifier.log")
            try:
                notifier.wait_ready()
                stack = Stack(notifier, dsn, bootstrap, group, topics, population)
                if per_user:
                    before = notifier.metrics()
                    figures |= asyncio.run(
                        measure_latency(
                            bootstrap, dsn, topics, population, rate=rate, seconds=seconds
                        )
                    )
                    figures |= batch_figures("latency", before, notifier.metrics())
                    figures |= median_round(
                        [throughput_round(stack, events) for _ in range(rounds)]
                    )
                    figures["peak_rss_mb"] = notifier.peak_rss_mb()
                if paths:
                    asyncio.run(empty_notifications(dsn))
                    started = time.perf_counter()
                    figures["paths"] = measure_paths(
                        stack,
                        env,
                        workdir,
                        statement_topics,
                        events=path_events,
                        rounds=path_rounds or rounds,
                    )
                    figures["paths"]["seconds"] = time.perf_counter() - started
            finally:
                notifier.stop()
    figures["durable_postgres"] = durable
    print_table(figures)
    return figures


@dataclass
class Stack:
    notifier: Notifier
    dsn: str
    bootstrap: str
    group: str
    topics: IngestTopics
    population: Population


def throughput_round(stack: Stack, events: int) -> dict[str, Any]:
    """One sustained-ingest measurement and, right after it, the COPY of the same rows; then the
    notifications are emptied so that every round starts from the same table."""
    before = stack.notifier.metrics()
    since = asyncio.run(max_id(stack.dsn))
    figures = measure_throughput(
        stack.bootstrap, stack.group, stack.topics, stack.population, events
    )
    figures |= batch_figures("throughput", before, stack.notifier.metrics())
    figures |= asyncio.run(measure_copy(stack.dsn, since, events))
    if figures["copy_rows"] != events:  # one row per per-user event: a lost one fails the run
        raise RuntimeError(f"{figures['copy_rows']} rows stored for {events} per-user events")
    figures["ratio_to_copy"] = figures["ingest_events_per_s"] / figures["copy_rows_per_s"]
    asyncio.run(empty_notifications(stack.dsn))
    return figures


# -- each write path, and the mix, against the COPY baseline (issue 14) ------------------------


def measure_paths(
    default: Stack,
    env: dict[str, str],
    workdir: Path,
    statement_topics: IngestTopics,
    *,
    events: int,
    rounds: int,
) -> dict[str, Any]:
    """Rounds of: the clean workload through the usual notifier (COPY path), the raw COPY of
    the rows it stored (the baseline), the same events through a notifier that only uses the
    statement path, and the mix through the usual notifier; each from an emptied table."""
    population = asyncio.run(
        seed(default.dsn, organizations=PATH_ORGANIZATIONS, users_per_org=PATH_MEMBERS)
    )
    statement_env = {
        **env,
        "NOTIFIER_PORT": str(free_port()),
        "NOTIFIER_TOPIC_PREFIX": statement_topics.prefix,
        "NOTIFIER_CONSUMER_GROUP": "bench-notifier-statement",
        "NOTIFIER_COPY_THRESHOLD": str(STATEMENT_ONLY_THRESHOLD),
    }
    notifier = Notifier(statement_env, workdir / "notifier-statement.log")
    try:
        notifier.wait_ready()
        statement = Stack(
            notifier,
            default.dsn,
            default.bootstrap,
            statement_env["NOTIFIER_CONSUMER_GROUP"],
            statement_topics,
            population,
        )
        results = [paths_round(default, statement, population, events) for _ in range(rounds)]
    finally:
        notifier.stop()
    summary: dict[str, Any] = {}
    for path in PATHS:
        ordered = sorted(results, key=lambda r: r[path]["ratio_to_copy"])
        summary[path] = ordered[len(ordered) // 2][path]
    summary["rounds"] = [
        {
            "copy_rows_per_s": round(r["copy_rows_per_s"]),
            **{
                path: {
                    "events_per_s": round(r[path]["events_per_s"]),
                    "rows_per_s": round(r[path]["rows_per_s"]),
                    "ratio_to_copy": round(r[path]["ratio_to_copy"], 3),
                    "steady_events_per_s": round(r[path]["steady_events_per_s"]),
                    "batches": r[path]["batches"],
                    "cores": r[path]["cores"],
                }
                for path in PATHS
            },
        }
        for r in results
    ]
    summary["workloads"] = results[0]["workloads"]
    summary["shares"] = ingest_workloads.MIX_SHARES
    summary["population"] = {"organizations": PATH_ORGANIZATIONS, "members": PATH_MEMBERS}
    return summary


def paths_round(
    default: Stack, statement: Stack, population: Population, events: int
) -> dict[str, Any]:
    clean = ingest_workloads.clean(population, events)
    mixed = ingest_workloads.mix(population, events)
    figures: dict[str, Any] = {"copy_path": path_run(default, clean)}
    figures |= asyncio.run(measure_copy(default.dsn, uuid.UUID(int=0), clean.expected_rows))
    asyncio.run(empty_notifications(default.dsn))
    figures["statement_path"] = path_run(statement, clean)  # the very same records
    asyncio.run(empty_notifications(default.dsn))
    figures["mix"] = path_run(default, mixed)
    asyncio.run(empty_notifications(default.dsn))
    for path in PATHS:
        figures[path]["ratio_to_copy"] = figures[path]["rows_per_s"] / figures["copy_rows_per_s"]
        figures[path]["copy_rows_per_s"] = figures["copy_rows_per_s"]
    figures["workloads"] = {"clean": clean.describe(), "mix": mixed.describe()}
    return figures


class CpuMeter:
    """CPU seconds of this process (the publisher) and of every process it started (the
    notifiers, PostgreSQL and its backends, tansu) between two snapshots: where the time went."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier.process.pid
        self._start = self._snapshot()
        self._wall = time.perf_counter()

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        me = psutil.Process()
        seen = {}
        for process in (me, *me.children(recursive=True)):
            with suppress(psutil.Error):
                times = process.cpu_times()
                seen[process.pid] = (self._role(process), times.user + times.system)
        return seen

    def _role(self, process: psutil.Process) -> str:
        if process.pid == os.getpid():
            return "publisher"
        if process.pid == self._notifier:
            return "notifier"
        name = process.name()
        if name.startswith("postgres"):
            return "postgres"
        return "tansu" if "tansu" in name else "idle notifier" if name == "clochette" else name

    def cores(self) -> dict[str, float]:
        """Cores used per role since the start (processes that ended meanwhile are missed)."""
        wall = time.perf_counter() - self._wall
        used: dict[str, float] = {}
        for pid, (role, seconds) in self._snapshot().items():
            used[role] = used.get(role, 0.0) + seconds - self._start.get(pid, (role, 0.0))[1]
        return {role: round(seconds / wall, 2) for role, seconds in sorted(used.items())}


def path_run(stack: Stack, workload: Workload) -> dict[str, Any]:
    """Publish the workload's primed records and wait for them (untimed), then the timed ones;
    check that the table holds exactly the rows expected. Events/s = records committed / time
    from the first publish to the last commit; rows/s = rows they added / the same time."""
    if workload.primed:
        publish_until_committed(stack.bootstrap, stack.group, stack.topics, workload.primed)
    before = stack.notifier.metrics()
    cpu = CpuMeter(stack.notifier)
    figures = publish_until_committed(stack.bootstrap, stack.group, stack.topics, workload.records)
    cores = cpu.cores()
    after = stack.notifier.metrics()
    asyncio.run(verify_stored(stack.dsn, workload, _delta(before, after, DUPLICATES)))
    seconds = figures["ingest_seconds"]
    return {
        "events": len(workload.records),
        "events_per_s": figures["ingest_events_per_s"],
        "steady_events_per_s": figures["steady_events_per_s"],
        "rows": workload.rows,
        "rows_per_s": workload.rows / seconds,
        "seconds": seconds,
        "batches": {
            path: round(_delta(before, after, f'notifier_batches_stored_total{{path="{path}"}}'))
            for path in ("copy", "statement")
        },
        "cores": cores,
        **batch_figures("path", before, after),
    }


DUPLICATES = "notifier_records_duplicate_total{"


def _delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    """How much a sample moved; a name ending in `{` sums every label set of that metric."""
    if name.endswith("{"):
        return sum(v for k, v in after.items() if k.startswith(name)) - sum(
            v for k, v in before.items() if k.startswith(name)
        )
    return after.get(name, 0.0) - before.get(name, 0.0)


async def verify_stored(dsn: str, workload: Workload, duplicates: float) -> None:
    """Fail loudly unless the table holds exactly the rows the workload must leave, the badges
    add up to them, every unknown user got a provisional recipient and every redelivery reached
    the database as one (the notifier counted it as a duplicate: it was not stored again)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    try:
        stored = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM notifications),"
            " (SELECT count(DISTINCT event_id) FROM notifications),"
            " (SELECT coalesce(sum(unread_count), 0) FROM recipients),"
            " (SELECT count(*) FROM recipients WHERE provisional)"
        )
        assert stored is not None  # noqa: S101 - a SELECT without FROM returns one row
        rows, events, unread, provisional = stored
    finally:
        await conn.close()
    expected = {
        "rows": workload.expected_rows,
        "events": len(workload.records) - workload.redeliveries + len(workload.primed),
        "unread": workload.expected_rows,
        "provisional": workload.unknown_users,
        "duplicates": workload.redeliveries,
    }
    found = {
        "rows": rows,
        "events": events,
        "unread": unread,
        "provisional": provisional,
        "duplicates": round(duplicates),
    }
    if found != expected:
        raise RuntimeError(f"{workload.name} workload stored {found}, expected {expected}")


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median ingest/COPY ratio (its own figures, so they stay consistent),
    and every round's events/s and ratio, so the spread is visible."""
    ordered = sorted(rounds, key=lambda r: r["ratio_to_copy"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [
        {
            "ingest_events_per_s": round(r["ingest_events_per_s"]),
            "copy_rows_per_s": round(r["copy_rows_per_s"]),
            "ratio_to_copy": round(r["ratio_to_copy"], 3),
        }
        for r in rounds
    ]
    return chosen


async def empty_notifications(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notifier"})
    try:
        await conn.execute(
            "TRUNCATE notifications, broadcasts; DELETE FROM recipients WHERE provisional;"
            " UPDATE recipients SET unread_count = 0, unseen_count = 0, unread_action = 0,"
            " unread_info = 0, unread_security = 0, version = version + 1"
        )
    finally:
        await conn.close()


def batch_figures(
    phase: str, before: dict[str, float], after: dict[str, float]
) -> dict[str, float]:
    """Mean batch size and mean store time (PostgreSQL + offset commit) during one phase."""
    count = after["notifier_batch_size_records_count"] - before.get(
        "notifier_batch_size_records_count", 0
    )
    if not count:
        return {}
    size = after["notifier_batch_size_records_sum"] - before.get(
        "notifier_batch_size_records_sum", 0
    )
    store = after["notifier_batch_store_duration_seconds_sum"] - before.get(
        "notifier_batch_store_duration_seconds_sum", 0
    )
    return {f"{phase}_mean_batch": size / count, f"{phase}_mean_store_ms": store / count * 1000}


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def print_table(figures: dict[str, Any]) -> None:
    if "ingest_events_per_s" in figures:
        print_per_user_table(figures)
    if "paths" in figures:
        print_paths_table(figures["paths"], figures["durable_postgres"])


def print_per_user_table(figures: dict[str, Any]) -> None:
    rows = [
        (
            "sustained ingest (published -> committed)",
            f"{figures['ingest_events_per_s']:,.0f} events/s",
            ">= 20,000",
            figures["ingest_events_per_s"] >= TARGETS["ingest_events_per_s"],
        ),
        (
            "  steady rate (10 % -> 90 % committed)",
            f"{figures['steady_events_per_s']:,.0f} events/s",
            "",
            None,
        ),
        (
            "raw asyncpg COPY, same rows, same indexes",
            f"{figures['copy_rows_per_s']:,.0f} rows/s",
            "",
            None,
        ),
        (
            "ingest / COPY",
            f"{figures['ratio_to_copy']:.2f}",
            ">= 0.50",
            figures["ratio_to_copy"] >= TARGETS["ratio_to_copy"],
        ),
        (
            "publish-to-visible p50 at 1,000 events/s",
            f"{figures['p50_visible_ms']:.1f} ms",
            "",
            None,
        ),
        (
            "publish-to-visible p99 at 1,000 events/s",
            f"{figures['p99_visible_ms']:.1f} ms",
            "< 250 ms",
            figures["p99_visible_ms"] < TARGETS["p99_visible_ms"],
        ),
        (
            "publish-to-visible max at 1,000 events/s",
            f"{figures['max_visible_ms']:.1f} ms",
            "",
            None,
        ),
        (
            "notifier peak RSS (VmHWM)",
            f"{figures['peak_rss_mb']:.0f} MB",
            "< 250 MB",
            figures["peak_rss_mb"] < TARGETS["peak_rss_mb"],
        ),
        (
            "publisher rate (librdkafka, same machine)",
            f"{figures['publish_events_per_s']:,.0f} events/s",
            "",
            None,
        ),
    ]
    width = max(len(r[0]) for r in rows)
    say(
        f"\nnotifier ingest benchmark ({figures['events']:,} events, "
        f"{'durable' if figures['durable_postgres'] else 'fsync off'} PostgreSQL, "
        f"{os.cpu_count()} CPUs)"
    )
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        say(f"  {name:<{width}}  {value:>18}  {target:>9}  {verdict}")
    if "rounds" in figures:
        spread = ", ".join(
            f"{r['ingest_events_per_s']:,} ev/s ({r['ratio_to_copy']:.2f})"
            for r in figures["rounds"]
        )
        say(f"  {len(figures['rounds'])} rounds (the median one above): {spread}")
    for phase in ("latency", "throughput"):
        if f"{phase}_mean_batch" in figures:
            say(
                f"  {phase} phase: {figures[f'{phase}_mean_batch']:.0f} records per batch, "
                f"{figures[f'{phase}_mean_store_ms']:.1f} ms to store and commit one"
            )


PATH_LABELS = {
    "copy_path": "COPY path (clean workload)",
    "statement_path": "statement path (same events)",
    "mix": "mix (org-wide, unknown users, redeliveries)",
}


def print_paths_table(paths: dict[str, Any], durable: bool) -> None:
    clean, mixed, shares = paths["workloads"]["clean"], paths["workloads"]["mix"], paths["shares"]
    say(
        f"\nnotifier ingest per write path ({clean['events']:,} events per run: "
        f"{shares['org_wide']:.0%} org-wide (fan-out {paths['population']['members']}), "
        f"mix also {shares['unknown_user']:.0%} unknown users, {shares['redelivery']:.0%} "
        f"redeliveries; {clean['rows']:,} / {mixed['rows']:,} rows; "
        f"{'durable' if durable else 'fsync off'} PostgreSQL, {os.cpu_count()} CPUs)"
    )
    say(
        f"  {'':<44}  {'events/s':>9}  {'rows/s':>9}  {'COPY rows/s':>11}  {'ratio':>5}  "
        f"{'target':>6}  batches copy/statement"
    )
    for path in PATHS:
        figures, target = paths[path], PATH_TARGETS[path]
        met = target is None or figures["ratio_to_copy"] >= target
        verdict = "" if target is None else ("ok" if met else "MISSED")
        say(
            f"  {PATH_LABELS[path]:<44}  {figures['events_per_s']:>9,.0f}  "
            f"{figures['rows_per_s']:>9,.0f}  {figures['copy_rows_per_s']:>11,.0f}  "
            f"{figures['ratio_to_copy']:>5.2f}  "
            f"{'' if target is None else f'>= {target:.2f}':>6}  "
            f"{figures['batches']['copy']}/{figures['batches']['statement']}  {verdict}"
        )
    for path in PATHS:
        figures = paths[path]
        busy = (
            (figures["batches"]["copy"] + figures["batches"]["statement"])
            * figures.get("path_mean_store_ms", float("nan"))
            / 1000
            / figures["seconds"]
        )
        cores = ", ".join(f"{role} {used:.2f}" for role, used in figures["cores"].items())
        say(
            f"  {path}: {figures.get('path_mean_batch', float('nan')):.0f} events per batch, "
            f"{figures.get('path_mean_store_ms', float('nan')):.0f} ms to store and commit one "
            f"(writer busy {busy:.0%} of the run); steady {figures['steady_events_per_s']:,.0f} "
            f"events/s; cores: {cores}"
        )
    say(
        f"  {len(paths['rounds'])} rounds in {paths['seconds']:.0f} s "
        "(each path's median one above):"
    )
    for i, r in enumerate(paths["rounds"], 1):
        spread = ", ".join(
            f"{path} {r[path]['events_per_s']:,} ev/s ({r[path]['ratio_to_copy']:.2f})"
            for path in PATHS
        )
        say(f"    {i}: COPY {r['copy_rows_per_s']:,} rows/s; {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--fsync-off", action="store_true", help="PostgreSQL without fsync")
    parser.add_argument("--rounds", type=int, default=3, help="throughput + COPY rounds")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument(
        "--paths-only", action="store_true", help="only each write path and the mix (issue 14)"
    )
    parts.add_argument("--no-paths", action="store_true", help="only the per-user measurements")
    parser.add_argument(
        "--path-events", type=int, default=PATH_EVENTS, help="events per run of each path"
    )
    args = parser.parse_args()
    run(
        args.events,
        args.rate,
        args.seconds,
        durable=not args.fsync_off,
        rounds=args.rounds,
        per_user=not args.paths_only,
        paths=not args.no_paths,
        path_events=args.path_events,
    )


if __name__ == "__main__":
    main()
