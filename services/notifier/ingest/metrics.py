"""Prometheus metrics of the ingest, in prometheus_client's default registry (served by the
notifier's `GET /metrics`).

Lag gauges use kafka-lag-exporter's names (`kafka_consumergroup_group_lag`, `…_group_offset`,
`kafka_partition_latest_offset`) so existing dashboards and alerts work unchanged.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PARTITION_LABELS = ("group", "topic", "partition")

GROUP_LAG = Gauge(
    "kafka_consumergroup_group_lag",
    "Records not yet committed by the group: high-water mark minus committed offset, >= 0.",
    PARTITION_LABELS,
)
GROUP_OFFSET = Gauge(
    "kafka_consumergroup_group_offset",
    "Offset committed by the group (the next record it will read).",
    PARTITION_LABELS,
)
LATEST_OFFSET = Gauge(
    "kafka_partition_latest_offset",
    "High-water mark of the partition (offset of the next record to be written).",
    ("topic", "partition"),
)
LAST_COMMIT = Gauge(
    "notifier_consumer_last_commit_timestamp_seconds",
    "Unix time of this instance's last offset commit for the partition.",
    PARTITION_LABELS,
)
ASSIGNED_PARTITIONS = Gauge(
    "notifier_consumer_assigned_partitions", "Partitions assigned to this notifier instance."
)

RECORDS_PROCESSED = Counter(
    "notifier_records_processed_total",
    "Records stored and committed (dead letters excluded), per topic.",
    ("topic",),
)
RECORDS_DUPLICATE = Counter(
    "notifier_records_duplicate_total",
    "Records whose event had already been stored for every recipient (redelivery), per topic.",
    ("topic",),
)
RECORDS_DEAD_LETTERED = Counter(
    "notifier_records_dead_lettered_total",
    "Records sent to the dead-letter topic, per topic and error class.",
    ("topic", "error_class"),
)
RECORDS_UNROUTED = Counter(
    "notifier_records_unrouted_total",
    "Events that reached no recipient (inactive user, organisation mismatch, empty "
    "organisation), per topic.",
    ("topic",),
)
NOTIFICATIONS_CREATED = Counter(
    "notifier_notifications_created_total", "Notification rows inserted."
)
TRANSIENT_FAILURES = Counter(
    "notifier_ingest_transient_failures_total",
    "Failures retried with backoff (database or broker unavailable), per stage.",
    ("stage",),
)
COMMIT_FAILURES = Counter(
    "notifier_consumer_commit_failures_total",
    "Offset commits refused because the partitions moved to another member (the records are "
    "redelivered there and deduplicated).",
)
REBALANCES = Counter(
    "notifier_consumer_rebalances_total", "Partition revocations seen by this instance."
)
ABANDONED_BATCHES = Counter(
    "notifier_consumer_abandoned_batches_total",
    "Batches given up uncommitted (rebalance or shutdown while the database was unavailable).",
)
BATCH_SIZE = Histogram(
    "notifier_batch_size_records",
    "Records per stored batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000),
)
BATCHES_STORED = Counter(
    "notifier_batches_stored_total",
    "Stored batches by write path: copy (bulk, large batches) or statement (small batches, "
    "redeliveries, users not yet projected).",
    ["path"],
)
BATCH_DURATION = Histogram(
    "notifier_batch_store_duration_seconds",
    "Time to store one batch in PostgreSQL and commit its offsets.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
