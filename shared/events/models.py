"""The event envelope and the seven platform payloads of the contract (section 6).

Producers key records by `organization_id`; `type` equals the topic name. Unknown fields are
ignored so producers can add fields without breaking consumers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Email = Annotated[
    str, StringConstraints(max_length=320, pattern=re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Money(_Strict):
    """An amount as a decimal string (never a float) with its ISO 4217 currency."""

    amount: Annotated[str, StringConstraints(pattern=r"^\d{1,15}(\.\d{1,4})?$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class ReminderCreated(_Strict):
    """An automatic payment reminder was created for an invoice."""

    topic: ClassVar[str] = "reminder.created"
    invoice_id: NonEmpty
    invoice_number: NonEmpty
    customer_name: Name
    reminder_level: Annotated[int, Field(ge=1, le=3)]
    due_date: date
    amount_due: Money


class SubscriptionInvoiced(_Strict):
    """An invoice was created from a subscription."""

    topic: ClassVar[str] = "subscription.invoiced"
    subscription_id: NonEmpty
    subscription_name: Name
    invoice_id: NonEmpty
    invoice_number: NonEmpty
    customer_name: Name
    total: Money


class PaymentReceived(_Strict):
    """A payment arrived for an invoice: in full, in part, or a second time."""

    topic: ClassVar[str] = "payment.received"
    invoice_id: NonEmpty
    invoice_number: NonEmpty
    customer_name: Name
    amount: Money
    status: Literal["full", "partial", "double"]


class PeppolFailed(_Strict):
    """Sending a document through Peppol failed."""

    topic: ClassVar[str] = "peppol.failed"
    document_id: NonEmpty
    document_number: NonEmpty
    document_type: Literal["invoice", "credit_note"]
    recipient_name: Name
    reason: Text


class OfferSigned(_Strict):
    """A customer signed an offer online."""

    topic: ClassVar[str] = "offer.signed"
    offer_id: NonEmpty
    offer_number: NonEmpty
    customer_name: Name
    signed_by: Name
    signed_at: AwareDatetime


class InboxReceived(_Strict):
    """A message arrived in the Peppol or e-mail inbox, e.g. a supplier's purchase invoice."""

    topic: ClassVar[str] = "inbox.received"
    message_id: NonEmpty
    channel: Literal["peppol", "email"]
    sender: Name
    subject: Text


class MailFailed(_Strict):
    """An e-mail could not be delivered; the document fields are set when it carried one."""

    topic: ClassVar[str] = "mail.failed"
    recipient_email: Email
    reason: Text
    document_id: NonEmpty | None = None
    document_number: NonEmpty | None = None


PLATFORM_PAYLOADS: tuple[type[_Strict], ...] = (
    ReminderCreated,
    SubscriptionInvoiced,
    PaymentReceived,
    PeppolFailed,
    OfferSigned,
    InboxReceived,
    MailFailed,
)


class Envelope(_Strict):
    """The fields every event carries around its `data`."""

    event_id: UUID
    type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    version: Annotated[int, Field(ge=1)]
    occurred_at: AwareDatetime
    organization_id: UUID
    user_id: UUID | None = None
    data: dict[str, Any]
