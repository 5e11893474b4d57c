"""Categories of the bell's items and which types a user may mute (contract 5.1).

`action` items ask the user to do something (a reminder went out, a Peppol send or an e-mail
failed, a customer paid twice), `security` items come from the auth service, everything else is
`info`. The category is decided once, when the notification is stored, and kept in its row.

A mute hides a type's `info` items only: it never hides an `action` or a `security` item. A type
is mutable when it can produce `info` items at all, so `payment.received` is mutable (full and
partial payments go quiet) while a double payment, an action, still shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final


class Category(StrEnum):
    ACTION = "action"
    INFO = "info"
    SECURITY = "security"


CATEGORIES: Final = tuple(Category)

# Types whose every item is an action.
_ALWAYS_ACTION: Final = frozenset({"reminder.created", "peppol.failed", "mail.failed"})
SECURITY_PREFIX: Final = "security."

PLATFORM_TYPES: Final = (
    "reminder.created",
    "subscription.invoiced",
    "payment.received",
    "peppol.failed",
    "offer.signed",
    "inbox.received",
    "mail.failed",
)
SECURITY_TYPES: Final = (
    "security.password_changed",
    "security.two_factor_enabled",
    "security.two_factor_disabled",
    "security.suspicious_codes",
    "security.recovery_codes_regenerated",
    "security.recovery_code_used",
    "security.new_sign_in",
)
ALL_TYPES: Final = PLATFORM_TYPES + SECURITY_TYPES


def category_of(notification_type: str, params: Mapping[str, Any]) -> Category:
    """The category of one item, from its type (and, for a payment, its status)."""
    if notification_type in _ALWAYS_ACTION:
        return Category.ACTION
    if notification_type == "payment.received" and params.get("status") == "double":
        return Category.ACTION
    if notification_type.startswith(SECURITY_PREFIX):
        return Category.SECURITY
    return Category.INFO


def is_mutable(notification_type: str) -> bool:
    """Whether muting the type can hide anything: it has `info` items."""
    return notification_type in ALL_TYPES and not (
        notification_type in _ALWAYS_ACTION or notification_type.startswith(SECURITY_PREFIX)
    )


MUTABLE_TYPES: Final = tuple(t for t in ALL_TYPES if is_mutable(t))
