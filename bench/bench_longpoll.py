"""Benchmark of long polling: thousands of requests held by one notifier process, and how fast a
committed change answers one.

A real notifier (`clochette notifier`: uvicorn, one process, ingest off) runs against a real
PostgreSQL with `users` recipients, each with a token minted like the auth service mints them.
Every user's tab holds `GET /v1/notifications/unread-count` with `If-None-Match` and
`Prefer: wait=30` on its own connection; once the server holds them all, the notifier's RSS is
read (psutil), then a sample of held users get a change committed one by one (a plain SQL UPDATE
of the recipient's version on another connection, as any writer's commit fires the trigger) and
the time from sending that commit to the held answer is measured. Finally the notifier is
stopped (SIGTERM), which must answer every request still held at once.

Figures: `longpoll_held` (requests answered with `Preference-Applied`, target >= 2,000),
`longpoll_peak_rss_mb` (< 250 MB), `longpoll_wake_p50_ms` / `longpoll_wake_p99_ms` (p99 <= 150).
Run: `.venv/bin/python -m bench.bench_longpoll`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench.bench_notifier_api import notifier_server, say
from clochette.devstack import free_port, start_postgres
from clochette.jwks_stub import JwksServer, SigningKey, mint
from clochette.services import migrate_all

USERS = 2_200
WAKES = 300
WAKE_SPACING_S = 0.01
WAIT_S = 30
KID = "bench-longpoll"
PATH = "/v1/notifications/unread-count"


@dataclass
class Tab:
    """One user's browser tab: a keep-alive connection and its held request."""

    user_id: uuid.UUID
    token: str
    etag: str = ""
    status: int = 0
    applied: bool = False
    answered_at: float = 0.0
    answered: asyncio.Event = field(default_factory=asyncio.Event)


async def seed(database_url: str, users: list[uuid.UUID]) -> None:
    await migrate_all(database_url)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notifier"})
    try:
        org = uuid.uuid4()
        await conn.copy_records_to_table(
            "recipients",
            records=[(user, org, "nl", 0, 1) for user in users],
            columns=["user_id", "organization_id", "language", "unread_count", "version"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    return status, headers


def _request(tab: Tab, port: int, extra: str = "") -> bytes:
    return (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {tab.token}\r\n{extra}\r\n"
    ).encode()


async def hold(tab: Tab, port: int, opened: asyncio.Semaphore, sent: list[int]) -> None:
    """Open the tab's connection, learn its ETag, then send the long poll and await its answer."""
    async with opened:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(tab, port))
        status, headers = await _read_answer(reader)
        if status != 200:
            raise RuntimeError(f"unread-count answered {status}")
        tab.etag = headers["etag"]
        writer.write(_request(tab, port, f"If-None-Match: {tab.etag}\r\nPrefer: wait={WAIT_S}\r\n"))
        await writer.drain()
        sent[0] += 1
    try:
        tab.status, headers = await _read_answer(reader)
        tab.answered_at = time.perf_counter()
        tab.applied = headers.get("preference-applied") == f"wait={WAIT_S}"
    finally:
        tab.answered.set()
        writer.close()


def _metric(metrics_url: str, name: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310 - local URL
        text = response.read().decode()
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


async def _held(metrics_url: str) -> float:
    return await asyncio.to_thread(_metric, metrics_url, "notifier_longpoll_held")


async def run_clients(
    tabs: list[Tab], port: int, metrics_url: str, database_url: str, pid: int
) -> dict[str, Any]:
    server = psutil.Process(pid)
    rss_before = server.memory_info().rss
    sent = [0]
    opened = asyncio.Semaphore(200)  # connection set-up at a pace the backlog takes
    clients = [asyncio.create_task(hold(tab, port, opened, sent)) for tab in tabs]
    deadline = time.monotonic() + 120
    while await _held(metrics_url) < len(tabs):
        if time.monotonic() > deadline or any(c.done() and c.exception() for c in clients):
            break
        await asyncio.sleep(0.2)
    held_at_peak = await _held(metrics_url)
    peak_rss = server.memory_info().rss
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notifier"})
    latencies: list[float] = []
    try:
        for tab in tabs[:WAKES]:
            started = time.perf_counter()
            await conn.execute(
                "UPDATE recipients SET version = version + 1 WHERE user_id = $1", tab.user_id
            )
            await asyncio.wait_for(tab.answered.wait(), 10)
            latencies.append(tab.answered_at - started)
            await asyncio.sleep(WAKE_SPACING_S)
    finally:
        await conn.close()
    stopping = time.perf_counter()
    os.kill(pid, signal.SIGTERM)  # every request still held must be answered at once
    done = await asyncio.gather(*clients, return_exceptions=True)
    shutdown_s = max(tab.answered_at for tab in tabs) - stopping
    failures = [d for d in done if isinstance(d, BaseException)]
    latencies.sort()
    woken = tabs[:WAKES]
    return {
        "longpoll_held": sum(tab.applied for tab in tabs),
        "longpoll_held_at_peak": held_at_peak,
        "longpoll_peak_rss_mb": peak_rss / 2**20,
        "longpoll_rss_before_mb": rss_before / 2**20,
        "longpoll_kb_per_held": (peak_rss - rss_before) / 1024 / max(held_at_peak, 1),
        "longpoll_wake_p50_ms": latencies[len(latencies) // 2] * 1000,
        "longpoll_wake_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "longpoll_wake_max_ms": latencies[-1] * 1000,
        "longpoll_woken_200": sum(tab.status == 200 for tab in woken),
        "longpoll_shutdown_answered_304": sum(tab.status == 304 for tab in tabs[WAKES:]),
        "longpoll_shutdown_s": shutdown_s,
        "longpoll_errors": len(failures) + sum(tab.status not in (200, 304) for tab in tabs),
    }


def _raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(users: int = USERS) -> dict[str, Any]:
    _raise_open_file_limit()
    key = SigningKey(kid=KID)
    ids = [uuid.uuid4() for _ in range(users)]
    with tempfile.TemporaryDirectory(prefix="bench-longpoll-") as scratch:
        work = Path(scratch)
        postgres = None
        jwks = JwksServer([key])
        try:
            database_url = os.environ.get("DATABASE_URL")
            if not database_url:
                postgres = start_postgres(
                    work / "pg", free_port(), output=work / "postgres.log", create_database="bench"
                )
                database_url = postgres.url("bench")
            asyncio.run(seed(database_url, ids))
            org = uuid.uuid4()
            tabs = [Tab(user, mint(key, user, org=org, lang="nl", lifetime=900)) for user in ids]
            port, metrics_port = free_port(), free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
                "NOTIFIER_INGEST_ENABLED": "false",
                "AUTH_JWKS_URL": jwks.url,
                "CLOCHETTE_SECRET_KEY": "bench-" + "s" * 48,
                "CLOCHETTE_HOME": str(work / "home"),
                "NOTIFIER_PORT": str(port),
                "NOTIFIER_METRICS_PORT": str(metrics_port),
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
            }
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            with notifier_server(env, port, work / "notifier.log") as (_base, pid):
                figures = asyncio.run(run_clients(tabs, port, metrics_url, database_url, pid))
        finally:
            jwks.close()
            if postgres is not None:
                postgres.stop()
    figures["longpoll_users"] = users
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=USERS, help="tabs held at once")
    args = parser.parse_args()
    figures = run(args.users)
    say(json.dumps(figures, indent=2))
    return 0 if figures["longpoll_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
