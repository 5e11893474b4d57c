"""Hypothesis strategies for hostile Kafka record values on the platform topics.

Every family the issue names has its own strategy (random bytes, truncated JSON of each of the
seven event types, wrong types, huge strings, deep nesting, invalid UTF-8, NaN/Infinity,
duplicate keys, nulls, unknown type/version, huge numbers, lone surrogates and NUL, tombstones)
next to valid events with unknown extra fields, which must still be stored. `EXPLICIT` holds one
named record per family, so even the fastest run covers each of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from shared.events.examples import EXAMPLE_DATA
from shared.topics import PLATFORM_TOPICS

TYPES = sorted(EXAMPLE_DATA)
assert set(TYPES) == set(PLATFORM_TOPICS)

# Bigger than any field limit of the models; the broker test keeps records within Kafka's 1 MB.
ONE_MB = 1_000_000


@dataclass(frozen=True)
class FuzzRecord:
    """A record value to publish on the platform topic `topic` (its contract name)."""

    family: str
    topic: str
    value: bytes | None
    # for the named records: "event" or the dead-letter class the parser must give
    expect: str | None = None

    def __repr__(self) -> str:  # a 1 MB value must not flood the failure report
        shown = self.value if self.value is None or len(self.value) <= 200 else self.value[:200]
        size = "None" if self.value is None else f"{len(self.value)} bytes"
        return f"FuzzRecord({self.family!r}, {self.topic!r}, {size}, {shown!r})"


def event_id_of(value: bytes | None) -> UUID | None:
    """The event id a record claims, when it can be read at all (for the oracle, not the
    consumer): a record without one can only be dead-lettered."""
    if value is None:
        return None
    try:
        document = json.loads(value)
        return UUID(str(document["event_id"]))
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return None


@st.composite
def valid_events(draw: st.DrawFn, event_type: str | None = None) -> dict[str, Any]:
    """A contract-conform event of one of the seven types, for a known user or a broadcast."""
    chosen = event_type or draw(st.sampled_from(TYPES))
    return {
        "event_id": str(draw(st.uuids(version=4))),
        "type": chosen,
        "version": 1,
        "occurred_at": "2026-11-28T09:15:00Z",
        "organization_id": str(draw(st.uuids(version=4))),
        "user_id": draw(st.one_of(st.none(), st.uuids(version=4).map(str))),
        "data": copy.deepcopy(EXAMPLE_DATA[chosen]),
    }


def _dump(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _record(family: str, event: dict[str, Any], value: bytes | None) -> FuzzRecord:
    return FuzzRecord(family, event["type"] if event["type"] in TYPES else TYPES[0], value)


def _paths(event: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field of the envelope and of `data` (one level into Money)."""
    paths: list[tuple[str, ...]] = [(k,) for k in event if k != "data"]
    for key, value in event["data"].items():
        paths.append(("data", key))
        if isinstance(value, dict):
            paths.extend(("data", key, inner) for inner in value)
    return paths


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def valid_with_extras(draw: st.DrawFn) -> FuzzRecord:
    """Valid, with unknown fields in the envelope and in `data`: must be stored."""
    event = draw(valid_events())
    extras = draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3))
    event = {**extras, **event}
    event["data"] = {**{f"x_{k}": v for k, v in extras.items()}, **event["data"]}
    return _record("valid_with_extras", event, _dump(event))


@st.composite
def truncated(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    raw = _dump(event)
    cut = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    return _record("truncated", event, raw[:cut])


@st.composite
def wrong_types(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    path = draw(st.sampled_from(_paths(event)))
    _set(event, path, draw(json_values))
    return _record("wrong_type", event, _dump(event))


@st.composite
def nulls(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    path = draw(st.sampled_from([*_paths(event), ("data",)]))
    _set(event, path, None)
    return _record("null", event, _dump(event))


@st.composite
def huge_strings(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    size = draw(st.sampled_from([201, 2001, 65_536, ONE_MB]))
    path = draw(st.sampled_from([*_paths(event), ("data", "x_unknown"), ("x_unknown",)]))
    char = draw(st.sampled_from("xé€𝄞"))  # 1 to 4 bytes in UTF-8
    _set(event, path, char * (size // len(char.encode()) if size == ONE_MB else size))
    return _record("huge_string", event, _dump(event))


@st.composite
def deep_nesting(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    depth = draw(st.sampled_from([100, 1_000, 10_000, 100_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    shape = draw(st.sampled_from(["open", "closed", "in_event"]))
    if shape == "open":
        return _record("deep_nesting", event, opener * depth)
    nested = opener * depth + b"1" + closer * depth
    if shape == "closed":
        return _record("deep_nesting", event, nested)
    raw = _dump({**event, "x_deep": 0}).replace(b'"x_deep": 0', b'"x_deep": ' + nested)
    return _record("deep_nesting", event, raw)


INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"]


@st.composite
def invalid_utf8(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    raw = _dump(event)
    at = draw(st.integers(min_value=0, max_value=len(raw)))
    return _record("invalid_utf8", event, raw[:at] + draw(st.sampled_from(INVALID_UTF8)) + raw[at:])


NON_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"]


@st.composite
def non_finite(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    path = draw(
        st.sampled_from([("version",), ("x_number",), ("data", "x_number"), *_paths(event)])
    )
    _set(event, path, "__NUMBER__")
    literal = draw(st.sampled_from(NON_FINITE))
    return _record("non_finite", event, _dump(event).replace(b'"__NUMBER__"', literal))


@st.composite
def huge_numbers(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    path = draw(st.sampled_from([("version",), ("x_number",), ("data", "x_number")]))
    _set(event, path, "__NUMBER__")
    digits = draw(st.sampled_from([20, 4300, 4301, 10_000]))
    literal = draw(
        st.sampled_from([b"9" * digits, b"1e" + b"9" * min(digits, 50), b"-" + b"9" * digits])
    )
    return _record("huge_number", event, _dump(event).replace(b'"__NUMBER__"', literal))


@st.composite
def duplicate_keys(draw: st.DrawFn) -> FuzzRecord:
    """The same key twice: JSON parsers keep the last one; both values are tried first."""
    event = draw(valid_events())
    key = draw(st.sampled_from(["event_id", "type", "version", "user_id", "data", "occurred_at"]))
    other = draw(json_values)
    raw = _dump(event)
    pair = json.dumps(key).encode() + b": " + json.dumps(other).encode()
    before = draw(st.booleans())
    value = b"{" + pair + b", " + raw[1:] if before else raw[:-1] + b", " + pair + b"}"
    return _record("duplicate_keys", event, value)


@st.composite
def unknown_type_or_version(draw: st.DrawFn) -> FuzzRecord:
    event = draw(valid_events())
    if draw(st.booleans()):
        event["type"] = draw(st.one_of(st.text(max_size=30), st.sampled_from(TYPES)))
    else:
        event["version"] = draw(
            st.one_of(st.integers(), st.just(10**30), st.sampled_from([0, -1, 2]))
        )
    topic = draw(st.sampled_from(TYPES))  # sometimes a known type on another type's topic
    return FuzzRecord("unknown_type_or_version", topic, _dump(event))


@st.composite
def odd_strings(draw: st.DrawFn) -> FuzzRecord:
    """Lone surrogates and NUL in strings: JSON allows both, PostgreSQL `jsonb` neither."""
    event = draw(valid_events())
    path = draw(st.sampled_from([p for p in _paths(event) if p[0] == "data"]))
    escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\ud83d\\ude00"]))
    _set(event, path, "__TEXT__")
    raw = _dump(event).replace(b'"__TEXT__"', b'"a' + escape.encode() + b'b"')
    return _record("odd_string", event, raw)


@st.composite
def random_bytes(draw: st.DrawFn) -> FuzzRecord:
    value = draw(st.one_of(st.binary(max_size=300), st.just(b""), st.none(), st.just(b"null")))
    return FuzzRecord("random_bytes", draw(st.sampled_from(TYPES)), value)


FAMILIES: dict[str, Callable[[], st.SearchStrategy[FuzzRecord]]] = {
    "valid_with_extras": valid_with_extras,
    "random_bytes": random_bytes,
    "truncated": truncated,
    "wrong_type": wrong_types,
    "null": nulls,
    "huge_string": huge_strings,
    "deep_nesting": deep_nesting,
    "invalid_utf8": invalid_utf8,
    "non_finite": non_finite,
    "huge_number": huge_numbers,
    "duplicate_keys": duplicate_keys,
    "unknown_type_or_version": unknown_type_or_version,
    "odd_string": odd_strings,
}


def records() -> st.SearchStrategy[FuzzRecord]:
    return st.one_of([family() for family in FAMILIES.values()])


def _example(event_type: str, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": "00000000-0000-4000-8000-000000000000",
        "type": event_type,
        "version": 1,
        "occurred_at": "2026-11-28T09:15:00Z",
        "organization_id": "6c1f2a9e-0b5d-4c1e-9a57-3f1b2c3d4e5f",
        "user_id": "3d6a1e7c-8b2f-4a0e-b1c9-5e4f3a2b1c0d",
        "data": copy.deepcopy(EXAMPLE_DATA[event_type]),
    }
    event.update(changes)
    return event


def _with(event_type: str, raw_field: bytes) -> bytes:
    """An otherwise valid event with `"x_field": <raw_field>` spliced in as raw JSON text."""
    return _dump({**_example(event_type), "x_field": 0}).replace(
        b'"x_field": 0', b'"x_field": ' + raw_field
    )


# One named record per family (the event ids are replaced by fresh ones before publishing).
EXPLICIT: list[FuzzRecord] = [
    FuzzRecord("deep_nesting", "payment.received", b"[" * 10_000, expect="not_json"),
    FuzzRecord(
        "deep_nesting", "payment.received", b"[" * 10_000 + b"]" * 10_000, expect="not_json"
    ),
    FuzzRecord(
        "deep_nesting",
        "mail.failed",
        _with("mail.failed", b"[" * 10_000 + b"]" * 10_000),
        expect="not_json",
    ),
    FuzzRecord(
        "huge_number", "peppol.failed", _with("peppol.failed", b"9" * 5000), expect="not_json"
    ),
    FuzzRecord(
        "huge_number",
        "peppol.failed",
        _dump(_example("peppol.failed")).replace(b'"version": 1', b'"version": ' + b"9" * 5000),
        expect="not_json",
    ),
    FuzzRecord(
        "huge_string",
        "inbox.received",
        _dump(
            _example(
                "inbox.received", data={**EXAMPLE_DATA["inbox.received"], "subject": "x" * ONE_MB}
            )
        ),
        expect="validation_error",
    ),
    FuzzRecord(
        "huge_string",
        "inbox.received",
        _with("inbox.received", json.dumps("y" * ONE_MB).encode()),
        expect="event",
    ),
    FuzzRecord(
        "invalid_utf8",
        "offer.signed",
        _dump(_example("offer.signed")).replace(b"Horta", b"Ho\xffrta"),
        expect="not_json",
    ),
    FuzzRecord(
        "non_finite",
        "reminder.created",
        _dump(_example("reminder.created")).replace(
            b'"reminder_level": 2', b'"reminder_level": NaN'
        ),
        expect="validation_error",
    ),
    FuzzRecord(
        "non_finite", "reminder.created", _with("reminder.created", b"Infinity"), expect="event"
    ),
    FuzzRecord(
        "duplicate_keys",
        "subscription.invoiced",
        b'{"version": 2, ' + _dump(_example("subscription.invoiced"))[1:],
        expect="event",
    ),
    FuzzRecord(
        "duplicate_keys",
        "subscription.invoiced",
        _dump(_example("subscription.invoiced"))[:-1] + b', "version": 2}',
        expect="unsupported_version",
    ),
    FuzzRecord("null", "payment.received", b"null", expect="not_an_object"),
    FuzzRecord("null", "payment.received", None, expect="empty_record"),
    FuzzRecord(
        "null",
        "payment.received",
        _dump(_example("payment.received", data=None)),
        expect="validation_error",
    ),
    FuzzRecord(
        "unknown_type_or_version",
        "payment.received",
        _dump(_example("payment.received", type="invoice.exploded")),
        expect="unknown_type",
    ),
    FuzzRecord(
        "unknown_type_or_version",
        "payment.received",
        _dump(_example("payment.received", version=2)),
        expect="unsupported_version",
    ),
    FuzzRecord(
        "unknown_type_or_version",
        "payment.received",
        _dump(_example("mail.failed")),
        expect="topic_mismatch",
    ),
    FuzzRecord(
        "odd_string",
        "mail.failed",
        _dump(_example("mail.failed")).replace(b"mailbox full", b"mail\\u0000box"),
        expect="event",
    ),
    FuzzRecord(
        "odd_string",
        "mail.failed",
        _dump(_example("mail.failed")).replace(b"mailbox full", b"mail\\ud800box"),
        expect="validation_error",
    ),
    FuzzRecord(  # the reason quotes the type: a lone surrogate must not break the header
        "odd_string",
        "payment.received",
        _dump(_example("payment.received", type="__TYPE__")).replace(b"__TYPE__", b"\\ud800"),
        expect="unknown_type",
    ),
    FuzzRecord(
        "truncated", "offer.signed", _dump(_example("offer.signed"))[:-1], expect="not_json"
    ),
    FuzzRecord("random_bytes", "offer.signed", b"\x00\x01\x02\xfe\xff", expect="not_json"),
    FuzzRecord(
        "wrong_type",
        "payment.received",
        _dump(_example("payment.received", event_id=12)),
        expect="validation_error",
    ),
    FuzzRecord(
        "valid_with_extras", "mail.failed", _with("mail.failed", b'{"new": [1, 2]}'), expect="event"
    ),
]
