"""Event contracts shared by producers and consumers (contract section 6)."""

from shared.events.models import (
    PLATFORM_PAYLOADS,
    Envelope,
    InboxReceived,
    MailFailed,
    Money,
    OfferSigned,
    PaymentReceived,
    PeppolFailed,
    ReminderCreated,
    SubscriptionInvoiced,
)
from shared.events.registry import (
    Event,
    EventRegistry,
    InvalidEvent,
    platform_registry,
    user_events_registry,
)

__all__ = [
    "PLATFORM_PAYLOADS",
    "Envelope",
    "Event",
    "EventRegistry",
    "InboxReceived",
    "InvalidEvent",
    "MailFailed",
    "Money",
    "OfferSigned",
    "PaymentReceived",
    "PeppolFailed",
    "ReminderCreated",
    "SubscriptionInvoiced",
    "platform_registry",
    "user_events_registry",
]
