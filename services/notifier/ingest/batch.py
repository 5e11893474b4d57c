"""The ingest use case: a batch of Kafka records becomes rows to store and records to dead-letter.

Pure functions and plain data only: no I/O here, so every rule is unit-tested without a broker.

- Platform events (the seven topics) become notifications of the same `type` whose `params` are
  the validated event `data`, as JSON.
- User events from the auth service update the projection of recipients; the security ones
  (`user.password_changed`, `user.two_factor_enabled`, `user.two_factor_disabled`,
  `user.suspicious_codes`, `user.recovery_codes_regenerated`, `user.recovery_code_used`) also
  become notifications of type `security.*` in that user's bell.
- A record that can never be processed is a `BadRecord`, for the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias
from uuid import UUID

from pydantic import BaseModel

from services.notifier.categories import category_of
from services.notifier.ids import NOTIFICATION_IDS
from services.notifier.ingest.parser import EventParser
from services.notifier.settings import IngestTopics
from shared.db import RawJson
from shared.events.registry import Event, InvalidEvent
from shared.events.user_events import (
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
)
from shared.topics import USER_EVENTS_TOPIC

# user event type -> notification type stored for the user's bell
SECURITY_NOTIFICATION_TYPES: dict[str, str] = {
    "user.password_changed": "security.password_changed",
    "user.two_factor_enabled": "security.two_factor_enabled",
    "user.two_factor_disabled": "security.two_factor_disabled",
    "user.suspicious_codes": "security.suspicious_codes",
    "user.recovery_codes_regenerated": "security.recovery_codes_regenerated",
    "user.recovery_code_used": "security.recovery_code_used",
}


class SourceRecord(Protocol):
    """What the use case needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> int: ...


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record for the dead-letter topic, with why it can never be processed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    error_class: str
    reason: str


@dataclass(slots=True)
class NotificationEvent:
    """One event to turn into notifications: for `user_id`, or every active member if None."""

    topic: str
    event_id: UUID
    organization_id: UUID
    user_id: UUID | None
    type: str
    params_json: str
    occurred_at: datetime
    record: SourceRecord = field(repr=False, compare=False)
    # action, info or security (categories.category_of), decided once, stored with every row
    category: str = field(compare=False)
    # For an event that names one user: the row the bulk (COPY) path writes for it, prepared
    # while the previous batch is being written (see BatchBuilder.build).
    copy_row: CopyRow | None = field(default=None, repr=False, compare=False)


@dataclass(slots=True)
class RecipientChange:
    """What the user events of one batch change for one user; None leaves a field as it is."""

    user_id: UUID
    organization_id: UUID
    language: str | None = None
    active: bool | None = None
    member_since: datetime | None = None
    # The user events folded into this change, to dead-letter them if it is refused.
    records: list[SourceRecord] = field(default_factory=list, repr=False, compare=False)


@dataclass
class PreparedBatch:
    """Everything one batch of records turns into, and the offsets to commit once it is stored.

    `next_offsets` maps (topic, partition) to the offset after the batch's last record there.
    """

    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    records_per_topic: dict[str, int] = field(default_factory=dict)
    events: list[NotificationEvent] = field(default_factory=list)
    recipient_changes: list[RecipientChange] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    repeated_in_batch: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(self.records_per_topic.values())

    @property
    def needs_database(self) -> bool:
        return bool(self.events or self.recipient_changes)


class BatchBuilder:
    """Builds one PreparedBatch record by record, so a caller can hand control back to its event
    loop between chunks (parsing is CPU work; the database writer needs the loop meanwhile)."""

    def __init__(
        self, parser: EventParser, topics: IngestTopics, *, copy_rows_from: int = 1
    ) -> None:
        """`copy_rows_from`: the writer's COPY threshold; smaller batches get no COPY rows."""
        self._parser = parser
        self._topics = topics
        self._copy_rows_from = copy_rows_from
        self._batch = PreparedBatch()
        self._seen: set[UUID] = set()
        self._changes: dict[UUID, RecipientChange] = {}

    def add(self, record: SourceRecord) -> None:
        """Add the next record; records of one partition must come in offset order."""
        batch, topic = self._batch, record.topic
        batch.next_offsets[(topic, record.partition)] = record.offset + 1
        batch.records_per_topic[topic] = batch.records_per_topic.get(topic, 0) + 1
        logical = self._topics.logical(topic)
        model = self._parser.validated_platform_event(record.value, logical)
        if model is not None:  # the common case, without building an intermediate Event
            if model.event_id in self._seen:
                batch.repeated_in_batch[topic] = batch.repeated_in_batch.get(topic, 0) + 1
                return
            self._seen.add(model.event_id)
            batch.events.append(
                NotificationEvent(
                    topic,
                    model.event_id,
                    model.organization_id,
                    model.user_id,
                    logical,
                    model.data.model_dump_json(),
                    model.occurred_at,
                    record,
                    category_of(logical, _status_of(model.data)),
                )
            )
            return
        try:
            event = self._parser.parse(record.value, logical)
        except InvalidEvent as bad:
            batch.bad.append(bad_record(record, bad.error_class, bad.reason))
            return
        if event.event_id in self._seen:
            batch.repeated_in_batch[topic] = batch.repeated_in_batch.get(topic, 0) + 1
            return
        self._seen.add(event.event_id)
        if logical == USER_EVENTS_TOPIC:
            moved = _apply_user_event(record, event, self._changes)
            if moved is not None:
                batch.bad.append(moved)
                return
            notification_type = SECURITY_NOTIFICATION_TYPES.get(event.type)
            if notification_type is not None:
                batch.events.append(_notification(record, event, notification_type))
        else:
            batch.events.append(_notification(record, event, event.type))

    def build(self) -> PreparedBatch:
        self._batch.recipient_changes = [self._changes[u] for u in sorted(self._changes)]
        # The writer's bulk path runs one batch behind this parse: whatever of its work can be
        # done now (ids, the rows themselves) leaves the writer, which paces the pipeline. A
        # batch too small for that path is written by one statement: nothing to prepare.
        events = self._batch.events
        if len(events) < self._copy_rows_from:
            return self._batch
        ids = iter(NOTIFICATION_IDS.take(sum(1 for e in events if e.user_id is not None)))
        for event in events:
            if event.user_id is not None:
                event.copy_row = copy_row(next(ids), event.user_id, event)
        return self._batch


CopyRow: TypeAlias = tuple[str, UUID, UUID, str, RawJson, str]


def copy_row(identifier: str, user_id: UUID, event: NotificationEvent) -> CopyRow:
    """The notifications row of `event` for `user_id`, in COPY_COLUMNS order."""
    return (
        identifier,
        user_id,
        event.event_id,
        event.type,
        RawJson(event.params_json),
        event.category,
    )


def bad_record(record: SourceRecord, error_class: str, reason: str) -> BadRecord:
    return BadRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        timestamp_ms=record.timestamp,
        error_class=error_class,
        reason=reason,
    )


def _notification(
    record: SourceRecord, event: Event[Any], notification_type: str
) -> NotificationEvent:
    data: BaseModel = event.data
    return NotificationEvent(
        topic=record.topic,
        event_id=event.event_id,
        organization_id=event.organization_id,
        user_id=event.user_id,
        type=notification_type,
        params_json=data.model_dump_json(),
        occurred_at=event.occurred_at,
        record=record,
        category=category_of(notification_type, _status_of(data)),
    )


def _status_of(data: BaseModel) -> dict[str, Any]:
    """What category_of reads of an event's data (a payment's status), without dumping it."""
    return {"status": getattr(data, "status", None)}


def organization_changed(
    record: SourceRecord, user_id: UUID, organization: UUID, claimed: UUID
) -> BadRecord:
    """The dead letter of a user event that moves a confirmed user to another organisation."""
    return bad_record(
        record,
        ORGANIZATION_CHANGED,
        f"user {user_id} belongs to organisation {organization}; this event puts it in "
        f"{claimed}, and users never change organisation (an administrator creates a new user)",
    )


ORGANIZATION_CHANGED = "organization_changed"


def _apply_user_event(
    record: SourceRecord, event: Event[Any], changes: dict[UUID, RecipientChange]
) -> BadRecord | None:
    """Fold one user event into the user's pending change (events of a user arrive in order:
    the auth service keys them by user id). An event of this batch that moves the user to
    another organisation than an earlier one did is refused: its dead letter is returned."""
    user_id = event.user_id
    if user_id is None:  # the registry's envelope allows it; user events always carry one
        return None
    change = changes.get(user_id)
    if change is None:
        change = changes[user_id] = RecipientChange(user_id, event.organization_id)
    elif change.organization_id != event.organization_id:
        return organization_changed(record, user_id, change.organization_id, event.organization_id)
    change.records.append(record)
    data = event.data
    if isinstance(data, UserCreated):
        change.language = data.language
        change.active = data.active
        change.member_since = event.occurred_at
    elif isinstance(data, UserLanguageChanged):
        change.language = data.language
    elif isinstance(data, UserDeactivated):
        change.active = False
    return None
