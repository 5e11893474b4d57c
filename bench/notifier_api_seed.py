"""The population of the bell API benchmark, written straight into the notifier's tables.

1,000 users (by default), each with 1,000 notifications of all seven platform types and a few
security ones, spread over 60 days, with parameters like the real events'
(shared/events/examples.py: other invoices, customers, amounts and currencies, reminder levels,
payment statuses…). Older items are mostly read, recent ones mostly unread, some unread ones
already seen. Each recipient row's counters (unread per category, unseen, version, newest
arrival) are computed from exactly the rows written, so every CHECK of the schema holds.

Rows go in with COPY, as a seed should: the ingest path is measured by bench_ingest.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from services.notifier.categories import category_of
from shared.db import Connection, RawJson, create_pool

DAYS: Final = 60
# 45 % Dutch, 35 % French, 10 % English, 10 % German, interleaved
LANGUAGES: Final = (
    *("nl", "fr", "nl", "fr", "en", "nl", "fr", "de", "nl", "fr"),
    *("nl", "fr", "en", "nl", "fr", "de", "nl", "nl", "fr", "nl"),
)

NOTIFICATION_COLUMNS: Final = (
    "id",
    "user_id",
    "event_id",
    "type",
    "category",
    "params",
    "created_at",
    "read_at",
    "seen_at",
)
RECIPIENT_COLUMNS: Final = (
    "user_id",
    "organization_id",
    "language",
    "unread_count",
    "unread_action",
    "unread_info",
    "unread_security",
    "unseen_count",
    "version",
    "latest_created_at",
)

CUSTOMERS: Final = (
    "Brasserie Cantillon",
    "Atelier Horta",
    "Bakkerij Peeters",
    "Garage Janssens",
    "Café 't Brugske",
    "Boulangerie Dupont SPRL",
    "Schreinerei Müller",
    "Proximus NV",
)
CURRENCIES: Final = ("EUR",) * 18 + ("USD", "GBP")
REASONS: Final = (
    "receiver not registered in the Peppol directory",
    "document rejected: invalid VAT number",
    "access point timeout",
)


@dataclass(frozen=True)
class SeededUser:
    user_id: uuid.UUID
    language: str


def _money(r: random.Random) -> dict[str, str]:
    cents = int(r.lognormvariate(10.5, 1.2))
    return {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": r.choice(CURRENCIES)}


def _invoice(r: random.Random) -> dict[str, Any]:
    n = r.randrange(1, 9999)
    return {
        "invoice_id": f"inv-{r.getrandbits(40):x}",
        "invoice_number": f"2026-{n:04d}",
        "customer_name": r.choice(CUSTOMERS),
    }


def _reminder(r: random.Random, created: datetime) -> dict[str, Any]:
    due = (created - timedelta(days=r.randrange(14, 90))).date()
    level = r.choice((1, 1, 1, 2, 2, 3))
    return {
        **_invoice(r),
        "reminder_level": level,
        "due_date": due.isoformat(),
        "amount_due": _money(r),
    }


def _subscription(r: random.Random, _created: datetime) -> dict[str, Any]:
    name = r.choice(("Onderhoud", "Maintenance", "Hosting", "Wartung", "Support"))
    return {
        **_invoice(r),
        "subscription_id": f"sub-{r.getrandbits(32):x}",
        "subscription_name": name,
        "total": _money(r),
    }


def _payment(r: random.Random, _created: datetime) -> dict[str, Any]:
    status = r.choices(("full", "partial", "double"), weights=(80, 17, 3))[0]
    return {**_invoice(r), "amount": _money(r), "status": status}


def _peppol(r: random.Random, _created: datetime) -> dict[str, Any]:
    kind = r.choice(("invoice", "invoice", "credit_note"))
    return {
        "document_id": f"doc-{r.getrandbits(40):x}",
        "document_number": f"{'CN' if kind == 'credit_note' else 'F'}-2026-{r.randrange(9999):04d}",
        "document_type": kind,
        "recipient_name": r.choice(CUSTOMERS),
        "reason": r.choice(REASONS),
    }


def _offer(r: random.Random, created: datetime) -> dict[str, Any]:
    signed = (created - timedelta(minutes=r.randrange(1, 600))).astimezone(UTC)
    return {
        "offer_id": f"off-{r.getrandbits(40):x}",
        "offer_number": f"O-2026-{r.randrange(9999):04d}",
        "customer_name": r.choice(CUSTOMERS),
        "signed_by": r.choice(("Victor Horta", "Anna Peeters", "Jean Dupont", "Eva Müller")),
        "signed_at": signed.isoformat(timespec="seconds"),
    }


def _inbox(r: random.Random, _created: datetime) -> dict[str, Any]:
    return {
        "message_id": f"msg-{r.getrandbits(40):x}",
        "channel": r.choice(("peppol", "peppol", "email")),
        "sender": r.choice(CUSTOMERS),
        "subject": f"Factuur 2026/{r.randrange(999)}",
    }


def _mail(r: random.Random, _created: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {
        "recipient_email": f"boekhouding{r.randrange(99)}@example.be",
        "reason": r.choice(("mailbox full", "address does not exist", "rejected as spam")),
    }
    if r.random() < 0.7:
        params["document_id"] = f"doc-{r.getrandbits(40):x}"
        params["document_number"] = f"2026-{r.randrange(9999):04d}"
    return params


def _security(r: random.Random, _created: datetime) -> tuple[str, dict[str, Any]]:
    kind = r.choice(
        (
            "security.password_changed",
            "security.two_factor_enabled",
            "security.suspicious_codes",
            "security.recovery_code_used",
        )
    )
    if kind == "security.suspicious_codes":
        return kind, {"failed_attempts": r.randrange(1, 12)}
    if kind == "security.recovery_code_used":
        return kind, {"remaining": r.randrange(0, 10)}
    return kind, {}


PLATFORM: Final[dict[str, tuple[int, Callable[[random.Random, datetime], dict[str, Any]]]]] = {
    # type: (weight, params)
    "subscription.invoiced": (25, _subscription),
    "payment.received": (25, _payment),
    "inbox.received": (15, _inbox),
    "reminder.created": (12, _reminder),
    "offer.signed": (8, _offer),
    "mail.failed": (8, _mail),
    "peppol.failed": (6, _peppol),
}
SECURITY_SHARE: Final = 0.01


def user_rows(
    r: random.Random, user_id: uuid.UUID, items: int, now: datetime
) -> tuple[list[tuple[Any, ...]], Counter[str], datetime]:
    """One user's notification rows, their counters and the newest arrival."""
    kinds = list(PLATFORM)
    weights = [PLATFORM[kind][0] for kind in kinds]
    rows: list[tuple[Any, ...]] = []
    counts: Counter[str] = Counter()
    newest = now - timedelta(days=DAYS)
    for _ in range(items):
        age = timedelta(seconds=r.uniform(60, DAYS * 86_400))
        created = now - age
        newest = max(newest, created)
        if r.random() < SECURITY_SHARE:
            kind, params = _security(r, created)
        else:
            kind = r.choices(kinds, weights)[0]
            params = PLATFORM[kind][1](r, created)
        recent = age < timedelta(days=2)
        read_at = seen_at = None
        if r.random() < (0.4 if recent else 0.95):
            read_at = seen_at = created + timedelta(minutes=r.uniform(1, 60))
            counts["version"] += 1
        elif not recent or r.random() < 0.5:
            seen_at = created + timedelta(minutes=r.uniform(1, 60))
        category = category_of(kind, params)
        if read_at is None:
            counts["unread"] += 1
            counts[category.value] += 1
            counts["unseen"] += seen_at is None
        rows.append(
            (
                uuid.UUID(int=r.getrandbits(128), version=4),
                user_id,
                uuid.UUID(int=r.getrandbits(128), version=4),
                kind,
                category.value,
                RawJson(json.dumps(params)),
                created,
                read_at,
                seen_at,
            )
        )
    counts["version"] += items
    return rows, counts, newest


def population(users: int, seed: int = 7) -> list[SeededUser]:
    r = random.Random(seed)  # noqa: S311 - a reproducible population, no secret
    return [
        SeededUser(uuid.UUID(int=r.getrandbits(128), version=4), LANGUAGES[i % len(LANGUAGES)])
        for i in range(users)
    ]


async def seed(
    database_url: str, people: list[SeededUser], items_per_user: int, *, chunk: int = 50
) -> None:
    """Every user's recipient row and notifications (COPY, `chunk` users per COPY), then
    VACUUM ANALYZE as autovacuum would have done on a table in steady state."""
    pool = await create_pool(database_url, max_size=1, search_path="notifier")
    now = datetime.now(UTC)
    org = uuid.uuid4()
    try:
        async with pool.acquire() as conn:
            for start in range(0, len(people), chunk):
                await _copy_chunk(conn, people[start : start + chunk], items_per_user, now, org)
            await conn.execute("VACUUM ANALYZE recipients")
            await conn.execute("VACUUM ANALYZE notifications")
    finally:
        await pool.close()


async def _copy_chunk(
    conn: Connection,
    people: list[SeededUser],
    items_per_user: int,
    now: datetime,
    org: uuid.UUID,
) -> None:
    recipients: list[tuple[Any, ...]] = []

    def notifications() -> Iterator[tuple[Any, ...]]:
        for person in people:
            r = random.Random(person.user_id.int)  # noqa: S311 - reproducible rows
            rows, counts, newest = user_rows(r, person.user_id, items_per_user, now)
            recipients.append(
                (
                    person.user_id,
                    org,
                    person.language,
                    counts["unread"],
                    counts["action"],
                    counts["info"],
                    counts["security"],
                    counts["unseen"],
                    counts["version"],
                    newest,
                )
            )
            yield from rows

    rows = list(notifications())  # fills `recipients`, whose rows must exist first
    async with conn.transaction():
        await conn.copy_records_to_table(
            "recipients", records=recipients, columns=list(RECIPIENT_COLUMNS)
        )
        await conn.copy_records_to_table(
            "notifications", records=rows, columns=list(NOTIFICATION_COLUMNS)
        )
