"""GET /v1/notifications/groups (contract 5.1, "Groups") against the real app and PostgreSQL.

Rows are written straight into the bell v2 schema (category, seen_at, archived_at, mutes) with
the recipient's counters recounted from them, as the ingest of the second version keeps them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.notifier.api.groups_sql import GroupRepository
from services.notifier.categories import category_of
from services.notifier.group_keys import GroupKey
from tests.notifier_api.conftest import PAYMENT, Bell, User

PROBLEM = "application/problem+json"
NB, NNB = "\u00a0", "\u202f"  # no-break space, narrow no-break space (French thousands)
NOON = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def subscription(amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "subscription_id": "sub-1",
        "subscription_name": "Hosting",
        "invoice_id": "inv-7",
        "invoice_number": "F2026-0107",
        "customer_name": "Bakkerij Peeters",
        "total": {"amount": amount, "currency": currency},
    }


def payment(amount: str, status: str = "full", currency: str = "EUR") -> dict[str, Any]:
    return {**PAYMENT, "amount": {"amount": amount, "currency": currency}, "status": status}


def reminder(amount: str) -> dict[str, Any]:
    return {
        "invoice_id": "inv-3",
        "invoice_number": "F2026-0003",
        "customer_name": "Brasserie Dupont",
        "reminder_level": 1,
        "due_date": "2026-10-31",
        "amount_due": {"amount": amount, "currency": "EUR"},
    }


INBOX = {"message_id": "m-1", "channel": "email", "sender": "Supplier", "subject": "Invoice"}
OFFER = {
    "offer_id": "o-1",
    "offer_number": "O-12",
    "customer_name": "Garage Janssens",
    "signed_by": "An Janssens",
    "signed_at": "2026-11-20T10:00:00+00:00",
}
PEPPOL = {
    "document_id": "d-1",
    "document_number": "F2026-0009",
    "document_type": "invoice",
    "recipient_name": "ACME",
    "reason": "unknown participant",
}
MAIL = {"recipient_email": "x@example.be", "reason": "mailbox full"}


async def add(
    bell: Bell,
    user: User,
    notification_type: str,
    params: dict[str, Any],
    at: datetime,
    *,
    read: bool = False,
    archived: bool = False,
) -> uuid.UUID:
    """One bell v2 row; call `recount` once the user's rows are in."""
    notification_id = uuid.uuid4()
    await bell.pool.execute(
        """INSERT INTO notifications
               (id, user_id, event_id, type, params, created_at, category, read_at, seen_at,
                archived_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)""",
        notification_id,
        user.id,
        uuid.uuid4(),
        notification_type,
        params,
        at,
        category_of(notification_type, params).value,
        at if read else None,
        at if archived else None,
    )
    return notification_id


async def recount(bell: Bell, user: User, muted: tuple[str, ...] = ()) -> None:
    """Mutes and every counter of the recipient row, from its rows (the visibility rule)."""
    await bell.pool.execute(
        """WITH visible AS (
               SELECT n.* FROM notifications n, recipients r
               WHERE n.user_id = $1 AND r.user_id = $1 AND n.archived_at IS NULL
                 AND (n.category <> 'info' OR n.type <> ALL ($2::text[]))
           )
           UPDATE recipients SET
               muted_types = $2,
               unread_count = (SELECT count(*) FROM visible WHERE read_at IS NULL),
               unseen_count = (SELECT count(*) FROM visible WHERE seen_at IS NULL),
               unread_action = (SELECT count(*) FROM visible
                                WHERE read_at IS NULL AND category = 'action'),
               unread_info = (SELECT count(*) FROM visible
                              WHERE read_at IS NULL AND category = 'info'),
               unread_security = (SELECT count(*) FROM visible
                                  WHERE read_at IS NULL AND category = 'security'),
               latest_created_at = (SELECT max(created_at) FROM notifications WHERE user_id = $1),
               version = version + 1
           WHERE user_id = $1""",
        user.id,
        list(muted),
    )


async def groups(bell: Bell, user: User, **params: Any) -> dict[str, Any]:
    response = await bell.client.get(
        "/v1/notifications/groups", params=params, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in body["items"]}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://clochette.dev/problems/{slug}"
    assert body["status"] == status
    return body


async def test_items_fold_by_type_and_brussels_calendar_day(bell: Bell) -> None:
    user = await bell.add_user()
    moments = [
        datetime(2026, 11, 27, 22, 30, tzinfo=UTC),  # 23:30 in Brussels: the 27th
        datetime(2026, 11, 27, 23, 30, tzinfo=UTC),  # 00:30 in Brussels: already the 28th
        datetime(2026, 11, 28, 22, 59, tzinfo=UTC),  # 23:59 in Brussels: still the 28th
        # Summer time starts on 29 March 2026: a day of 23 hours, 28 Mar 23:00 to 29 Mar 22:00 UTC.
        datetime(2026, 3, 28, 22, 59, tzinfo=UTC),
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 21, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
        # Winter time on 25 October 2026: 25 hours, 24 Oct 22:00 to 25 Oct 23:00 UTC.
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 22, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
    ]
    for at in moments:
        await add(bell, user, "inbox.received", INBOX, at)
        await add(bell, user, "offer.signed", OFFER, at)
    await recount(bell, user)

    body = await groups(bell, user)

    expected = Counter(
        str(GroupKey.of(t, at)) for at in moments for t in ("inbox.received", "offer.signed")
    )
    assert {item["key"]: item["count"] for item in body["items"]} == dict(expected)
    counts = {key.split(".", 1)[0]: n for key, n in expected.items() if "inbox" in key}
    assert counts == {
        "2026-11-27": 1,
        "2026-11-28": 2,
        "2026-03-28": 1,
        "2026-03-29": 2,
        "2026-03-30": 1,
        "2026-10-25": 2,
        "2026-10-26": 1,
    }
    assert body["next_cursor"] is None


async def test_groups_are_newest_first_with_counts_that_match_the_list(bell: Bell) -> None:
    user = await bell.add_user()
    for day in range(4):
        for minute in range(day + 2):
            at = NOON - timedelta(days=day, minutes=minute * 7)
            await add(
                bell, user, "subscription.invoiced", subscription("10"), at, read=minute % 2 == 1
            )
            await add(bell, user, "inbox.received", INBOX, at - timedelta(hours=1), read=day == 1)
    await recount(bell, user)

    body = await groups(bell, user)
    listing = (await bell.client.get("/v1/notifications?limit=100", headers=user.headers)).json()

    counted: Counter[str] = Counter()
    unread: Counter[str] = Counter()
    for item in listing["items"]:
        key = str(GroupKey.of(item["type"], datetime.fromisoformat(item["created_at"])))
        counted[key] += 1
        unread[key] += item["read_at"] is None
    assert {k: g["count"] for k, g in by_key(body).items()} == dict(counted)
    assert {k: g["unread_count"] for k, g in by_key(body).items()} == dict(unread)
    assert sum(g["unread_count"] for g in body["items"]) == listing["unread_count"]
    order = [(g["key"][:10], g["latest_created_at"]) for g in body["items"]]
    assert order == sorted(order, reverse=True)
    newest = body["items"][0]
    assert newest["type"] == "subscription.invoiced"
    assert datetime.fromisoformat(newest["latest_created_at"]) == NOON


async def test_archived_and_muted_items_are_left_out_but_actions_never_muted(bell: Bell) -> None:
    user = await bell.add_user()
    await add(bell, user, "inbox.received", INBOX, NOON)  # muted type
    await add(bell, user, "payment.received", payment("100"), NOON)  # muted type, info
    await add(bell, user, "payment.received", payment("40", "double"), NOON)
    await add(bell, user, "offer.signed", OFFER, NOON, archived=True)
    await add(bell, user, "offer.signed", OFFER, NOON - timedelta(minutes=1))
    await add(bell, user, "mail.failed", MAIL, NOON, archived=True)
    await recount(bell, user, muted=("inbox.received", "payment.received"))
    other = await bell.add_user()  # someone else's mutes change nothing for the user
    await recount(bell, other, muted=("offer.signed",))

    body = by_key(await groups(bell, user))

    assert set(body) == {"2026-11-20.payment.received", "2026-11-20.offer.signed"}
    paid_twice = body["2026-11-20.payment.received"]
    assert (paid_twice["count"], paid_twice["category"]) == (1, "action")
    assert paid_twice["title"] == "Invoice F2026-0042 paid twice"  # the item itself
    assert body["2026-11-20.offer.signed"]["count"] == 1
    counted = await bell.pool.fetchval(
        "SELECT unread_count FROM recipients WHERE user_id = $1", user.id
    )
    assert sum(g["unread_count"] for g in body.values()) == counted == 2
    await recount(bell, user, muted=())  # unmuted: the items were kept
    unmuted = by_key(await groups(bell, user))
    assert unmuted["2026-11-20.inbox.received"]["count"] == 1
    assert unmuted["2026-11-20.payment.received"]["count"] == 2


async def test_a_payment_group_with_a_double_payment_is_an_action(bell: Bell) -> None:
    user = await bell.add_user()
    for minute, amount in enumerate(["100.10", "200.20", "300.30"]):
        await add(bell, user, "payment.received", payment(amount), NOON + timedelta(minutes=minute))
    await add(bell, user, "payment.received", payment("50.00", "double"), NOON)
    await recount(bell, user)

    everything = await groups(bell, user)
    actions = await groups(bell, user, category="action")
    infos = await groups(bell, user, category="info")
    security = await groups(bell, user, category="security")

    [group] = everything["items"]
    assert (group["category"], group["count"], group["unread_count"]) == ("action", 4, 4)
    assert group["title"] == "4 payments received"
    assert group["body"] == f"650,60{NB}€ in total, 1 double payment to refund"
    # A category folds only that category's items; the key stays the group's.
    [double] = actions["items"]
    assert (double["key"], double["count"], double["category"]) == (group["key"], 1, "action")
    assert double["title"] == "Invoice F2026-0042 paid twice"
    [full] = infos["items"]
    assert (full["count"], full["category"], full["title"]) == (3, "info", "3 payments received")
    assert full["body"] == f"600,60{NB}€ in total"
    assert security == {"items": [], "next_cursor": None}


async def test_pages_follow_the_cursor_without_repeating_or_skipping(bell: Bell) -> None:
    user = await bell.add_user()
    types = ["inbox.received", "offer.signed", "mail.failed", "peppol.failed"]
    for day in range(6):
        for index, notification_type in enumerate(types[: 1 + day % 4]):
            params = {"inbox.received": INBOX, "offer.signed": OFFER, "mail.failed": MAIL}.get(
                notification_type, PEPPOL
            )
            # Two types share their newest moment on some days: the type breaks the tie.
            at = NOON - timedelta(days=day, minutes=index // 2)
            await add(bell, user, notification_type, params, at)
            await add(bell, user, notification_type, params, at - timedelta(hours=2))
    await add(bell, user, "inbox.received", INBOX, NOON, archived=True)
    await recount(bell, user)
    whole = [item["key"] for item in (await groups(bell, user, limit=100))["items"]]

    for limit in (1, 2, 3, 5):
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(len(whole) + 1):
            query: dict[str, Any] = {"limit": limit}
            if cursor:
                query["cursor"] = cursor
            page = await groups(bell, user, **query)
            assert len(page["items"]) <= limit
            seen += [item["key"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole, limit
    assert len(whole) == len(set(whole)) == 1 + 2 + 3 + 4 + 1 + 2


async def test_a_page_skips_days_whose_items_are_all_archived(bell: Bell) -> None:
    user = await bell.add_user()
    await add(bell, user, "inbox.received", INBOX, NOON)
    for day in (1, 2):
        await add(bell, user, "offer.signed", OFFER, NOON - timedelta(days=day), archived=True)
    await add(bell, user, "offer.signed", OFFER, NOON - timedelta(days=3))
    await recount(bell, user)

    first = await groups(bell, user, limit=1)
    second = await groups(bell, user, limit=1, cursor=first["next_cursor"])

    assert [g["key"] for g in first["items"]] == ["2026-11-20.inbox.received"]
    assert [g["key"] for g in second["items"]] == ["2026-11-17.offer.signed"]
    assert second["next_cursor"] is None


async def test_another_users_items_and_cursors_never_reach_the_caller(bell: Bell) -> None:
    alice, bob = await bell.add_user(), await bell.add_user()
    for day in range(3):
        await add(bell, alice, "inbox.received", INBOX, NOON - timedelta(days=day))
        await add(bell, bob, "offer.signed", OFFER, NOON - timedelta(days=day))
    await recount(bell, alice)
    await recount(bell, bob)

    mine = await groups(bell, alice)
    page = await groups(bell, alice, limit=1)
    response = await bell.client.get(
        "/v1/notifications/groups", params={"cursor": page["next_cursor"]}, headers=bob.headers
    )

    assert {g["type"] for g in mine["items"]} == {"inbox.received"}
    assert sum(g["count"] for g in mine["items"]) == 3
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "cursor", "message": "not a valid cursor"}]


async def test_a_user_without_anything_gets_an_empty_page(bell: Bell) -> None:
    known, unknown = await bell.add_user(), await bell.add_user(with_recipient=False)
    assert await groups(bell, known) == {"items": [], "next_cursor": None}
    assert await groups(bell, unknown) == {"items": [], "next_cursor": None}


SUMMARIES = {
    "nl": (
        "14 facturen aangemaakt vanuit abonnementen",
        f"€{NB}8.412,50 in totaal",
        "2 betalingen ontvangen",
        f"€{NB}30,00 in totaal, 1 dubbele betaling terug te storten",
        f"€{NB}30,00 in totaal, 2 dubbele betalingen terug te storten",
    ),
    "fr": (
        "14 factures créées à partir d'abonnements",
        f"8{NNB}412,50{NB}€ au total",
        "2 paiements reçus",
        f"30,00{NB}€ au total, 1 paiement en double à rembourser",
        f"30,00{NB}€ au total, 2 paiements en double à rembourser",
    ),
    "en": (
        "14 invoices created from subscriptions",
        f"8.412,50{NB}€ in total",
        "2 payments received",
        f"30,00{NB}€ in total, 1 double payment to refund",
        f"30,00{NB}€ in total, 2 double payments to refund",
    ),
    "de": (
        "14 Rechnungen aus Abonnements erstellt",
        f"8.412,50{NB}€ insgesamt",
        "2 Zahlungen eingegangen",
        f"30,00{NB}€ insgesamt, 1 doppelte Zahlung zu erstatten",
        f"30,00{NB}€ insgesamt, 2 doppelte Zahlungen zu erstatten",
    ),
}


@pytest.mark.parametrize("language", sorted(SUMMARIES))
async def test_summaries_in_the_readers_language_with_plural_forms(
    bell: Bell, language: str
) -> None:
    user = await bell.add_user(language)
    for minute in range(14):  # 14 x 600.89 + 0.04 = 8,412.50, summed exactly
        amount = "600.93" if minute == 0 else "600.89"
        await add(
            bell,
            user,
            "subscription.invoiced",
            subscription(amount),
            NOON - timedelta(minutes=minute),
        )
    yesterday, before = NOON - timedelta(days=1), NOON - timedelta(days=2)
    await add(bell, user, "payment.received", payment("10.00"), yesterday)
    await add(bell, user, "payment.received", payment("20.00", "double"), yesterday)
    await add(bell, user, "payment.received", payment("10.00", "double"), before)
    await add(bell, user, "payment.received", payment("20.00", "double"), before)
    await recount(bell, user)

    body = by_key(await groups(bell, user))

    invoiced, total, paid, one_double, two_doubles = SUMMARIES[language]
    assert (
        body["2026-11-20.subscription.invoiced"]["title"],
        body["2026-11-20.subscription.invoiced"]["body"],
    ) == (invoiced, total)
    assert (
        body["2026-11-19.payment.received"]["title"],
        body["2026-11-19.payment.received"]["body"],
    ) == (paid, one_double)
    assert (
        body["2026-11-18.payment.received"]["title"],
        body["2026-11-18.payment.received"]["body"],
    ) == (paid, two_doubles)


async def test_the_token_language_serves_a_user_the_notifier_does_not_know_yet(
    bell: Bell,
) -> None:
    user = await bell.add_user("nl", token_lang="fr")
    await bell.pool.execute("UPDATE recipients SET provisional = true WHERE user_id = $1", user.id)
    await add(bell, user, "inbox.received", INBOX, NOON)
    await add(bell, user, "inbox.received", INBOX, NOON)
    await recount(bell, user)
    [group] = (await groups(bell, user))["items"]
    assert group["title"] == "2 messages dans votre boîte de réception"


async def test_totals_per_currency_in_one_group(bell: Bell) -> None:
    user = await bell.add_user("nl")
    for amount, currency in [("100.00", "USD"), ("1000.00", "EUR"), ("0.50", "EUR")]:
        await add(bell, user, "subscription.invoiced", subscription(amount, currency), NOON)
    await recount(bell, user)
    [group] = (await groups(bell, user))["items"]
    assert group["title"] == "3 facturen aangemaakt vanuit abonnementen"
    assert group["body"] == f"€{NB}1.000,50 en US${NB}100,00 in totaal"


async def test_amounts_are_summed_exactly(bell: Bell) -> None:
    user = await bell.add_user()
    for _ in range(10):
        await add(bell, user, "reminder.created", reminder("0.1001"), NOON)
    await recount(bell, user)
    folded = await GroupRepository(bell.pool).fold(
        user.id, category=None, after=None, after_bound=None, limit=5
    )
    [group] = folded.groups
    assert group.totals == ((Decimal("1.0010"), "EUR"),)
    assert (group.count, group.action_count, group.category) == (10, 10, "action")


@pytest.mark.parametrize(
    ("notification_type", "params", "title", "body"),
    [
        ("reminder.created", reminder("12.50"), "2 reminders sent", f"25,00{NB}€ due in total"),
        (
            "peppol.failed",
            PEPPOL,
            "2 Peppol sends failed",
            "Open them to see why and send them again.",
        ),
        ("offer.signed", OFFER, "2 offers signed online", "Open them to see who signed."),
        ("inbox.received", INBOX, "2 messages in your inbox", "Open your inbox to read them."),
        (
            "mail.failed",
            MAIL,
            "2 e-mails could not be delivered",
            "Check the addresses and send them again.",
        ),
        (
            "security.new_sign_in",
            {},
            "2 security alerts",
            "Check that it was you; if not, change your password.",
        ),
    ],
)
async def test_each_type_has_its_summary(
    bell: Bell, notification_type: str, params: dict[str, Any], title: str, body: str
) -> None:
    user = await bell.add_user()
    for minute in range(2):
        await add(bell, user, notification_type, params, NOON - timedelta(minutes=minute))
    await recount(bell, user)
    [group] = (await groups(bell, user))["items"]
    assert (group["title"], group["body"]) == (title, body)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "abc"},
        {"category": "urgent"},
        {"cursor": "garbage"},
        {"cursor": "A" * 60},
        {"cursor": "A" * 200},
    ],
)
async def test_bad_query_parameters_are_422_problems(bell: Bell, query: dict[str, str]) -> None:
    user = await bell.add_user()
    response = await bell.client.get("/v1/notifications/groups", params=query, headers=user.headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"]


async def test_a_list_cursor_is_not_a_group_cursor(bell: Bell) -> None:
    user = await bell.add_user()
    for minute in range(2):
        await add(bell, user, "inbox.received", INBOX, NOON - timedelta(minutes=minute))
    await recount(bell, user)
    listing = (await bell.client.get("/v1/notifications?limit=1", headers=user.headers)).json()
    response = await bell.client.get(
        "/v1/notifications/groups", params={"cursor": listing["next_cursor"]}, headers=user.headers
    )
    assert_problem(response, 422, "validation-error")


async def test_the_route_needs_a_token_and_is_documented(bell: Bell) -> None:
    response = await bell.client.get("/v1/notifications/groups")
    assert_problem(response, 401, "unauthenticated")
    document = (await bell.client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/v1/notifications/groups"]["get"]
    assert operation["security"] == [{"BearerToken": []}]
    assert operation["summary"] == "My notifications folded by type and day, with a summary"
    assert "Europe/Brussels" in operation["description"]
    assert {"401", "422"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"limit", "cursor", "category"}


async def test_a_language_change_changes_the_summaries_at_once(bell: Bell) -> None:
    user = await bell.add_user("de")
    for minute in range(3):
        await add(bell, user, "offer.signed", OFFER, NOON - timedelta(minutes=minute))
    await recount(bell, user)
    before = (await groups(bell, user))["items"][0]["title"]
    await bell.pool.execute("UPDATE recipients SET language = 'nl' WHERE user_id = $1", user.id)
    after = (await groups(bell, user))["items"][0]["title"]
    assert (before, after) == (
        "3 Angebote online unterschrieben",
        "3 offertes online ondertekend",
    )
