"""What one batch costs on each write path, without Kafka:
`python -m bench.ingest_store_paths [--events 4000] [--rounds 5]`.

A micro-benchmark of `IngestRepository.store` alone (no Kafka, no notifier process) on its own
embedded, durable PostgreSQL, with the workloads of the per-path ingest benchmark
(`bench/ingest_workloads.py`), interleaved round by round, each from an emptied table:

- `raw_copy`: asyncpg COPY of the rows `clean_copy` stored, back into the emptied table in
  5,000-row chunks (the baseline of the ingest benchmark, without Kafka);
- `per_user_copy`: per-user events only, as many as the clean batch has rows, by COPY;
- `clean_copy` / `clean_statement`: the clean batch (per-user and organisation-wide events) with
  the usual COPY threshold, and with one no batch reaches (every batch by the statement);
- `mix`: the mixed batch (also unknown users and redeliveries), which keeps the bulk path
  (until 2026-11-29 it fell back to the statement: docs/notifier-ingest.md).

Every variant is checked row for row. Prints the median time per batch and per row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ingest_workloads
from bench.bench_ingest import empty_notifications, seed
from bench.ingest_workloads import Record
from clochette.devstack import free_port, start_postgres
from clochette.services import migrate_all
from services.notifier.ingest.batch import BatchBuilder, NotificationEvent
from services.notifier.ingest.parser import EventParser
from services.notifier.ingest.repository import IngestRepository
from services.notifier.settings import IngestTopics
from shared.db import create_pool
from shared.events.registry import platform_registry, user_events_registry

VARIANTS = ("clean_copy", "raw_copy", "per_user_copy", "clean_statement", "mix")
COPY_THRESHOLD, NEVER = 200, 1_000_000


@dataclass
class _Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 0


def events_of(records: list[Record], copy_threshold: int) -> list[NotificationEvent]:
    builder = BatchBuilder(
        EventParser(platform_registry(), user_events_registry()),
        IngestTopics(""),
        copy_rows_from=copy_threshold,
    )
    for offset, (topic, key, value) in enumerate(records):
        builder.add(_Record(topic, 0, offset, key, value))
    return builder.build().events


async def measure(events: int, rounds: int) -> dict[str, list[tuple[float, int, bool]]]:
    times: dict[str, list[tuple[float, int, bool]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        postgres = start_postgres(
            Path(tmp) / "pg", free_port(), output=Path(tmp) / "postgres.log", durable=True
        )
        try:
            dsn = postgres.url()
            await migrate_all(dsn)
            population = await seed(dsn, organizations=100, users_per_org=10)
            pool = await create_pool(dsn, min_size=1, max_size=2, search_path="notifier")
            repositories = {
                threshold: IngestRepository(pool, copy_threshold=threshold)
                for threshold in (COPY_THRESHOLD, NEVER)
            }
            try:
                for _ in range(rounds):
                    clean = ingest_workloads.clean(population, events)
                    mix = ingest_workloads.mix(population, events)
                    per_user = ingest_workloads.per_user(population, clean.rows)
                    for variant in VARIANTS:
                        if variant == "raw_copy":  # the rows clean_copy just stored
                            elapsed = await raw_copy(pool)
                            times[variant].append((elapsed, clean.rows, True))
                            continue
                        await empty_notifications(dsn)
                        workload = {"clean": clean, "per": per_user, "mix": mix}[
                            variant.split("_")[0]
                        ]
                        threshold = NEVER if variant == "clean_statement" else COPY_THRESHOLD
                        repository = repositories[threshold]
                        if workload.primed:  # the originals of the redeliveries, untimed
                            await repository.store(events_of(workload.primed, threshold), [])
                        batch = events_of(workload.records, threshold)
                        start = time.perf_counter()
                        outcome = await repository.store(batch, [])
                        elapsed = time.perf_counter() - start
                        async with pool.acquire() as conn:
                            rows = await conn.fetchval("SELECT count(*) FROM notifications")
                        if rows != workload.expected_rows:
                            raise RuntimeError(
                                f"{variant}: {rows} rows stored, {workload.expected_rows} expected"
                            )
                        times[variant].append((elapsed, workload.rows, outcome.copied))
            finally:
                await pool.close()
        finally:
            postgres.stop()
    return times


async def raw_copy(pool: Any) -> float:
    """Read the table's rows, empty it, COPY them back as the ingest benchmark's baseline does
    (5,000 rows per call, each its own transaction); the seconds the COPY took."""
    columns = ["id", "user_id", "event_id", "type", "params", "created_at", "read_at"]
    async with pool.acquire() as conn:
        rows = [
            tuple(r) for r in await conn.fetch(f"SELECT {', '.join(columns)} FROM notifications")
        ]
        await conn.execute("TRUNCATE notifications")
        start = time.perf_counter()
        for offset in range(0, len(rows), 5000):
            await conn.copy_records_to_table(
                "notifications", records=rows[offset : offset + 5000], columns=columns
            )
        return time.perf_counter() - start


def report(events: int, times: dict[str, list[tuple[float, int, bool]]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    rounds = len(times[VARIANTS[0]])
    print(f"\nIngestRepository.store, one {events:,}-event batch, median of {rounds} rounds")
    for variant, runs in times.items():
        median = statistics.median(elapsed for elapsed, _, _ in runs)
        rows = runs[0][1]
        paths = {"copy" if copied else "statement" for _, _, copied in runs}
        figures[variant] = {"ms": median * 1000, "rows": rows, "paths": sorted(paths)}
        print(
            f"  {variant:<16} {median * 1000:7.1f} ms  {median / rows * 1e6:5.1f} us/row "
            f"({rows:,} rows; path {'/'.join(sorted(paths))}; every round: "
            f"{', '.join(f'{elapsed * 1000:.0f}' for elapsed, _, _ in runs)} ms)"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=4000, help="events per batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report(args.events, asyncio.run(measure(args.events, args.rounds)))


if __name__ == "__main__":
    main()
