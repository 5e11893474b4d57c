"""Benchmark of the bell API against the same server's liveness probe, with realistic users.

A real notifier (`clochette notifier`: uvicorn, one process) runs against a real PostgreSQL
seeded with 1,000 users, each with 1,000 notifications of every platform type over 60 days
(bench/notifier_api_seed.py). Every user has an access token minted with a key a JWKS stub
serves, and the load generator rotates through all the users, so no request is answered from
one user's warm cache. At 64 concurrent connections it measures, in each of N interleaved
rounds:

- `GET /health/live` — the ceiling: routing and serialisation, no token, no database;
- `GET /v1/notifications/unread-count` (200: the counts and an ETag);
- the same with `If-None-Match` of each user's own current ETag (304: what polling mostly gets);
- `GET /v1/notifications?limit=20` — the first page, rendered in the user's language (after the
  first round's first request of each user, from the page cache while nothing changed);
- the same page size after each user's first item (a cursor: never from the page cache), what a
  first page costs when the cache cannot answer — reported, no target;
- `GET /v1/notifications/groups?limit=20` — the grouped page ("n/a" where the route is absent).

Every answer's status is checked: one unexpected status fails the scenario. Each scenario's
figure is its rate over /health/live's rate in the same round; the median round is reported,
with every round's figures. The load comes from `wrk` with a Lua script when installed, else
from a Python generator in a separate process (bench/notifier_api_load.py).
Run: `.venv/bin/python -m bench.bench_notifier_api [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import psutil

from bench.notifier_api_load import (
    CONNECTIONS,
    LoadResult,
    Scenario,
    generator_saturated,
    load,
    load_measuring_cpu,
)
from bench.notifier_api_seed import SeededUser, population, seed
from clochette.devstack import free_port, start_broker, start_postgres
from clochette.jwks_stub import JwksServer, SigningKey, mint
from clochette.services import migrate_all
from shared.tokens import ACCESS_TOKEN_MAX_SECONDS
from shared.topics import ensure_topics

USERS: Final = 1_000
ITEMS_PER_USER: Final = 1_000
KID: Final = "bench-key"
LIVE: Final = "health_live"
GROUPS: Final = "groups_page"
UNCACHED: Final = "first_page_uncached"  # reported, no target

# scenario: (minimum rate over /health/live, p99 ceiling in ms or None)
TARGETS: Final[dict[str, tuple[float, float | None]]] = {
    "unread_count_200": (0.6, 25.0),
    "unread_count_304": (0.5, None),
    "first_page": (0.3, None),
    GROUPS: (0.2, None),
}


# --- the pieces around the server ------------------------------------------------------------


@contextmanager
def notifier_server(env: dict[str, str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    """`clochette notifier` in a subprocess; yields its base URL and pid once /health/live
    answers."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "clochette.cli", "notifier"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the notifier exited at start-up; see {log}")
                try:
                    with urllib.request.urlopen(f"{base}/health/live", timeout=1):  # noqa: S310
                        break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the notifier did not start; see {log}") from None
                    time.sleep(0.2)
            yield base, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def http_get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - local URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def scenarios(base: str, people: list[SeededUser], key: SigningKey) -> list[Scenario]:
    """The scenarios, each checked once per user first (status, ETag, page size)."""
    auth = [
        {
            "Authorization": "Bearer "
            + mint(key, p.user_id, lang=p.language, lifetime=ACCESS_TOKEN_MAX_SECONDS)
        }
        for p in people
    ]
    polls: list[dict[str, str]] = []
    for headers in auth:
        status, answer, body = http_get(f"{base}/v1/notifications/unread-count", headers)
        if status != 200:
            raise RuntimeError(f"unread-count answered {status}: {body[:200]!r}")
        polls.append({**headers, "If-None-Match": answer["etag"]})
    status, _, _ = http_get(f"{base}/v1/notifications/unread-count", polls[0])
    if status != 304:
        raise RuntimeError(f"If-None-Match answered {status}, not 304")
    status, _, body = http_get(f"{base}/v1/notifications?limit=20", auth[0])
    if status != 200 or len(json.loads(body)["items"]) != 20:
        raise RuntimeError(f"the first page answered {status}: {body[:200]!r}")
    # The same page size after each user's first item: a cursor, so never from the page cache
    # (a first page only is cached) — what a first page costs when the cache cannot answer it.
    after_first: list[str] = []
    for headers in auth:
        status, _, body = http_get(f"{base}/v1/notifications?limit=1", headers)
        if status != 200:
            raise RuntimeError(f"the list answered {status}: {body[:200]!r}")
        after_first.append(f"/v1/notifications?limit=20&cursor={json.loads(body)['next_cursor']}")
    found = [
        Scenario(LIVE, "/health/live", [{}]),
        Scenario("unread_count_200", "/v1/notifications/unread-count", auth),
        Scenario("unread_count_304", "/v1/notifications/unread-count", polls, 304),
        Scenario("first_page", "/v1/notifications?limit=20", auth),
        Scenario(UNCACHED, after_first[0], auth, paths=after_first),
    ]
    status, _, body = http_get(f"{base}/v1/notifications/groups?limit=20", auth[0])
    if status == 200:
        found.append(Scenario(GROUPS, "/v1/notifications/groups?limit=20", auth))
    elif status != 404:
        raise RuntimeError(f"the groups page answered {status}: {body[:200]!r}")
    return found


# --- the benchmark -----------------------------------------------------------------------------


def run(
    seconds: float = 10,
    rounds: int = 3,
    threads: int = 2,
    *,
    users: int = USERS,
    items_per_user: int = ITEMS_PER_USER,
    ingest: bool = True,
) -> dict[str, Any]:
    """Seed, start the notifier, run every scenario in each of `rounds` interleaved rounds."""
    # The tokens are minted after the seed and live 15 minutes at most, as the auth service's.
    if (rounds + 0.2) * len(TARGETS) * 1.3 * seconds > ACCESS_TOKEN_MAX_SECONDS:
        raise ValueError("the runs would outlive the users' access tokens: fewer or shorter")
    tool = "wrk" if shutil.which("wrk") else "python"
    key = SigningKey(kid=KID)
    people = population(users)
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as scratch:
        work = Path(scratch)
        postgres = None
        broker = None
        jwks = JwksServer([key])
        try:
            database_url = os.environ.get("DATABASE_URL")
            if not database_url:
                postgres = start_postgres(
                    work / "pg", free_port(), output=work / "postgres.log", create_database="bench"
                )
                database_url = postgres.url("bench")
            asyncio.run(migrate_all(database_url))
            started = time.perf_counter()
            asyncio.run(seed(database_url, people, items_per_user))
            seed_seconds = time.perf_counter() - started
            bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            if ingest and not bootstrap:
                broker_port = free_port()
                broker = start_broker(broker_port, output=work / "broker.log")
                bootstrap = f"127.0.0.1:{broker_port}"
                asyncio.run(ensure_topics(bootstrap))
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap or "127.0.0.1:9",
                "NOTIFIER_INGEST_ENABLED": "true" if ingest else "false",
                "AUTH_JWKS_URL": jwks.url,
                "CLOCHETTE_SECRET_KEY": "bench-" + "s" * 48,
                "CLOCHETTE_HOME": str(work / "home"),
                "NOTIFIER_PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
            }
            with notifier_server(env, port, work / "notifier.log") as (base, pid):
                measured = measure(
                    base,
                    scenarios(base, people, key),
                    tool=tool,
                    seconds=seconds,
                    rounds=rounds,
                    threads=threads,
                    server=psutil.Process(pid),
                )
        finally:
            jwks.close()
            if broker is not None:
                broker.stop()
            if postgres is not None:
                postgres.stop()
    summary = report(measured, tool, seconds, threads)
    summary |= {"users": users, "items_per_user": items_per_user, "seed_seconds": seed_seconds}
    return summary


def measure(
    base: str,
    found: list[Scenario],
    *,
    tool: str,
    seconds: float,
    rounds: int,
    threads: int,
    server: psutil.Process,
) -> list[dict[str, LoadResult]]:
    """Every scenario once per round, in the same order each round, so that noise on the shared
    machine hits them all alike; one dict of results per round."""
    for scenario in found:  # warm-up: pools, caches, the first use of each code path
        load(tool, base, scenario, 2, threads)
    measured: list[dict[str, LoadResult]] = []
    for number in range(1, rounds + 1):
        results: dict[str, LoadResult] = {}
        for scenario in found:
            results[scenario.name] = load_measuring_cpu(
                tool, base, scenario, seconds, threads=threads, server=server
            )
        measured.append(results)
        print_round(number, results)
    return measured


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cpu_ms_per_request(result: LoadResult) -> float:
    """The server's CPU per answer: unlike the rate, barely moved by other work on the machine."""
    return result.server_cores / result.requests_per_second * 1000


def print_round(number: int, results: dict[str, LoadResult]) -> None:
    live = results[LIVE].requests_per_second
    say(f"\nround {number}, {CONNECTIONS} connections")
    say(
        f"{'scenario':<18} {'req/s':>10} {'vs live':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'gen CPU':>8} {'srv CPU':>8} {'CPU ms/req':>10} {'errors':>7}"
    )
    for name, r in results.items():
        say(
            f"{name:<18} {r.requests_per_second:>10.0f} {r.requests_per_second / live:>8.2f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.generator_cores:>8.2f} "
            f"{r.server_cores:>8.2f} {cpu_ms_per_request(r):>10.3f} {r.errors:>7}"
        )


def report(
    measured: list[dict[str, LoadResult]], tool: str, seconds: float, threads: int
) -> dict[str, Any]:
    """Per scenario: each round's figures, and the median round's (by the ratio to live; the
    p99 is the median of the rounds' p99s)."""
    names = list(measured[0])
    summary: dict[str, Any] = {
        "tool": tool,
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "rounds": len(measured),
        "scenarios": {},
    }
    say(f"\nnotifier API, {CONNECTIONS} connections, {tool}, median of {len(measured)} rounds")
    say(f"{'scenario':<18} {'req/s':>10} {'vs live':>8} {'p99 ms':>8} {'CPU vs live':>11}  target")
    met = True
    for name in names:
        per_round = [round_[name] for round_ in measured]
        ratios = [
            r.requests_per_second / round_[LIVE].requests_per_second
            for r, round_ in zip(per_round, measured, strict=True)
        ]
        cpu_ratios = [
            cpu_ms_per_request(round_[LIVE]) / cpu_ms_per_request(r)
            for r, round_ in zip(per_round, measured, strict=True)
        ]
        median_ratio = statistics.median_low(ratios)
        median = per_round[ratios.index(median_ratio)]
        p99 = statistics.median_low([r.p99_ms for r in per_round])
        errors = sum(r.errors for r in per_round)
        summary["scenarios"][name] = {
            "requests_per_second": median.requests_per_second,
            "ratio_to_live": round(median_ratio, 3),
            "p99_ms": p99,
            "errors": errors,
            # live's server CPU per answer over this scenario's (median of the rounds)
            "cpu_ratio_to_live": round(statistics.median_low(cpu_ratios), 3),
            "rounds": [
                {
                    **asdict(r),
                    "ratio_to_live": round(ratio, 3),
                    "cpu_ms_per_request": round(cpu_ms_per_request(r), 4),
                    "cpu_ratio_to_live": round(cpu_ratio, 3),
                }
                for r, ratio, cpu_ratio in zip(per_round, ratios, cpu_ratios, strict=True)
            ],
        }
        verdict = "(baseline)" if name == LIVE else "reported"
        if name in TARGETS:
            minimum, ceiling = TARGETS[name]
            ok = errors == 0 and median_ratio >= minimum and (ceiling is None or p99 < ceiling)
            met &= ok
            wanted = f">= {minimum} x live" + (f", p99 < {ceiling} ms" if ceiling else "")
            verdict = "ok" if ok else f"MISSED ({wanted})"
            if errors:
                verdict = f"FAILED: {errors} unexpected answers"
        say(
            f"{name:<18} {median.requests_per_second:>10.0f} {median_ratio:>8.2f} "
            f"{p99:>8.2f} {statistics.median_low(cpu_ratios):>11.2f}  {verdict}"
        )
    if GROUPS not in names:
        say(f"{GROUPS:<18} {'n/a (route missing)':>28}")
    saturated = sorted(
        {
            name
            for round_ in measured
            for name, r in round_.items()
            if generator_saturated(r, tool, threads)
        }
    )
    summary["generator_saturated"] = saturated
    if saturated:
        say(
            f"the load generator ({tool}) saturated before the server in: {', '.join(saturated)}"
            " — those rates are the generator's limit, not the server's"
        )
    else:
        say(f"the server, not the load generator ({tool}), was the limit in every scenario")
    summary["targets_met"] = met
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--items-per-user", type=int, default=ITEMS_PER_USER)
    parser.add_argument("--quick", action="store_true", help="one round of 5 s per scenario")
    parser.add_argument(
        "--no-ingest", action="store_true", help="run the notifier without its Kafka consumer"
    )
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args()
    summary = run(
        5 if args.quick else args.seconds,
        1 if args.quick else args.rounds,
        args.threads,
        users=args.users,
        items_per_user=args.items_per_user,
        ingest=not args.no_ingest,
    )
    if args.json:
        say(json.dumps(summary, indent=2))
    return 0 if summary["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
