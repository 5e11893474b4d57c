"""The invariants of the soak, as pure functions over what the run recorded.

They take plain data (no database, no broker, no clock) so that `tests/chaos` can feed them a
missing notification, a duplicate, a 5xx outside a fault window or a growing RSS and see them
fail: a checker that cannot fail proves nothing about the services.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.notifier.ingest.committer import consumer_lag

MIB = 1024 * 1024


@dataclass(frozen=True)
class Check:
    """One row of the final table: what was measured, against what, and whether it held."""

    name: str
    figure: str
    threshold: str
    ok: bool
    values: dict[str, float | int | str | None] = field(default_factory=dict)


# --- delivery: every published event, exactly its recipients, exactly once -------------------


@dataclass(frozen=True)
class DeliveryFigures:
    events: int
    expected: int
    stored: int
    missing: int
    duplicates: int
    unexpected: int
    missing_examples: tuple[tuple[int, int], ...] = ()
    unexpected_examples: tuple[tuple[int, int], ...] = ()

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and self.unexpected == 0


def check_delivery(
    expected: Mapping[int, Collection[int]], stored: Iterable[tuple[int, int]]
) -> DeliveryFigures:
    """Compare what should exist with what the database holds.

    `expected` maps the sequence number of every good event the broker acknowledged to the
    indexes of the users it must reach; `stored` yields one `(event sequence, user index)` per
    notification row of this run's events (bad records, unknown sequences included: a row for
    them is "unexpected"). A pair seen twice is a duplicate (the unique key should make that
    impossible — which is why it is checked).
    """
    actual: dict[int, list[int]] = {}
    rows = 0
    for sequence, user in stored:
        actual.setdefault(sequence, []).append(user)
        rows += 1
    missing = duplicates = unexpected = total = 0
    missing_examples: list[tuple[int, int]] = []
    unexpected_examples: list[tuple[int, int]] = []
    for sequence, recipients in expected.items():
        wanted = set(recipients)
        total += len(wanted)
        got = actual.pop(sequence, [])
        got_set = set(got)
        duplicates += len(got) - len(got_set)
        lost = wanted - got_set
        extra = got_set - wanted
        missing += len(lost)
        unexpected += len(extra)
        missing_examples.extend((sequence, u) for u in sorted(lost)[: 5 - len(missing_examples)])
        unexpected_examples.extend(
            (sequence, u) for u in sorted(extra)[: 5 - len(unexpected_examples)]
        )
    for sequence, users in actual.items():  # rows for events that were never good and acked
        unexpected += len(users)
        unexpected_examples.extend((sequence, u) for u in users[: 5 - len(unexpected_examples)])
    return DeliveryFigures(
        events=len(expected),
        expected=total,
        stored=rows,
        missing=missing,
        duplicates=duplicates,
        unexpected=unexpected,
        missing_examples=tuple(missing_examples[:5]),
        unexpected_examples=tuple(unexpected_examples[:5]),
    )


# --- dead letters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRecord:
    """A record the generator made invalid on purpose, where the broker acknowledged it."""

    sequence: int
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic: whose bad record it carries (None when its value is
    none of ours) and the original position its headers name."""

    sequence: int | None
    topic: str | None
    partition: int | None
    offset: int | None


@dataclass(frozen=True)
class DeadLetterFigures:
    bad: int
    found: int
    missing: int
    wrong_headers: int
    unexpected: int
    repeated: int

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.wrong_headers == 0 and self.unexpected == 0


def check_dead_letters(
    bad: Sequence[BadRecord], letters: Iterable[DeadLetter]
) -> DeadLetterFigures:
    """Every bad record must be in the dead-letter topic with headers naming the topic,
    partition and offset the broker acknowledged. A record dead-lettered twice (a crash between
    the dead letter and the offset commit, documented) is counted, not failed; a dead letter that
    is not one of our bad records (a good event refused) fails."""
    by_sequence: dict[int, list[DeadLetter]] = {}
    unexpected = 0
    bad_sequences = {b.sequence for b in bad}
    for letter in letters:
        if letter.sequence is None or letter.sequence not in bad_sequences:
            unexpected += 1
        else:
            by_sequence.setdefault(letter.sequence, []).append(letter)
    found = missing = wrong = repeated = 0
    for record in bad:
        copies = by_sequence.get(record.sequence, [])
        if not copies:
            missing += 1
            continue
        found += 1
        repeated += len(copies) - 1
        where = (record.topic, record.partition, record.offset)
        if not any((c.topic, c.partition, c.offset) == where for c in copies):
            wrong += 1
    return DeadLetterFigures(len(bad), found, missing, wrong, unexpected, repeated)


# --- HTTP errors against fault windows --------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A fault from its first action to the moment the system was back (services ready),
    and which HTTP targets it may legitimately break."""

    name: str
    targets: frozenset[str]
    start: float
    end: float


@dataclass(frozen=True)
class HttpFailure:
    """A request that got a 5xx or no answer at all (status 0): when it ran, against what."""

    target: str
    route: str
    status: int
    started: float
    ended: float
    # For no answer: the client's exception (a connect error, a read timeout, a pool timeout…).
    error: str = ""


@dataclass(frozen=True)
class HttpFigures:
    inside: int
    outside: int
    outside_examples: tuple[HttpFailure, ...]
    by_window: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outside == 0


def check_http_failures(
    failures: Iterable[HttpFailure], windows: Sequence[Window], grace: float
) -> HttpFigures:
    """A failure is excused when the request overlapped a window (extended by `grace` seconds
    after its end: clients reconnect, pools refill) of a fault that affects its target."""
    inside = outside = 0
    examples: list[HttpFailure] = []
    by_window: dict[str, int] = {}
    for failure in failures:
        excused_by = next(
            (
                w
                for w in windows
                if failure.target in w.targets
                and failure.started <= w.end + grace
                and failure.ended >= w.start
            ),
            None,
        )
        if excused_by is not None:
            inside += 1
            key = f"{excused_by.name}: {failure.target} {failure.route} {failure.status}"
            by_window[key] = by_window.get(key, 0) + 1
        else:
            outside += 1
            if len(examples) < 5:
                examples.append(failure)
    return HttpFigures(inside, outside, tuple(examples), by_window)


# --- memory: flat over the last half -----------------------------------------------------------


@dataclass(frozen=True)
class RssFigures:
    samples: int
    start_mb: float
    growth_mb: float
    peak_mb: float
    limit_mb: float

    @property
    def growth_percent(self) -> float:
        return 100 * self.growth_mb / self.start_mb if self.start_mb else 0.0

    @property
    def ok(self) -> bool:
        return self.samples >= 3 and self.growth_mb < self.limit_mb


def check_rss(
    samples: Sequence[tuple[float, int]],
    *,
    since: float,
    until: float,
    min_limit_mb: float = 20.0,
    relative_limit: float = 0.10,
) -> RssFigures:
    """Least-squares line through the RSS samples of [since, until]; its rise over the window
    is the growth. A leak shows as a steady slope, which one fit sees through the noise of
    single samples (a GC cycle, a burst's buffers). The limit is the larger of `min_limit_mb`
    and `relative_limit` of the fitted start: small processes get an absolute allowance, large
    ones a relative one. Fewer than three samples cannot show a trend and fail."""
    window = [(t, rss / MIB) for t, rss in samples if since <= t <= until]
    if len(window) < 3:
        peak = max((rss / MIB for _, rss in samples), default=0.0)
        return RssFigures(len(window), 0.0, 0.0, peak, min_limit_mb)
    times = [t for t, _ in window]
    values = [v for _, v in window]
    if max(times) == min(times):
        slope, intercept = 0.0, statistics.fmean(values)
    else:
        slope, intercept = statistics.linear_regression(times, values)
    start = intercept + slope * times[0]
    growth = slope * (times[-1] - times[0])
    limit = max(min_limit_mb, relative_limit * start)
    return RssFigures(len(window), start, growth, max(values), limit)


# --- consumer lag --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LagSample:
    """Committed offset and high-water mark per partition at one moment (None: not measured,
    e.g. the broker was paused)."""

    at: float
    committed: Mapping[str, int] | None
    high_water: Mapping[str, int] | None

    @property
    def total(self) -> int | None:
        if self.committed is None or self.high_water is None:
            return None
        # The notifier's own arithmetic (its gauges and `clochette lag` use it too).
        return sum(consumer_lag(hw, self.committed.get(p)) for p, hw in self.high_water.items())


def lag_recovery(
    samples: Sequence[LagSample], *, since: float, backlog: Mapping[str, int], allowance: int
) -> float | None:
    """Seconds from `since` (the end of the last fault) to the first sample where the backlog
    is gone: every partition committed at least its high-water mark of `since`, and the lag
    left is at most `allowance` records (what steady traffic keeps in flight, a second's worth).
    None when that never happened."""
    for sample in samples:
        if sample.at < since or sample.committed is None or sample.total is None:
            continue
        covered = all(sample.committed.get(p, 0) >= hw for p, hw in backlog.items())
        if covered and sample.total <= allowance:
            return sample.at - since
    return None
