"""One valid example payload per platform topic, for tests, benchmarks and documentation."""

from __future__ import annotations

from typing import Any

MONEY = {"amount": "1234.56", "currency": "EUR"}

EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "reminder.created": {
        "invoice_id": "inv-1",
        "invoice_number": "2026-0001",
        "customer_name": "Brasserie Cantillon",
        "reminder_level": 2,
        "due_date": "2026-11-01",
        "amount_due": MONEY,
    },
    "subscription.invoiced": {
        "subscription_id": "sub-1",
        "subscription_name": "Onderhoud",
        "invoice_id": "inv-2",
        "invoice_number": "2026-0002",
        "customer_name": "Atelier Horta",
        "total": MONEY,
    },
    "payment.received": {
        "invoice_id": "inv-3",
        "invoice_number": "2026-0003",
        "customer_name": "Brasserie Cantillon",
        "amount": MONEY,
        "status": "partial",
    },
    "peppol.failed": {
        "document_id": "doc-1",
        "document_number": "CN-2026-0004",
        "document_type": "credit_note",
        "recipient_name": "Atelier Horta",
        "reason": "receiver not registered in the Peppol directory",
    },
    "offer.signed": {
        "offer_id": "off-1",
        "offer_number": "O-2026-0005",
        "customer_name": "Atelier Horta",
        "signed_by": "Victor Horta",
        "signed_at": "2026-11-27T16:02:00+01:00",
    },
    "inbox.received": {
        "message_id": "msg-1",
        "channel": "peppol",
        "sender": "Proximus NV",
        "subject": "Factuur 2026/118",
    },
    "mail.failed": {"recipient_email": "boekhouding@example.be", "reason": "mailbox full"},
}
