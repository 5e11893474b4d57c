"""Benchmark of the auth service's login path against raw argon2, and of `GET /v1/me` while
logins saturate the CPU.

A real auth service (`clochette auth`: uvicorn, one process) runs against a real PostgreSQL with
the production argon2 parameters (or AUTH_ARGON2_* when set). In the same run it measures:

- the raw argon2id verify rate of this machine: one thread per core verifying in a loop, in
  this process, with the same parameters;
- login throughput: `POST /v1/auth/login` with correct passwords from a concurrent client;
- `GET /v1/me` latency, alone and while the same login load runs (open loop, 20 requests/s).

The raw and the login measurements alternate in short rounds (raw, login, login, raw, …), so a
load change on a shared machine hits both alike; the ratio is what counts.

Targets (issue 3): logins at ≥ 90 % of the raw verify rate; `/v1/me` p99 < 50 ms under login
load. Run: `.venv/bin/python bench/bench_auth.py [--seconds 20]`; prints a table and returns
(and with --json prints) a dict.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from clochette.devstack import free_port, start_postgres
from clochette.services import migrate_all
from services.auth.accounts.accounts import Accounts, NewUser
from services.auth.accounts.hashing import (
    Argon2Parameters,
    argon2_hasher,
    lower_thread_priority,
)
from services.auth.components import password_hashing, password_policy
from services.auth.platform.config import AuthSettings, available_cores
from shared.clock import SystemClock
from shared.db import UnitOfWork, create_pool

PASSWORD = "benchmark lanterns over water"  # noqa: S105 - the benchmark users' password
USERS = 16
ME_RATE_PER_SECOND = 20
TARGET_LOGIN_RATIO = 0.9
TARGET_ME_P99_MS = 50.0


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[str]:
    """A fresh database: on DATABASE_URL's server when set, else an embedded PostgreSQL."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        name = f"clochette_bench_auth_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(configured, f'CREATE DATABASE "{name}"'))
        base = configured.rsplit("/", 1)[0]
        try:
            yield f"{base}/{name}"
        finally:
            asyncio.run(_admin(configured, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    instance = start_postgres(workdir / "pg", free_port(), output=workdir / "postgres.log")
    try:
        yield instance.url()
    finally:
        instance.stop()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed_users(url: str, auth: AuthSettings) -> list[str]:
    await migrate_all(url)
    pool = await create_pool(url, search_path="auth", max_size=4)
    hashing = password_hashing(auth)
    try:
        accounts = Accounts(UnitOfWork(pool), SystemClock(), hashing, password_policy(auth))
        emails = [f"bench{i}@example.be" for i in range(USERS)]
        await asyncio.gather(
            *(
                accounts.create_user_in_named_organization(
                    "Bench BV", NewUser(email, PASSWORD, "member", "en")
                )
                for email in emails
            )
        )
        return emails
    finally:
        hashing.close()
        await pool.close()


def raw_verifications(auth: AuthSettings, seconds: float) -> tuple[int, float]:
    """argon2id verifications done in `seconds` by one thread per core, as the service runs
    them (same parameters, same thread priority); returns (count, elapsed seconds)."""
    hasher = argon2_hasher(Argon2Parameters.from_settings(auth))
    stored = hasher.hash(PASSWORD)
    threads = auth.hashing_threads
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(stored, PASSWORD)
            counts[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(
        threads, initializer=lower_thread_priority, initargs=(auth.hash_thread_niceness,)
    ) as pool:
        list(pool.map(work, range(threads)))
    return sum(counts), time.perf_counter() - started


@contextlib.contextmanager
def auth_server(url: str, workdir: Path) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",  # the relay is off: logins publish nothing
        "AUTH_OUTBOX_RELAY_ENABLED": "false",
        "AUTH_PORT": str(port),
        "CLOCHETTE_HOME": str(workdir),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",  # audit lines included, as in production
    }
    log = (workdir / "auth.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "clochette.cli", "auth"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the auth service exited; see {workdir / 'auth.log'}")
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the auth service did not become ready")
            time.sleep(0.2)
        yield base, psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def login_load(
    client: httpx.AsyncClient, emails: list[str], concurrency: int, stop: asyncio.Event
) -> tuple[int, int]:
    """Log in over and over with `concurrency` requests in flight; (successes, failures)."""
    ok = failed = 0

    async def worker(index: int) -> None:
        nonlocal ok, failed
        email = emails[index % len(emails)]
        while not stop.is_set():
            response = await client.post(
                "/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=120
            )
            if response.status_code == 200:
                ok += 1
            else:
                failed += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return ok, failed


async def me_latencies(client: httpx.AsyncClient, token: str, stop: asyncio.Event) -> list[float]:
    """`GET /v1/me` at a fixed rate (open loop: a slow answer does not delay the next request);
    latencies in milliseconds."""
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    headers = {"Authorization": f"Bearer {token}"}

    async def one() -> None:
        started = time.perf_counter()
        response = await client.get("/v1/me", headers=headers, timeout=30)
        if response.status_code == 200:
            latencies.append((time.perf_counter() - started) * 1000)

    interval = 1 / ME_RATE_PER_SECOND
    next_at = time.perf_counter()
    while not stop.is_set():
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class CpuSampler:
    """Average CPU use of the server process over a phase (100 % = one core)."""

    def __init__(self, process: psutil.Process) -> None:
        self._process = process
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._process.cpu_percent(None)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._samples.append(self._process.cpu_percent(None))

    @property
    def average(self) -> float:
        return statistics.fmean(self._samples) if self._samples else float("nan")


async def logins_for(
    client: httpx.AsyncClient, emails: list[str], concurrency: int, seconds: float
) -> tuple[int, int, float]:
    """(successes, failures, elapsed seconds) of a login load of `seconds`."""
    stop = asyncio.Event()
    started = time.perf_counter()
    load = asyncio.create_task(login_load(client, emails, concurrency, stop))
    await asyncio.sleep(seconds)
    stop.set()
    ok, failed = await load
    return ok, failed, time.perf_counter() - started


async def measure(
    auth: AuthSettings,
    base: str,
    server: psutil.Process,
    emails: list[str],
    *,
    seconds: float,
    concurrency: int,
    rounds: int,
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency + 64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        token_response = await client.post(
            "/v1/auth/login", json={"email": emails[0], "password": PASSWORD}, timeout=60
        )
        token = token_response.json()["access_token"]

        stop = asyncio.Event()
        idle_task = asyncio.create_task(me_latencies(client, token, stop))
        await asyncio.sleep(min(seconds, 10))
        stop.set()
        idle = await idle_task

        raw_counts, raw_seconds, ok, failed, login_seconds = 0.0, 0.0, 0, 0, 0.0
        with CpuSampler(server) as cpu:
            for index in range(2 * rounds):
                # raw, login, login, raw, raw, login, …: neither goes first more often.
                if (index + index // 2) % 2 == 0:
                    verified, elapsed = await asyncio.to_thread(
                        raw_verifications, auth, seconds / rounds
                    )
                    raw_counts, raw_seconds = raw_counts + verified, raw_seconds + elapsed
                else:
                    round_ok, round_failed, round_seconds = await logins_for(
                        client, emails, concurrency, seconds / rounds
                    )
                    ok, failed = ok + round_ok, failed + round_failed
                    login_seconds += round_seconds

        stop = asyncio.Event()
        me_stop = asyncio.Event()
        load = asyncio.create_task(login_load(client, emails, concurrency, stop))
        await asyncio.sleep(2)  # let the hashing pool fill up first
        with CpuSampler(server) as busy_cpu:
            loaded_task = asyncio.create_task(me_latencies(client, token, me_stop))
            await asyncio.sleep(seconds)
            me_stop.set()
            loaded = await loaded_task
        stop.set()
        await load
    return {
        "raw_argon2_verify_per_s": raw_counts / raw_seconds,
        "login_per_s": ok / login_seconds,
        "login_failures": failed,
        "server_cpu_percent_during_logins": cpu.average,
        "server_cpu_percent_during_me": busy_cpu.average,
        "me_requests_idle": len(idle),
        "me_p50_ms_idle": percentile(idle, 0.5),
        "me_p99_ms_idle": percentile(idle, 0.99),
        "me_requests_during_login_load": len(loaded),
        "me_p50_ms_during_login_load": percentile(loaded, 0.5),
        "me_p99_ms_during_login_load": percentile(loaded, 0.99),
        "me_max_ms_during_login_load": max(loaded, default=float("nan")),
    }


def run(seconds: float = 24.0, concurrency: int | None = None, rounds: int = 6) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures (also printed as a table)."""
    auth = AuthSettings()
    cores = available_cores()
    in_flight = concurrency or 4 * auth.hashing_threads
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        workdir = Path(tmp)
        with database(workdir) as url:
            emails = asyncio.run(seed_users(url, auth))
            with auth_server(url, workdir) as (base, server):
                figures = asyncio.run(
                    measure(
                        auth,
                        base,
                        server,
                        emails,
                        seconds=seconds,
                        concurrency=in_flight,
                        rounds=rounds,
                    )
                )
    result: dict[str, Any] = {
        "cores": cores,
        "argon2": {
            "time_cost": auth.argon2_time_cost,
            "memory_kib": auth.argon2_memory_kib,
            "parallelism": auth.argon2_parallelism,
            "threads": auth.hashing_threads,
            "niceness": auth.hash_thread_niceness,
        },
        "concurrent_logins": in_flight,
        "seconds_per_phase": seconds,
        **figures,
        "login_ratio_vs_argon2": figures["login_per_s"] / figures["raw_argon2_verify_per_s"],
        "load_average_1min": os.getloadavg()[0],
    }
    print_table(result)
    return result


def print_table(r: dict[str, Any]) -> None:
    a = r["argon2"]
    ratio_ok = "met" if r["login_ratio_vs_argon2"] >= TARGET_LOGIN_RATIO else "MISSED"
    p99_ok = "met" if r["me_p99_ms_during_login_load"] < TARGET_ME_P99_MS else "MISSED"
    rows = [
        ("machine", f"{r['cores']} cores, load average {r['load_average_1min']:.2f} at the end"),
        (
            "argon2id",
            f"t={a['time_cost']} m={a['memory_kib']} KiB p={a['parallelism']}, "
            f"{a['threads']} hashing threads at nice {a['niceness']}",
        ),
        ("raw argon2 verify rate", f"{r['raw_argon2_verify_per_s']:.2f} /s"),
        (
            "login throughput",
            f"{r['login_per_s']:.2f} /s with {r['concurrent_logins']} in flight "
            f"({r['login_failures']} failures, server CPU {r['server_cpu_percent_during_logins']:.0f} %)",  # noqa: E501
        ),
        ("login / raw argon2", f"{r['login_ratio_vs_argon2']:.1%}  (target ≥ 90 %: {ratio_ok})"),
        (
            "GET /v1/me idle",
            f"p50 {r['me_p50_ms_idle']:.1f} ms, p99 {r['me_p99_ms_idle']:.1f} ms "
            f"({r['me_requests_idle']} requests)",
        ),
        (
            "GET /v1/me under logins",
            f"p50 {r['me_p50_ms_during_login_load']:.1f} ms, "
            f"p99 {r['me_p99_ms_during_login_load']:.1f} ms, "
            f"max {r['me_max_ms_during_login_load']:.1f} ms "
            f"({r['me_requests_during_login_load']} requests, server CPU "
            f"{r['server_cpu_percent_during_me']:.0f} %)  (target p99 < 50 ms: {p99_ok})",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        sys.stdout.write(f"{name:<{width}}  {value}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=24.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, help="logins in flight (default 4 per thread)")
    parser.add_argument("--rounds", type=int, default=6, help="raw/login alternations")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    result = run(args.seconds, args.concurrency, args.rounds)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
