"""The notifier as a real process: killed with SIGKILL mid-batch, and two instances sharing one
consumer group. Counts must be exact: nothing lost, nothing twice, badges equal to the lists."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clochette.devstack import free_port
from tests.notifier_ingest.helpers import (
    add_recipients,
    badge_drift,
    committed_offsets,
    count_notifications,
    create_topics,
    encode,
    event,
    fetchval,
    new_prefix,
    publish_async,
    settings_for,
    wait_until,
)

pytestmark = pytest.mark.e2e


class NotifierProcess:
    """`clochette notifier` in its own process group, on a free port."""

    def __init__(self, database_url: str, bootstrap: str, prefix: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "NOTIFIER_PORT": str(self.port),
            "CLOCHETTE_SECRET_KEY": "k" * 48,
            "CLOCHETTE_ENV": "test",
            "NOTIFIER_TOPIC_PREFIX": prefix,
            "NOTIFIER_CONSUMER_GROUP": f"{prefix}notifier",
            "NOTIFIER_SESSION_TIMEOUT_MS": "3000",
            "NOTIFIER_HEARTBEAT_INTERVAL_MS": "500",
            "NOTIFIER_RETRY_MAX_BACKOFF": "0.5",
            "LOG_FORMAT": "json",
        }
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "clochette"), "notifier"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    async def wait_ready(self, timeout: float = 60) -> None:
        async def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"notifier exited: {self.log.read_text()[-3000:]}")
            status, _ = await asyncio.to_thread(self.get, "/health/ready")
            return status == 200

        await wait_until(ready, timeout=timeout, what="notifier readiness")

    def processed(self, topic: str) -> float:
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(f'notifier_records_processed_total{{topic="{topic}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def notifiers(*processes: NotifierProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.terminate()


async def test_sigkill_mid_batch_then_restart_gives_exact_counts(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    prefix = new_prefix()
    settings = settings_for(prefix)
    await create_topics(kafka_bootstrap, settings.topics)
    organization = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(40)]
    await add_recipients(database_url, organization, users)
    topic = settings.topics.prefix + "payment.received"
    # Large enough that the kill, once a tenth is stored, lands while most of the stream is still
    # to come even when the ingest runs at full speed (20,000 went through before the kill once).
    total = 60_000
    documents = [
        encode(event("payment.received", organization, users[i % 40])) for i in range(total)
    ]
    first = NotifierProcess(database_url, kafka_bootstrap, prefix, tmp_path / "first.log")
    with notifiers(first):
        await first.wait_ready()
        await publish_async(kafka_bootstrap, topic, documents, key=str(organization).encode())

        async def partly_stored() -> bool:
            return await count_notifications(database_url) >= total // 10

        await wait_until(partly_stored, timeout=60, what="a tenth of the events stored")
        first.kill()
    stored_at_kill = await count_notifications(database_url)
    assert stored_at_kill < total, "the kill must land mid-stream for this test to mean anything"
    second = NotifierProcess(database_url, kafka_bootstrap, prefix, tmp_path / "second.log")
    with notifiers(second):
        await second.wait_ready()

        async def everything_committed() -> bool:
            offsets = await asyncio.to_thread(
                committed_offsets, kafka_bootstrap, settings.consumer_group, topic
            )
            return sum(max(0, o) for o in offsets.values()) >= total

        await wait_until(everything_committed, timeout=90, what="every record committed")
    assert await count_notifications(database_url) == total
    assert await fetchval(database_url, "SELECT sum(unread_count) FROM recipients") == total
    assert await badge_drift(database_url) == []


async def test_two_instances_share_six_partitions_without_loss_or_duplicate(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    prefix = new_prefix()
    settings = settings_for(prefix)
    await create_topics(kafka_bootstrap, settings.topics, partitions=6)
    organizations = [uuid.uuid4() for _ in range(12)]
    members = {org: [uuid.uuid4() for _ in range(4)] for org in organizations}
    for org, users in members.items():
        await add_recipients(database_url, org, users)
    topic = settings.topics.prefix + "inbox.received"
    one = NotifierProcess(database_url, kafka_bootstrap, prefix, tmp_path / "one.log")
    two = NotifierProcess(database_url, kafka_bootstrap, prefix, tmp_path / "two.log")
    with notifiers(one, two):
        await one.wait_ready()
        await two.wait_ready()
        rng = random.Random(5)
        expected = 0
        for _ in range(4):
            batch: dict[uuid.UUID, list[bytes]] = {org: [] for org in organizations}
            for _ in range(1500):
                org = rng.choice(organizations)
                if rng.random() < 0.1:
                    batch[org].append(encode(event("inbox.received", org)))  # whole organisation
                    expected += 4
                else:
                    batch[org].append(
                        encode(event("inbox.received", org, rng.choice(members[org])))
                    )
                    expected += 1
            for org, documents in batch.items():
                await publish_async(kafka_bootstrap, topic, documents, key=str(org).encode())

        async def all_stored() -> bool:
            return await count_notifications(database_url) >= expected

        await wait_until(all_stored, timeout=90, what="every notification")

        async def all_committed() -> bool:
            offsets = await asyncio.to_thread(
                committed_offsets, kafka_bootstrap, settings.consumer_group, topic
            )
            return sum(max(0, o) for o in offsets.values()) >= 6000

        await wait_until(all_committed, timeout=60, what="every record committed")
        work = [await asyncio.to_thread(p.processed, topic) for p in (one, two)]
    assert all(w > 0 for w in work), f"both instances did work: {work}"
    assert await count_notifications(database_url) == expected
    assert await fetchval(database_url, "SELECT sum(unread_count) FROM recipients") == expected
    assert await badge_drift(database_url) == []
