"""The fault schedule and its execution.

The schedule is a list of fractions of the run, so a 2-minute run goes through the same faults
as a 10-minute one, compressed. Every fault ends early enough (by ~62 % of the run) for the
lag to recover and for the last half to show whether memory is flat. Each fault is recorded as
a window from its first action to the moment the system was back — the services answering
/health/ready again — with the HTTP targets it may legitimately break.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos.invariants import Window
from chaos.stack import Stack
from chaos.traffic import NotifierTargets

ALL_TARGETS = frozenset({"auth", "notifier-a", "notifier-b"})


@dataclass(frozen=True)
class PlannedFault:
    fraction: float
    name: str
    what: str


SCHEDULE: tuple[PlannedFault, ...] = (
    PlannedFault(0.08, "second_notifier", "start notifier B in the same consumer group"),
    PlannedFault(0.20, "kill_notifier", "SIGKILL notifier A, start it again"),
    PlannedFault(0.30, "second_notifier_stop", "SIGTERM notifier B (leaves the group)"),
    PlannedFault(0.42, "restart_postgres", "PostgreSQL fast shutdown, 5 s down, start again"),
    PlannedFault(0.56, "pause_broker", "SIGSTOP the broker, SIGCONT after the pause"),
)

BURSTS: tuple[float, ...] = (0.14, 0.35, 0.50, 0.70, 0.88)


def broker_pause_seconds(duration: float) -> float:
    """20 s in a 10-minute run (longer than the notifier's 10 s session timeout, so the group
    really loses its members), never under 10 s."""
    return max(10.0, min(20.0, duration * 0.035))


@dataclass
class FaultRecord:
    name: str
    what: str
    planned_at: float
    window: Window | None = None
    error: str | None = None
    details: dict[str, float] = field(default_factory=dict)
    backlog: dict[str, int] = field(default_factory=dict)


async def run_faults(
    stack: Stack,
    *,
    started: float,
    duration: float,
    targets: NotifierTargets,
    high_water: Callable[[], dict[str, int]],
    records: list[FaultRecord],
) -> None:
    """Run the schedule against `stack`; every outcome (also a failure) lands in `records`."""
    for planned in SCHEDULE:
        record = FaultRecord(planned.name, planned.what, planned.fraction * duration)
        records.append(record)
        await asyncio.sleep(max(0.0, started + record.planned_at - time.monotonic()))
        begin = time.monotonic()
        try:
            affected, end = await _execute(stack, planned.name, duration, targets, record)
        except Exception as error:  # recorded, reported as a failed fault
            record.error = f"{type(error).__name__}: {error}"
            affected, end = ALL_TARGETS, time.monotonic()
        record.window = Window(planned.name, affected, begin, end)
        record.backlog = dict(high_water())


async def _execute(
    stack: Stack, name: str, duration: float, targets: NotifierTargets, record: FaultRecord
) -> tuple[frozenset[str], float]:
    begin = time.monotonic()
    if name == "second_notifier":
        await asyncio.to_thread(stack.notifier_b.start)
        ready = await asyncio.to_thread(stack.notifier_b.wait_ready)
        targets.serving.add("notifier-b")
        record.details["ready_after_s"] = ready - begin
        return frozenset({"notifier-b"}), ready
    if name == "kill_notifier":
        await asyncio.to_thread(stack.notifier_a.kill)
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.notifier_a.start)
        ready = await asyncio.to_thread(stack.notifier_a.wait_ready)
        record.details["ready_after_s"] = ready - begin
        return frozenset({"notifier-a"}), ready
    if name == "second_notifier_stop":
        targets.serving.discard("notifier-b")
        await asyncio.sleep(1)  # requests already sent to B finish
        await asyncio.to_thread(stack.notifier_b.stop)
        record.details["stopped_after_s"] = time.monotonic() - begin
        return frozenset({"notifier-b"}), time.monotonic()
    if name == "restart_postgres":
        await asyncio.to_thread(stack.restart_postgres, 5.0)
        record.details["postgres_back_after_s"] = time.monotonic() - begin
        auth_ready = await asyncio.to_thread(stack.auth.wait_ready)
        notifier_ready = await asyncio.to_thread(stack.notifier_a.wait_ready)
        end = max(auth_ready, notifier_ready)
        record.details["ready_after_s"] = end - begin
        return ALL_TARGETS, end
    if name == "pause_broker":
        pause = broker_pause_seconds(duration)
        stack.pause_broker()
        try:
            await asyncio.sleep(pause)
        finally:
            stack.resume_broker()
        end = time.monotonic()
        record.details["paused_s"] = end - begin
        ready = await asyncio.to_thread(stack.notifier_a.wait_ready)
        record.details["notifier_ready_after_resume_s"] = ready - end
        # The HTTP APIs do not need the broker: no request may fail because of this fault.
        return frozenset(), end
    raise ValueError(f"unknown fault {name}")
