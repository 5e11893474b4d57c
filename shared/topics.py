"""The topic manifest: every topic Clochette reads or writes, with its settings, in one place.

`clochette dev`, the tests and deployments create topics from this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.events.models import PLATFORM_PAYLOADS

if TYPE_CHECKING:
    from shared.kafka import KafkaSecurity

DEAD_LETTER_TOPIC = "notifier.dlq"
SMS_REQUESTED_TOPIC = "sms.requested"
USER_EVENTS_TOPIC = "auth.users"

DEFAULT_PARTITIONS = 3


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = DEFAULT_PARTITIONS
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


PLATFORM_TOPICS: tuple[str, ...] = tuple(p.topic for p in PLATFORM_PAYLOADS)  # type: ignore[attr-defined]

_HOUR_MS = str(3600 * 1000)
_WEEK_MS = str(7 * 24 * 3600 * 1000)
_MONTH_MS = str(30 * 24 * 3600 * 1000)

TOPICS: tuple[TopicSpec, ...] = (
    *(
        TopicSpec(
            name,
            # A week covers a long notifier outage; the notifications themselves live in
            # PostgreSQL, so nothing needs the platform events after they were consumed.
            config={"retention.ms": _WEEK_MS, "cleanup.policy": "delete"},
            description="platform event, keyed by organization_id",
        )
        for name in PLATFORM_TOPICS
    ),
    TopicSpec(
        DEAD_LETTER_TOPIC,
        # Long enough for an operator to notice the alert, fix the producer and replay.
        config={"retention.ms": _MONTH_MS, "cleanup.policy": "delete"},
        description="records the notifier could not process, original bytes, reason in headers",
    ),
    TopicSpec(
        SMS_REQUESTED_TOPIC,
        # The records carry one-time codes valid for 10 minutes: keep them no longer than the
        # gateway needs to catch up after a short outage.
        config={"retention.ms": _HOUR_MS, "cleanup.policy": "delete"},
        description="SMS the platform's gateway must send (contains codes: short retention)",
    ),
    TopicSpec(
        USER_EVENTS_TOPIC,
        # Kept forever (it is small) so a new notifier can rebuild its projection of users from
        # the beginning. Not compacted: the events are deltas (created, language changed,
        # deactivated), and compaction would keep only the last one per user.
        config={"retention.ms": "-1", "cleanup.policy": "delete"},
        description="user and security events of the auth service, keyed by organization_id",
    ),
)


async def ensure_topics(
    bootstrap_servers: str,
    specs: tuple[TopicSpec, ...] = TOPICS,
    *,
    replication_factor: int = 1,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Existing topics are
    left as they are (partitions are never changed behind an operator's back)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from shared.kafka import PLAINTEXT, kafka_client_options

    admin = AIOKafkaAdminClient(
        **kafka_client_options(bootstrap_servers, security or PLAINTEXT), request_timeout_ms=10_000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # tansu ignores topic configs it does not know; real Kafka applies them.
            await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.config)
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()
