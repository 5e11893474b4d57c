"""`clochette topics` (what `clochette dev` and the deployments run) creates exactly the topic
manifest on a real broker, as seen by an independent librdkafka client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from clochette.devstack import free_port, start_broker
from shared.topics import TOPICS

CLOCHETTE = str(Path(sys.executable).parent / "clochette")


def run_topics(bootstrap: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.run(
        [CLOCHETTE, "topics"], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own: other tests create some of the real topics on the shared one."""
    port = free_port()
    broker = start_broker(port, output=tmp_path / "broker.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


def test_topics_command_creates_the_manifest_and_is_idempotent(own_broker: str) -> None:
    kafka_bootstrap = own_broker
    first = run_topics(kafka_bootstrap)
    assert first.returncode == 0, first.stderr
    second = run_topics(kafka_bootstrap)
    assert second.returncode == 0, second.stderr
    assert first.stdout.count("  created") == len(TOPICS)
    assert "  created" not in second.stdout
    assert second.stdout.count("present") == len(TOPICS)

    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    for spec in TOPICS:
        assert spec.name in metadata.topics, spec.name
        assert len(metadata.topics[spec.name].partitions) == spec.partitions
