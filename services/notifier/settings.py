"""The notifier's own settings: every `NOTIFIER_*` variable but its listener address
(`NOTIFIER_HOST`/`NOTIFIER_PORT` stay in `shared.settings.Settings`: the CLI, the dev stack and the
web client need them too).

Every knob has a production default; tests and benchmarks override topic names (a prefix) and the
consumer group so that several runs can share one broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topics import DEAD_LETTER_TOPIC, PLATFORM_TOPICS, USER_EVENTS_TOPIC

DEFAULT_CONSUMER_GROUP = "clochette-notifier"


class NotifierSettings(BaseSettings):
    """The bell API's poll interval and retention, and how the notifier consumes: group, topic
    names, batching, retries and shutdown."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # The bell API.
    poll_interval_seconds: int = Field(30, alias="NOTIFIER_POLL_INTERVAL", ge=1)
    retention_days: int = Field(180, alias="NOTIFIER_RETENTION_DAYS", ge=1)
    # Long polling of the unread count (`Prefer: wait=N`): requests held at once per process
    # (0 turns long polling off), and the longest wait applied (a longer one is clamped).
    longpoll_max_held: int = Field(10_000, alias="NOTIFIER_LONGPOLL_MAX_HELD", ge=0)
    longpoll_max_wait_seconds: int = Field(
        30, alias="NOTIFIER_LONGPOLL_MAX_WAIT_SECONDS", ge=1, le=30
    )
    # Rendered first pages kept per process, of the list and of the groups each (at most this
    # many pages and 20 items per page on average: about 50 MB each when full; see
    # api/page_cache.py); 0 turns them off.
    page_cache_size: int = Field(2048, alias="NOTIFIER_PAGE_CACHE_SIZE", ge=0)
    # The ingest.

    ingest_enabled: bool = Field(True, alias="NOTIFIER_INGEST_ENABLED")
    consumer_group: str = Field(DEFAULT_CONSUMER_GROUP, alias="NOTIFIER_CONSUMER_GROUP")
    topic_prefix: str = Field("", alias="NOTIFIER_TOPIC_PREFIX")
    batch_max_records: int = Field(5000, alias="NOTIFIER_BATCH_MAX_RECORDS", ge=1, le=100_000)
    # At low traffic a batch closes this long after its first record arrived.
    batch_linger_ms: int = Field(5, alias="NOTIFIER_BATCH_LINGER_MS", ge=0, le=1000)
    poll_timeout_ms: int = Field(500, alias="NOTIFIER_POLL_TIMEOUT_MS", ge=10, le=10_000)
    # How long the broker may hold a fetch when there is no data. Apache Kafka answers as soon
    # as a record arrives; the embedded tansu broker always waits this long, so it bounds the
    # latency at low traffic (an idle consumer then sends about 1000/value fetches a second).
    fetch_max_wait_ms: int = Field(20, alias="NOTIFIER_FETCH_MAX_WAIT_MS", ge=1, le=10_000)
    session_timeout_ms: int = Field(10_000, alias="NOTIFIER_SESSION_TIMEOUT_MS", ge=1000)
    heartbeat_interval_ms: int = Field(3000, alias="NOTIFIER_HEARTBEAT_INTERVAL_MS", ge=100)
    max_poll_interval_ms: int = Field(300_000, alias="NOTIFIER_MAX_POLL_INTERVAL_MS", ge=1000)
    retry_initial_backoff_s: float = Field(0.05, alias="NOTIFIER_RETRY_INITIAL_BACKOFF", gt=0)
    retry_max_backoff_s: float = Field(5.0, alias="NOTIFIER_RETRY_MAX_BACKOFF", gt=0)
    # A rebalance waits this long for the batch in flight before abandoning it (uncommitted).
    revoke_timeout_s: float = Field(10.0, alias="NOTIFIER_REVOKE_TIMEOUT", gt=0)
    # A shutdown waits this long for the batch in flight; keep it below the process manager's
    # kill timeout (uvicorn's graceful shutdown is 10 s).
    shutdown_timeout_s: float = Field(8.0, alias="NOTIFIER_SHUTDOWN_TIMEOUT", gt=0)
    lag_interval_s: float = Field(5.0, alias="NOTIFIER_LAG_INTERVAL", gt=0)
    housekeeping_interval_s: float = Field(600.0, alias="NOTIFIER_HOUSEKEEPING_INTERVAL", gt=0)
    broadcast_retention_days: int = Field(8, alias="NOTIFIER_BROADCAST_RETENTION_DAYS", ge=1)
    provisional_retention_days: int = Field(30, alias="NOTIFIER_PROVISIONAL_RETENTION_DAYS", ge=1)
    # Batches of at least this many events are written with COPY (throughput); smaller ones with
    # one INSERT statement (latency). 1 always copies; a huge value never does.
    copy_threshold: int = Field(200, alias="NOTIFIER_COPY_THRESHOLD", ge=1)
    # No longer used: the ingest writes through the service's one pool (DB_POOL_MAX_SIZE). Still
    # read and validated so that existing deployments that set it keep starting.
    db_pool_size: int = Field(2, alias="NOTIFIER_INGEST_DB_POOL_SIZE", ge=1, le=20)

    @property
    def topics(self) -> IngestTopics:
        return IngestTopics(self.topic_prefix)


@dataclass(frozen=True)
class IngestTopics:
    """The real names of the topics the notifier reads and writes: the contract's names, behind
    an optional prefix. `logical()` maps a real name back to the contract's name."""

    prefix: str = ""

    @property
    def platform(self) -> tuple[str, ...]:
        return tuple(self.prefix + name for name in PLATFORM_TOPICS)

    @property
    def users(self) -> str:
        return self.prefix + USER_EVENTS_TOPIC

    @property
    def dead_letter(self) -> str:
        return self.prefix + DEAD_LETTER_TOPIC

    @property
    def consumed(self) -> tuple[str, ...]:
        return (*self.platform, self.users)

    def logical(self, topic: str) -> str:
        return topic.removeprefix(self.prefix) if self.prefix else topic
