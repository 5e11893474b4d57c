"""The SMS budget: how many phone codes may go out, per user, per number and per organisation.

Counted from `sms_send_log`, which no two-factor change deletes (turning 2FA off used to wipe
the rows the limits were read from, so a loop of "send, turn off" sent an SMS to any number each
round). The check and the log row are written in one transaction that holds advisory locks on
the user, the number and the organisation, always taken in that order: parallel requests are
counted one after the other, so exactly the cap gets through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from prometheus_client import Counter

from services.auth.platform.config import AuthSettings
from services.auth.platform.sql import Connection
from services.auth.two_factor import sms_repository
from services.auth.two_factor.errors import SmsLimitReached

SMS_REQUESTED = Counter(
    "auth_sms_requested_total", "Phone confirmation codes queued for sending by SMS."
)
SMS_REFUSED = Counter(
    "auth_sms_refused_total",
    "Phone code requests refused by the SMS budget, by the limit that refused them.",
    ["reason"],
)

Scope = Literal["user", "number", "organization"]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
KEEP_LOG = timedelta(days=2)
"""How long housekeeping keeps the send log: the longest window (a day) with a margin."""


@dataclass(frozen=True)
class SmsLimit:
    scope: Scope
    window: timedelta
    cap: int

    @property
    def reason(self) -> str:
        """`number_hourly`, `organization_daily`, … (the metric label and the problem's
        `limit`)."""
        return f"{self.scope}_{'hourly' if self.window == HOUR else 'daily'}"


@dataclass(frozen=True)
class SmsBudget:
    cooldown: timedelta
    limits: tuple[SmsLimit, ...]

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> SmsBudget:
        return cls(
            cooldown=timedelta(seconds=auth.sms_resend_cooldown_seconds),
            limits=(
                SmsLimit("user", HOUR, auth.sms_hourly_cap_per_user),
                SmsLimit("user", DAY, auth.sms_daily_cap_per_user),
                SmsLimit("number", HOUR, auth.sms_hourly_cap_per_number),
                SmsLimit("number", DAY, auth.sms_daily_cap_per_number),
                SmsLimit("organization", HOUR, auth.sms_hourly_cap_per_organization),
                SmsLimit("organization", DAY, auth.sms_daily_cap_per_organization),
            ),
        )

    async def spend(
        self,
        conn: Connection,
        *,
        user_id: UUID,
        organization_id: UUID,
        phone_number: str,
        now: datetime,
    ) -> None:
        """Log one SMS in the caller's transaction, or raise SmsLimitReached (with the wait)
        when the cooldown or a cap refuses it. The locks last until the transaction ends."""
        await sms_repository.lock_sms_budget(conn, user_id, phone_number, organization_id)
        last = await sms_repository.last_sms_sent(conn, user_id)
        if last is not None and now - last < self.cooldown:
            raise SmsLimitReached("cooldown", (last + self.cooldown - now).total_seconds())
        keys: dict[Scope, UUID | str] = {
            "user": user_id,
            "number": phone_number,
            "organization": organization_id,
        }
        for limit in self.limits:
            count, frees_at = await sms_repository.sms_sent_since(
                conn, limit.scope, keys[limit.scope], now - limit.window, limit.cap
            )
            if count >= limit.cap and frees_at is not None:
                wait = frees_at + limit.window - now
                raise SmsLimitReached(limit.reason, wait.total_seconds())
        await sms_repository.log_sms(
            conn,
            user_id=user_id,
            organization_id=organization_id,
            phone_number=phone_number,
            now=now,
        )
