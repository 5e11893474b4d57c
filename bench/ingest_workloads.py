"""The workloads of the ingest benchmark's per-path part (issue 14, item 7).

The notifier stores a batch by one of two write paths (`services/notifier/ingest_repository.py`):
COPY for large batches of events it can store exactly, the `INSERT … ON CONFLICT DO NOTHING`
statement for small batches, redeliveries and users the projection does not know yet. The
benchmark runs three workloads of the same size over the same population:

- `clean`: what the COPY path can take: per-user events and organisation-wide events (fan-out to
  every active member) for known users, every event new;
- the same `clean` workload through a notifier whose COPY threshold is above its largest batch,
  so every batch takes the statement path (same events, same rows: only the path differs);
- `mix`: the clean workload with, spread evenly through the stream, events for users the
  notifier does not know yet (each creates a provisional recipient) and redeliveries (events
  stored before the timed part, published again with the same event id, key, topic and bytes).

Each workload knows exactly how many notification rows it must leave in the table, so a run that
loses or duplicates a row fails loudly.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from shared.events.examples import EXAMPLE_DATA
from shared.topics import PLATFORM_TOPICS

# Positions in every run of 20 events (spread evenly, so every batch of the mix holds some of
# each kind: the pessimistic case for a write path chosen per batch). The rest are per-user.
ORG_WIDE_SLOTS: Final = frozenset({0, 10})  # 10 % organisation-wide
UNKNOWN_USER_SLOTS: Final = frozenset({5})  # 5 % for a user the notifier does not know yet
REDELIVERY_SLOTS: Final = frozenset({15})  # 5 % the same event (same event_id) once more
SLOTS: Final = 20

MIX_SHARES: Final = {
    "per_user": 1 - (len(ORG_WIDE_SLOTS) + len(UNKNOWN_USER_SLOTS) + len(REDELIVERY_SLOTS)) / SLOTS,
    "org_wide": len(ORG_WIDE_SLOTS) / SLOTS,
    "unknown_user": len(UNKNOWN_USER_SLOTS) / SLOTS,
    "redelivery": len(REDELIVERY_SLOTS) / SLOTS,
}

Record = tuple[str, bytes, bytes]  # (logical topic, key, value)


@dataclass
class Population:
    organizations: list[uuid.UUID]
    members: dict[uuid.UUID, list[uuid.UUID]]


@dataclass
class Workload:
    """Records to publish; `primed` are published and committed before the timed part."""

    name: str
    records: list[Record] = field(default_factory=list)
    primed: list[Record] = field(default_factory=list)
    primed_rows: int = 0
    rows: int = 0  # rows the timed records add
    org_wide: int = 0
    unknown_users: int = 0
    redeliveries: int = 0

    @property
    def expected_rows(self) -> int:
        return self.primed_rows + self.rows

    def describe(self) -> dict[str, Any]:
        return {
            "events": len(self.records),
            "org_wide": self.org_wide,
            "unknown_users": self.unknown_users,
            "redeliveries": self.redeliveries,
            "rows": self.rows,
        }


class _Events:
    """Per-user and organisation-wide events over a population, round-robin over topics and
    organisations; every event is active-member-only, joined before it occurred (so the
    fan-out of an organisation-wide event is every seeded member)."""

    def __init__(self, population: Population) -> None:
        self._population = population
        self._n = 0

    def _next(self) -> tuple[int, str, uuid.UUID]:
        n, self._n = self._n, self._n + 1
        organizations = self._population.organizations
        return n, PLATFORM_TOPICS[n % len(PLATFORM_TOPICS)], organizations[n % len(organizations)]

    def per_user(self) -> tuple[Record, int]:
        n, topic, organization = self._next()
        users = self._population.members[organization]
        user = users[(n // len(self._population.organizations)) % len(users)]
        return _record(topic, organization, user), 1

    def org_wide(self) -> tuple[Record, int]:
        _, topic, organization = self._next()
        return _record(topic, organization, None), len(self._population.members[organization])

    def unknown_user(self) -> tuple[Record, int]:
        _, topic, organization = self._next()
        return _record(topic, organization, uuid.uuid4()), 1


def _record(topic: str, organization: uuid.UUID, user: uuid.UUID | None) -> Record:
    document = {
        "event_id": str(uuid.uuid4()),
        "type": topic,
        "version": 1,
        "occurred_at": "2026-11-28T09:15:00Z",
        "organization_id": str(organization),
        "user_id": None if user is None else str(user),
        "data": EXAMPLE_DATA[topic],
    }
    return topic, str(organization).encode(), json.dumps(document).encode()


def per_user(population: Population, count: int) -> Workload:
    """Per-user events only (one row each), as steps 1-3 of the ingest benchmark publish."""
    events = _Events(population)
    workload = Workload("per_user")
    for _ in range(count):
        record, rows = events.per_user()
        workload.records.append(record)
        workload.rows += rows
    return workload


def clean(population: Population, count: int) -> Workload:
    """Per-user (90 %) and organisation-wide (10 %) events, all new, all for known users."""
    events = _Events(population)
    workload = Workload("clean")
    for i in range(count):
        if i % SLOTS in ORG_WIDE_SLOTS:
            record, rows = events.org_wide()
            workload.org_wide += 1
        else:
            record, rows = events.per_user()
        workload.records.append(record)
        workload.rows += rows
    return workload


def mix(population: Population, count: int) -> Workload:
    """The clean workload with 5 % unknown users and 5 % redeliveries in place of per-user
    events. The originals of the redeliveries (clean events) are `primed`."""
    events = _Events(population)
    workload = Workload("mix")
    for i in range(count):
        slot = i % SLOTS
        if slot in ORG_WIDE_SLOTS:
            record, rows = events.org_wide()
            workload.org_wide += 1
        elif slot in UNKNOWN_USER_SLOTS:
            record, rows = events.unknown_user()
            workload.unknown_users += 1
        elif slot in REDELIVERY_SLOTS:
            # the original: one of the clean events (per-user or organisation-wide), stored
            # before the timed part; published again byte for byte, it must add no row
            original, original_rows = (
                events.org_wide() if len(workload.primed) % 10 == 0 else events.per_user()
            )
            workload.primed.append(original)
            workload.primed_rows += original_rows
            record, rows = original, 0
            workload.redeliveries += 1
        else:
            record, rows = events.per_user()
        workload.records.append(record)
        workload.rows += rows
    return workload
