"""Golden texts: every notification type in every language over many parameter values (amounts,
currencies, dates, moments across daylight saving, counts), compared with what the renderer
produced before its caches were added (`golden/rendering.json`). A cache of something that does
depend on the item, or a lost non-breaking space, shows here.

Regenerate only on a deliberate wording change:
`.venv/bin/python -m tests.notifier_api.test_rendering_golden`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from services.notifier.api.rendering import NotificationRenderer

GOLDEN = Path(__file__).parent / "golden" / "rendering.json"
BASE = "https://app.example.be/"
LANGUAGES = ("nl", "fr", "en", "de", "es")  # es: the English fallback

AMOUNTS = ("0", "0.5", "1", "-12.30", "1234.56", "1234567.891", "10", "0.004", "99999999.99")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "XYZ")
DAYS = ("2026-01-01", "2026-02-28", "2026-03-29", "2026-07-14", "2026-10-25", "2026-12-31")
MOMENTS = (
    "2026-03-29T00:59:59+00:00",  # an instant before the spring change in Brussels
    "2026-03-29T01:00:00+00:00",  # and after it
    "2026-10-25T00:30:00Z",
    "2026-10-25T01:30:00+00:00",
    "2026-11-27T16:02:00+01:00",
    "2026-11-27T16:45:59+01:00",  # same hour, another minute
    "2026-11-27T15:45:00+00:00",  # and another hour of the same day
    "2026-06-30T23:59:00-05:00",
    "2026-01-01T00:00:00.123456+14:00",
)
COUNTS = (0, 1, 2, 3, 11, 1000, 123456)
IDS = ("inv-1", "../x?y#z", "ñ/é", "a b")


def money(index: int) -> dict[str, str]:
    return {
        "amount": AMOUNTS[index % len(AMOUNTS)],
        "currency": CURRENCIES[index % len(CURRENCIES)],
    }


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, type, params), deterministic."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for i, (level, day) in enumerate(itertools.product((1, 2, 3, 4), DAYS)):
        out.append(
            (
                f"reminder-{i}",
                "reminder.created",
                {
                    "invoice_id": IDS[i % len(IDS)],
                    "invoice_number": f"F2026-{i:04d}",
                    "customer_name": "Bakkerij Peeters",
                    "reminder_level": level,
                    "due_date": day,
                    "amount_due": money(i),
                },
            )
        )
    out.extend(
        (
            f"subscription-{i}",
            "subscription.invoiced",
            {
                "subscription_id": "sub-1",
                "subscription_name": "Onderhoud",
                "invoice_id": IDS[i % len(IDS)],
                "invoice_number": f"S-{i}",
                "customer_name": "Atelier Horta",
                "total": {
                    "amount": AMOUNTS[i % len(AMOUNTS)],
                    "currency": CURRENCIES[i // len(AMOUNTS)],
                },
            },
        )
        for i in range(len(AMOUNTS) * len(CURRENCIES))
    )
    for i, status in enumerate(("full", "partial", "double", "refunded") * 5):
        out.append(
            (
                f"payment-{i}",
                "payment.received",
                {
                    "invoice_id": IDS[i % len(IDS)],
                    "invoice_number": f"P-{i}",
                    "customer_name": "Café 't Brugske",
                    "amount": money(i * 3 + 1),
                    "status": status,
                },
            )
        )
    for i, kind in enumerate(("invoice", "credit_note", "order")):
        out.append(
            (
                f"peppol-{i}",
                "peppol.failed",
                {
                    "document_id": IDS[i % len(IDS)],
                    "document_number": f"CN-{i}",
                    "document_type": kind,
                    "recipient_name": "Garage Janssens",
                    "reason": "receiver not registered",
                },
            )
        )
    for i, moment in enumerate((*MOMENTS, "2026-11-28T09:15:00", "not a moment")):
        out.append(
            (
                f"offer-{i}",
                "offer.signed",
                {
                    "offer_id": IDS[i % len(IDS)],
                    "offer_number": f"O-{i}",
                    "customer_name": "Atelier Horta",
                    "signed_by": "Victor Horta",
                    "signed_at": moment,
                },
            )
        )
    for i, channel in enumerate(("peppol", "email", "fax")):
        out.append(
            (
                f"inbox-{i}",
                "inbox.received",
                {"message_id": IDS[i], "channel": channel, "sender": "Proximus NV", "subject": "F"},
            )
        )
    mails: list[dict[str, Any]] = [
        {"recipient_email": "a@example.be", "reason": "mailbox full"},
        {"recipient_email": "a@example.be", "reason": "x", "document_number": "F-1"},
        {"recipient_email": "a@example.be", "reason": "x", "document_id": "../d"},
        {
            "recipient_email": "b@example.be",
            "reason": "y",
            "document_number": "F",
            "document_id": "d",
        },
        {"recipient_email": "", "reason": "x"},
    ]
    out += [(f"mail-{i}", "mail.failed", params) for i, params in enumerate(mails)]
    for name in (
        "security.password_changed",
        "security.two_factor_enabled",
        "security.two_factor_disabled",
        "security.recovery_codes_regenerated",
    ):
        out.append((name, name, {}))
    for count in (*COUNTS, -1, "3", True):
        out.append(
            (f"suspicious-{count!r}", "security.suspicious_codes", {"failed_attempts": count})
        )
        out.append((f"recovery-{count!r}", "security.recovery_code_used", {"remaining": count}))
    out.append(("unknown", "invoice.exploded", {"x": 1}))
    return out


def render_all() -> dict[str, list[str | None]]:
    renderer = NotificationRenderer(BASE)
    golden: dict[str, list[str | None]] = {}
    for case_id, notification_type, params in cases():
        for language in LANGUAGES:
            rendered = renderer.render(notification_type, params, language)
            golden[f"{case_id}/{language}"] = [rendered.title, rendered.body, rendered.link]
    return golden


def test_the_golden_file_covers_every_case() -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(expected) == sorted(render_all())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_the_golden_one(language: str) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    # Twice with one renderer: a cache filled by the first pass must give the same texts.
    renderer = NotificationRenderer(BASE)
    for _ in range(2):
        for case_id, notification_type, params in cases():
            rendered = renderer.render(notification_type, params, language)
            key = f"{case_id}/{language}"
            assert [rendered.title, rendered.body, rendered.link] == expected[key], key


if __name__ == "__main__":
    GOLDEN.write_text(
        json.dumps(render_all(), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
