"""The security audit trail: one structured log line and one `audit_log` row per event.

Callers pass only identifiers and fixed facts; there is no parameter through which a password,
hash, code or token could travel, and `details` values are checked to be plain scalars.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal
from uuid import UUID

import structlog
from prometheus_client import Counter

from services.auth.domain import ClientInfo, User
from services.auth.platform.repository import AuditEntry, insert_audit
from services.auth.platform.sql import Connection
from shared.logging import get_logger

log = get_logger("clochette.audit")

SECURITY_EVENTS = Counter(
    "auth_security_events_total",
    "Security events recorded in the audit trail (logins, throttling, token reuse, …).",
    ["event"],
)

AuditEvent = Literal[
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "logout",
    "session_ended",
    "refresh_token_reused",
    "password_changed",
    "password_change_refused",
    "language_changed",
    "user_created",
    "user_deactivated",
    "phone_code_sent",
    "phone_code_refused",
    "phone_confirmed",
    "two_factor_enabled",
    "two_factor_disabled",
    "two_factor_password_refused",
    "two_factor_code_failed",
    "two_factor_code_replayed",
    "two_factor_suspicious_codes",
    "two_factor_throttled",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "passkey_added",
    "passkey_removed",
    "passkey_refused",
    "passkey_clone_suspected",
]

_WARNING_EVENTS: Final = frozenset(
    {
        "login_throttled",
        "refresh_token_reused",
        "two_factor_code_replayed",
        "two_factor_suspicious_codes",
        "two_factor_throttled",
        "passkey_clone_suspected",
    }
)
Scalar = str | int | float | bool | None


def _request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


async def record(
    conn: Connection,
    event: AuditEvent,
    now: datetime,
    *,
    user: User | None = None,
    email: str | None = None,
    user_id: UUID | None = None,
    organization_id: UUID | None = None,
    client: ClientInfo | None = None,
    **details: Scalar,
) -> None:
    """Write the audit row (in the caller's transaction) and the matching log line."""
    for key, value in details.items():
        if not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a scalar")
    entry = AuditEntry(
        occurred_at=now,
        event=event,
        user_id=user.id if user else user_id,
        organization_id=user.organization_id if user else organization_id,
        email=user.email if user else email,
        client_address=client.address if client else None,
        user_agent=client.user_agent[:512] if client and client.user_agent else None,
        request_id=_request_id(),
        details=dict(details),
    )
    await insert_audit(conn, entry)
    SECURITY_EVENTS.labels(event=event).inc()
    level = log.warning if event in _WARNING_EVENTS else log.info
    level(
        "audit",
        audit_event=event,
        user_id=str(entry.user_id) if entry.user_id else None,
        organization_id=str(entry.organization_id) if entry.organization_id else None,
        email=entry.email,
        client_address=entry.client_address,
        **details,
    )
