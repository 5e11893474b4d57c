"""The soak's invariant checkers on hand-made records: each one must notice the fault it exists
for (a lost notification, a duplicate, a 5xx outside a window, a leak, a lag that never
recovers), and must not invent one. No stack, no broker: they are pure functions."""

from __future__ import annotations

import uuid

import pytest

from chaos.bell_check import COUNTERS, BellCounts
from chaos.invariants import (
    BadRecord,
    DeadLetter,
    HttpFailure,
    LagSample,
    Window,
    check_dead_letters,
    check_delivery,
    check_http_failures,
    check_rss,
    lag_recovery,
)
from chaos.traffic import BROADCAST, GOOD, NOT_JSON, Ledger

MB = 1024 * 1024
EXPECTED = {1: [10], 2: [10, 11, 12], 3: [11]}
EXACT = [(1, 10), (2, 10), (2, 11), (2, 12), (3, 11)]


def test_exact_delivery_passes() -> None:
    figures = check_delivery(EXPECTED, EXACT)
    assert figures.ok
    assert (figures.events, figures.expected, figures.stored) == (3, 5, 5)


def test_a_missing_notification_is_loss() -> None:
    figures = check_delivery(EXPECTED, [r for r in EXACT if r != (2, 11)])
    assert not figures.ok
    assert figures.missing == 1
    assert figures.missing_examples == ((2, 11),)


def test_the_same_notification_twice_is_a_duplicate() -> None:
    figures = check_delivery(EXPECTED, [*EXACT, (3, 11)])
    assert not figures.ok
    assert figures.duplicates == 1


def test_a_notification_for_the_wrong_user_or_an_unpublished_event_is_unexpected() -> None:
    wrong_user = check_delivery(EXPECTED, [*EXACT[:-1], (3, 12)])
    assert (wrong_user.missing, wrong_user.unexpected) == (1, 1)
    bad_record = check_delivery(EXPECTED, [*EXACT, (99, 10)])
    assert not bad_record.ok
    assert bad_record.unexpected == 1


BAD = [BadRecord(7, "payment.received", 1, 40), BadRecord(8, "mail.failed", 0, 3)]


def test_every_bad_record_dead_lettered_with_its_position_passes() -> None:
    letters = [DeadLetter(7, "payment.received", 1, 40), DeadLetter(8, "mail.failed", 0, 3)]
    assert check_dead_letters(BAD, letters).ok


def test_a_bad_record_missing_from_the_dead_letters_fails() -> None:
    figures = check_dead_letters(BAD, [DeadLetter(7, "payment.received", 1, 40)])
    assert not figures.ok
    assert figures.missing == 1


def test_wrong_headers_and_foreign_dead_letters_fail_but_repeats_do_not() -> None:
    wrong = check_dead_letters(
        BAD, [DeadLetter(7, "payment.received", 2, 40), DeadLetter(8, "mail.failed", 0, 3)]
    )
    assert wrong.wrong_headers == 1
    assert not wrong.ok
    foreign = check_dead_letters(
        BAD,
        [
            DeadLetter(7, "payment.received", 1, 40),
            DeadLetter(8, "mail.failed", 0, 3),
            DeadLetter(None, "offer.signed", 0, 1),
        ],
    )
    assert foreign.unexpected == 1
    assert not foreign.ok
    repeated = check_dead_letters(
        BAD,
        [
            DeadLetter(7, "payment.received", 1, 40),
            DeadLetter(7, "payment.received", 1, 40),
            DeadLetter(8, "mail.failed", 0, 3),
        ],
    )
    assert repeated.ok
    assert repeated.repeated == 1


WINDOWS = [Window("restart_postgres", frozenset({"auth", "notifier-a"}), 100.0, 110.0)]


def test_a_5xx_inside_a_window_of_its_target_is_excused() -> None:
    inside = HttpFailure("auth", "login", 500, 105.0, 105.2)
    just_after = HttpFailure("notifier-a", "unread-count", 0, 113.0, 113.5)
    figures = check_http_failures([inside, just_after], WINDOWS, grace=5)
    assert figures.ok
    assert figures.inside == 2
    assert figures.by_window == {
        "restart_postgres: auth login 500": 1,
        "restart_postgres: notifier-a unread-count 0": 1,
    }


def test_a_5xx_outside_the_windows_or_on_another_target_fails() -> None:
    later = HttpFailure("auth", "login", 500, 120.0, 120.1)
    other_target = HttpFailure("notifier-b", "list", 503, 105.0, 105.1)
    figures = check_http_failures([later, other_target], WINDOWS, grace=5)
    assert not figures.ok
    assert figures.outside == 2
    assert figures.outside_examples == (later, other_target)


def test_a_request_started_before_the_window_and_failing_in_it_is_excused() -> None:
    straddling = HttpFailure("auth", "me", 0, 95.0, 101.0)
    assert check_http_failures([straddling], WINDOWS, grace=0).ok


def test_flat_memory_with_noise_passes() -> None:
    samples = [(float(t), (150 + (3 if t % 2 else -3)) * MB) for t in range(0, 300, 3)]
    figures = check_rss(samples, since=150, until=300)
    assert figures.ok
    assert abs(figures.growth_mb) < 1


def test_a_steady_leak_fails() -> None:
    samples = [(float(t), int((150 + 0.2 * t) * MB)) for t in range(0, 300, 3)]
    figures = check_rss(samples, since=150, until=300)
    assert not figures.ok
    assert figures.growth_mb == pytest.approx(0.2 * 147, rel=0.01)


def test_a_large_process_gets_a_relative_allowance() -> None:
    samples = [(float(t), int((500 + 0.1 * t) * MB)) for t in range(150, 300, 3)]
    figures = check_rss(samples, since=150, until=300)
    assert figures.limit_mb == pytest.approx(51.5, rel=0.01)
    assert figures.ok  # +15 MB on ~500 MB


def test_too_few_samples_cannot_show_flat_memory() -> None:
    assert not check_rss([(200.0, 100 * MB)], since=150, until=300).ok


def lag(at: float, committed: int, high_water: int) -> LagSample:
    return LagSample(at, {"t:0": committed}, {"t:0": high_water})


def test_lag_recovery_is_the_first_sample_past_the_backlog() -> None:
    samples = [
        lag(99, 100, 500),
        LagSample(101, None, None),  # broker still waking up
        lag(104, 300, 900),
        lag(110, 880, 1000),
        lag(115, 1200, 1210),
    ]
    assert lag_recovery(samples, since=100, backlog={"t:0": 500}, allowance=200) == 10


def test_lag_that_never_recovers_is_none() -> None:
    samples = [lag(101, 100, 500), lag(130, 200, 5000)]
    assert lag_recovery(samples, since=100, backlog={"t:0": 500}, allowance=200) is None


def test_every_counter_equal_to_its_list_or_not() -> None:
    good = BellCounts("a", dict.fromkeys(COUNTERS, (3, 3, 3, 3)))
    drifted = BellCounts("b", {**good.counters, "unseen": (2, 3, 3, 2)})
    assert good.consistent
    assert not drifted.consistent
    assert drifted.disagreements() == {"unseen": (2, 3, 3, 2)}


def test_ledger_event_ids_round_trip_and_expected_recipients() -> None:
    ledger = Ledger(bytes(range(8)))
    direct = ledger.add(GOOD, 0, 0, 5)
    broadcast = ledger.add(GOOD, 1, 1, BROADCAST)
    bad = ledger.add(NOT_JSON, 2, 0, 5)
    unacked = ledger.add(GOOD, 0, 0, 6)
    for sequence, offset in ((direct, 0), (broadcast, 0), (bad, 1)):
        ledger.acknowledge(sequence, 0, offset)
    assert ledger.sequence_of(ledger.event_id(broadcast)) == broadcast
    assert ledger.event_id(broadcast).version == 4
    assert ledger.sequence_of(uuid.uuid4()) is None
    members = [[5, 6], [7, 8, 9]]
    assert ledger.expected(members) == {direct: [5], broadcast: [7, 8, 9]}
    assert unacked not in ledger.expected(members)
    assert [b.sequence for b in ledger.bad_records()] == [bad]
    assert ledger.sequence_in_dead_letter(b'{"chaos_bad": %d, "trunc' % bad) == bad
    assert ledger.sequence_in_dead_letter(b"something else") is None
