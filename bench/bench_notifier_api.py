"""Benchmark of the bell's polling endpoint against the same server's liveness probe.

A real notifier (`clochette notifier`: uvicorn, one process) runs against a real PostgreSQL with
10,000 recipients; a JWKS endpoint serves a fresh Ed25519 key and the token is minted with it.
At 64 concurrent connections, in the same run, it measures:

- `GET /health/live` — the ceiling: routing and serialisation, no token, no database;
- `GET /v1/notifications/unread-count` with a valid token (200: count, ETag);
- the same with `If-None-Match` of the current ETag (304: what a polling web app mostly gets).

Targets (issue 6): unread-count at no less than half the rate of /health/live, p99 < 25 ms.
The load comes from `wrk` (Debian package `wrk`) when installed, else from a Python load
generator in a separate process. Run: `.venv/bin/python bench/bench_notifier_api.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from clochette.devstack import free_port, start_broker, start_postgres
from clochette.jwks_stub import JwksServer, SigningKey, mint
from clochette.services import migrate_all
from shared.topics import ensure_topics

CONNECTIONS = 64
TARGET_RATIO = 0.5
TARGET_P99_MS = 25.0
KID = "bench-key"


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    # CPU used during the run, in cores (1.0 = one core busy the whole run): says which side
    # ran out first, the load generator or the server.
    generator_cores: float = float("nan")
    server_cores: float = float("nan")


@dataclass
class Scenario:
    name: str
    path: str
    headers: dict[str, str]


# --- the pieces around the server ------------------------------------------------------------


async def seed(database_url: str, user_id: uuid.UUID, org: uuid.UUID) -> None:
    """10,000 recipients (the polled one among them) and 50 notifications for the polled one."""
    await migrate_all(database_url)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notifier"})
    try:
        users = [uuid.uuid4() for _ in range(9_999)] + [user_id]
        await conn.copy_records_to_table(
            "recipients",
            records=[(u, org, "nl", 0, 0) for u in users],
            columns=["user_id", "organization_id", "language", "unread_count", "version"],
        )
        await conn.execute(
            """INSERT INTO notifications (id, user_id, event_id, type, params, created_at)
               SELECT gen_random_uuid(), $1, gen_random_uuid(), 'payment.received',
                      '{"invoice_id": "i", "invoice_number": "F1", "customer_name": "C",
                        "amount": {"amount": "10.00", "currency": "EUR"}, "status": "full"}',
                      now() - make_interval(mins => g)
               FROM generate_series(1, 50) AS g""",
            user_id,
        )
        await conn.execute(
            """UPDATE recipients SET unread_count = 50, version = 50,
                      latest_created_at = now() - interval '1 minute'
               WHERE user_id = $1""",
            user_id,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


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
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


# --- load generation ---------------------------------------------------------------------------

_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _WRK_UNITS[match[2]]


def run_wrk(url: str, headers: dict[str, str], seconds: int, threads: int) -> LoadResult:
    command = ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(  # noqa: S603 - fixed program, our arguments
        [*command, url], check=True, capture_output=True, text=True
    )
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(bad[1]) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rate, p50, p99, total, errors)


async def _python_connection(
    host: str, port: int, request: bytes, stop_at: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length[1]))
            latencies.append(time.perf_counter() - started)
            errors += status >= 400
    finally:
        writer.close()
    return errors


def _python_load_process(url: str, headers: dict[str, str], seconds: int, queue: Any) -> None:
    match = re.fullmatch(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match is not None  # noqa: S101 - our own URL
    host, port, path = match[1], int(match[2]), match[3]
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []

    async def run() -> int:
        stop_at = time.perf_counter() + seconds
        done = await asyncio.gather(
            *(
                _python_connection(host, port, request, stop_at, latencies)
                for _ in range(CONNECTIONS)
            )
        )
        return sum(done)

    started = time.perf_counter()
    errors = asyncio.run(run())
    elapsed = time.perf_counter() - started
    latencies.sort()
    queue.put(
        LoadResult(
            requests_per_second=len(latencies) / elapsed,
            p50_ms=latencies[len(latencies) // 2] * 1000,
            p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
            requests=len(latencies),
            errors=errors,
        )
    )


def run_python_load(url: str, headers: dict[str, str], seconds: int) -> LoadResult:
    """The fallback generator: one asyncio process, 64 keep-alive connections."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_python_load_process, args=(url, headers, seconds, queue))
    process.start()
    result: LoadResult = queue.get(timeout=seconds + 60)
    process.join()
    return result


# --- the benchmark -----------------------------------------------------------------------------


def run(
    seconds: int = 10, rounds: int = 2, threads: int = 2, ingest: bool = True
) -> dict[str, Any]:
    """Run every scenario `rounds` times, interleaved; report the best round of each."""
    tool = "wrk" if shutil.which("wrk") else "python"
    key = SigningKey(kid=KID)
    user_id, org = uuid.uuid4(), uuid.uuid4()
    token = mint(key, user_id, org=org, lang="nl", lifetime=900)
    auth = {"Authorization": f"Bearer {token}"}
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
            asyncio.run(seed(database_url, user_id, org))
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
                status, headers, body = http_get(f"{base}/v1/notifications/unread-count", auth)
                if status != 200:
                    raise RuntimeError(f"unread-count answered {status}: {body[:200]!r}")
                etag = headers["etag"]
                again, _, _ = http_get(
                    f"{base}/v1/notifications/unread-count", {**auth, "If-None-Match": etag}
                )
                if again != 304:
                    raise RuntimeError(f"If-None-Match answered {again}, not 304")
                scenarios = [
                    Scenario("health_live", "/health/live", {}),
                    Scenario("unread_count_200", "/v1/notifications/unread-count", auth),
                    Scenario(
                        "unread_count_304",
                        "/v1/notifications/unread-count",
                        {**auth, "If-None-Match": etag},
                    ),
                ]
                results = measure(
                    base,
                    scenarios,
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
    return report(results, tool, seconds, rounds, threads)


def measure(
    base: str,
    scenarios: list[Scenario],
    *,
    tool: str,
    seconds: int,
    rounds: int,
    threads: int,
    server: psutil.Process,
) -> dict[str, LoadResult]:
    best: dict[str, LoadResult] = {}
    for scenario in scenarios:  # warm-up: JIT-free Python still has caches and pools to fill
        load(tool, base + scenario.path, scenario.headers, 2, threads)
    for _ in range(rounds):
        for scenario in scenarios:
            url = base + scenario.path
            result = load_measuring_cpu(
                tool, url, scenario.headers, seconds, threads=threads, server=server
            )
            if result.errors:
                raise RuntimeError(f"{scenario.name}: {result.errors} failed requests")
            kept = best.get(scenario.name)
            if kept is None or result.requests_per_second > kept.requests_per_second:
                best[scenario.name] = result
    return best


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def load_measuring_cpu(
    tool: str,
    url: str,
    headers: dict[str, str],
    seconds: int,
    *,
    threads: int,
    server: psutil.Process,
) -> LoadResult:
    """One load run, with the CPU the generator (a finished child process: wrk, or the Python
    generator) and the server used meanwhile."""
    generator_before, server_before = _children_cpu_seconds(), _cpu_seconds(server)
    started = time.perf_counter()
    result = load(tool, url, headers, seconds, threads)
    elapsed = time.perf_counter() - started
    result.generator_cores = (_children_cpu_seconds() - generator_before) / elapsed
    result.server_cores = (_cpu_seconds(server) - server_before) / elapsed
    return result


def generator_saturated(result: LoadResult, tool: str, threads: int) -> bool:
    """True when the load generator, not the server, was the limit: every generator thread
    busy (>= 90 %) while the server (one process, one event loop) still had room."""
    capacity = threads if tool == "wrk" else 1
    return result.generator_cores >= 0.9 * capacity and result.server_cores < 0.9


def load(tool: str, url: str, headers: dict[str, str], seconds: int, threads: int) -> LoadResult:
    if tool == "wrk":
        return run_wrk(url, headers, seconds, threads)
    return run_python_load(url, headers, seconds)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report(
    results: dict[str, LoadResult], tool: str, seconds: int, rounds: int, threads: int
) -> dict[str, Any]:
    live = results["health_live"].requests_per_second
    summary: dict[str, Any] = {
        "tool": tool,
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "rounds": rounds,
        "scenarios": {name: asdict(result) for name, result in results.items()},
    }
    say(f"\nnotifier API, {CONNECTIONS} connections, {tool}, best of {rounds} x {seconds} s")
    say(
        f"{'scenario':<18} {'req/s':>10} {'vs live':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'gen CPU':>8} {'srv CPU':>8}  target"
    )
    met = True
    for name, result in results.items():
        ratio = result.requests_per_second / live
        summary["scenarios"][name]["ratio_to_live"] = round(ratio, 3)
        if name == "health_live":
            verdict = "(baseline)"
        else:
            ok = ratio >= TARGET_RATIO and result.p99_ms < TARGET_P99_MS
            met &= ok
            verdict = "ok" if ok else f"MISSED (>= {TARGET_RATIO} x live, p99 < {TARGET_P99_MS} ms)"
        say(
            f"{name:<18} {result.requests_per_second:>10.0f} {ratio:>8.2f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
            f"{result.generator_cores:>8.2f} {result.server_cores:>8.2f}  {verdict}"
        )
    saturated = [n for n, r in results.items() if generator_saturated(r, tool, threads)]
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
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per scenario")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--no-ingest", action="store_true", help="run the notifier without its Kafka consumer"
    )
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args()
    summary = run(args.seconds, args.rounds, args.threads, ingest=not args.no_ingest)
    if args.json:
        say(json.dumps(summary, indent=2))
    return 0 if summary["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
