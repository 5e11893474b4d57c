"""Periodic clean-up so the auth tables stay small: published outbox rows, ended sessions (with
their refresh tokens), idle throttle counters, expired device tokens, old audit rows, superseded
signing keys, expired two-factor codes and the SMS send log past its two days."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from services.auth.login import repository as login_repository
from services.auth.platform import repository as platform_repository
from services.auth.platform.sql import Connection
from services.auth.sessions import repository as sessions_repository
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor import sms_repository
from services.auth.two_factor.sms_budget import KEEP_LOG
from shared.clock import Clock
from shared.db import UnitOfWork, classify_database_error
from shared.logging import get_logger

log = get_logger(__name__)

TWO_FACTOR_CODES = timedelta(days=1)
SMS_SEND_LOG = KEEP_LOG


@dataclass(frozen=True)
class Retention:
    published_outbox: timedelta
    ended_sessions: timedelta
    throttle_counters: timedelta
    audit: timedelta
    signing_keys: timedelta
    """How long after being superseded a signing key is still published."""


async def clean_up(uow: UnitOfWork, clock: Clock, retention: Retention) -> dict[str, int]:
    """Delete what no rule needs any more, in one transaction; returns rows affected per
    table."""
    now = clock.now()

    async def purge(conn: Connection) -> dict[str, int]:
        counts = await platform_repository.purge(
            conn,
            now,
            {
                "outbox": now - retention.published_outbox,
                "sessions": now - retention.ended_sessions,
                "login_throttle": now - retention.throttle_counters,
                "audit_log": now - retention.audit,
            },
        )
        counts["signing_keys_wiped"] = await sessions_repository.wipe_superseded_private_keys(
            conn, now
        )
        counts["signing_keys"] = await sessions_repository.delete_unpublished_keys(
            conn, now - retention.signing_keys
        )
        counts["device_tokens"] = await login_repository.purge_device_tokens(conn, now)
        counts["two_factor_codes"] = await two_factor_repository.purge(conn, now - TWO_FACTOR_CODES)
        # The SMS send log outlives every budget window (a day) before it goes.
        counts["sms_send_log"] = await sms_repository.purge_sms_send_log(conn, now - SMS_SEND_LOG)
        return counts

    return await uow.run(purge)


async def run_housekeeping(
    uow: UnitOfWork, clock: Clock, retention: Retention, every: timedelta
) -> None:
    """Background task: clean up every `every` until cancelled."""
    while True:
        try:
            counts = await clean_up(uow, clock, retention)
            if any(counts.values()):
                log.info("housekeeping_done", **counts)
        except Exception as exc:
            if classify_database_error(exc) is None:
                raise
            log.warning("housekeeping_failed", error_class=type(exc).__name__)
        await asyncio.sleep(every.total_seconds())
