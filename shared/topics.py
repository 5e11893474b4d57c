"""The topic manifest: every topic Clochette reads or writes, with its settings, in one place.

`clochette dev`, the tests and deployments create topics from this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.events.models import PLATFORM_PAYLOADS

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

_WEEK_MS = str(7 * 24 * 3600 * 1000)
_MONTH_MS = str(30 * 24 * 3600 * 1000)

TOPICS: tuple[TopicSpec, ...] = (
    *(
        TopicSpec(name, config={"retention.ms": _WEEK_MS}, description="platform event")
        for name in PLATFORM_TOPICS
    ),
    TopicSpec(
        DEAD_LETTER_TOPIC,
        config={"retention.ms": _MONTH_MS},
        description="records the notifier could not process, with the reason in headers",
    ),
    TopicSpec(
        SMS_REQUESTED_TOPIC,
        config={"retention.ms": _WEEK_MS},
        description="SMS the platform's gateway must send",
    ),
    TopicSpec(
        USER_EVENTS_TOPIC,
        config={"retention.ms": _MONTH_MS},
        description="user lifecycle and security events published by the auth service",
    ),
)


async def ensure_topics(bootstrap_servers: str, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # tansu ignores topic configs it does not know; real Kafka applies them.
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1, topic_configs=s.config) for s in missing]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()
