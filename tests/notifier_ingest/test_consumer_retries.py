"""Retry policy of the consumer with fakes for the broker: a dead letter the broker refuses is
retried (never dropped, never skipped) while the group membership is kept alive by polling with
paused partitions; a batch that went stale (rebalance) stops retrying."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aiokafka.errors import KafkaConnectionError

from services.notifier.ingest.batch import BadRecord
from services.notifier.ingest.dead_letter import DeadLetterPublisher
from services.notifier.ingest.pipeline import Pipeline
from services.notifier.ingest.session import KafkaSession, Records, keepalive
from shared.clock import ManualClock
from tests.notifier_ingest.helpers import settings_for


class FlakyDeadLetters:
    """Refuses the first `failures` attempts, like a broker that is briefly unreachable."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.delivered: list[BadRecord] = []

    async def publish(self, records: Sequence[BadRecord]) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise KafkaConnectionError("broker unreachable")
        self.delivered.extend(records)


class PausedPoller:
    """Just enough of AIOKafkaConsumer for the keep-alive poll."""

    def __init__(self, on_poll: Any = None) -> None:
        self.polls = 0
        self.paused: set[Any] = set()
        self.paused_during_poll: list[bool] = []
        self._on_poll = on_poll

    def assignment(self) -> set[str]:
        return {"tp0", "tp1"}

    def pause(self, *partitions: Any) -> None:
        self.paused |= set(partitions)

    def resume(self, *partitions: Any) -> None:
        self.paused -= set(partitions)

    async def getmany(self, *partitions: Any, timeout_ms: int = 0, **_: Any) -> dict[Any, Any]:
        self.polls += 1
        self.paused_during_poll.append(self.paused == self.assignment())
        if self._on_poll is not None:
            self._on_poll()
        return {}


BAD = [BadRecord("p.mail.failed", 0, 7, b"k", b"oops", 0, "not_json", "no")]


class PollingSession:
    """The session as the pipeline sees it: the keep-alive is the real one, on the fake poller."""

    def __init__(self, poller: PausedPoller) -> None:
        self.consumer = poller
        self.stopping = False

    async def keepalive(self, seconds: float) -> Records:
        return await keepalive(self.consumer, seconds)


def pipeline_with(dead_letters: FlakyDeadLetters, poller: PausedPoller) -> Pipeline:
    """A pipeline whose parts that do not take part in dead-lettering are never called."""
    unused: Any = None
    return Pipeline(
        cast(KafkaSession, PollingSession(poller)),
        parser=unused,
        dead_letters=cast(DeadLetterPublisher, dead_letters),
        store=unused,
        committer=unused,
        settings=settings_for("p."),
        clock=ManualClock(),
    )


async def test_a_refused_dead_letter_is_retried_while_staying_in_the_group() -> None:
    dead_letters, poller = FlakyDeadLetters(failures=3), PausedPoller()
    pipeline = pipeline_with(dead_letters, poller)
    assert await pipeline.dead_letter(BAD, epoch=0)
    assert dead_letters.attempts == 4
    assert dead_letters.delivered == BAD
    assert poller.polls == 3, "one keep-alive poll per back-off"
    assert all(poller.paused_during_poll), "no new records are fetched while retrying"
    assert not poller.paused, "partitions are resumed afterwards"


async def test_a_batch_that_went_stale_stops_retrying_its_dead_letters() -> None:
    dead_letters = FlakyDeadLetters(failures=100)
    holder: dict[str, Pipeline] = {}

    def rebalance() -> None:
        holder["p"].new_epoch()

    poller = PausedPoller(on_poll=rebalance)
    pipeline = pipeline_with(dead_letters, poller)
    holder["p"] = pipeline
    assert not await pipeline.dead_letter(BAD, epoch=0)
    assert dead_letters.attempts == 1
    assert dead_letters.delivered == []
