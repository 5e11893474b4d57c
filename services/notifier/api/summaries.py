"""The summary of a group of several notifications, in the reader's language.

Whole sentences with placeholders, translated by the gettext catalogs beside wording.py's
messages (plural forms through `ngettext`); counts and amounts formatted by Babel for the
Belgian variant of each language, one total per currency when a group mixes currencies, joined
by the locale's own list pattern ("€ 10,00 en US$ 5,00"). A group of one item is not summarised:
it reads as that item (rendering.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Final

from babel.lists import format_list

from services.notifier.api.formatting import LOCALES, Language
from services.notifier.api.groups_sql import StoredGroup
from services.notifier.api.rendering import DEFAULT_LANGUAGE, DISPLAY_TIMEZONE, LOCALE_DIR
from services.notifier.categories import SECURITY_PREFIX


@dataclass(frozen=True)
class GroupFacts:
    """What a summary says: how many items, how many of them actions, the totals."""

    count: int
    action_count: int
    totals: tuple[tuple[Decimal, str], ...]


Summary = tuple[str, str]
Summarize = Callable[[Language, GroupFacts], Summary]


def _count(t: Language, group: GroupFacts) -> str:
    return t.number(group.count)


def _totals(t: Language, group: GroupFacts) -> str:
    return format_list([t.money(total) for total in group.totals], locale=t.locale)


def _details(t: Language) -> str:
    return t.gettext("Open them to see the details.")


def _subscription_invoiced(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext(
        "{count} invoice created from a subscription",
        "{count} invoices created from subscriptions",
        g.count,
    ).format(count=_count(t, g))
    if not g.totals:
        return title, _details(t)
    return title, t.gettext("{total} in total").format(total=_totals(t, g))


def _payment_received(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext("{count} payment received", "{count} payments received", g.count).format(
        count=_count(t, g)
    )
    if not g.totals:
        return title, _details(t)
    if g.action_count == 0:
        return title, t.gettext("{total} in total").format(total=_totals(t, g))
    # A payment is an action only when it is a double payment (categories.py).
    body = t.ngettext(
        "{total} in total, {count} double payment to refund",
        "{total} in total, {count} double payments to refund",
        g.action_count,
    )
    return title, body.format(total=_totals(t, g), count=t.number(g.action_count))


def _reminder_created(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext("{count} reminder sent", "{count} reminders sent", g.count).format(
        count=_count(t, g)
    )
    if not g.totals:
        return title, _details(t)
    return title, t.gettext("{total} due in total").format(total=_totals(t, g))


def _peppol_failed(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext("{count} Peppol send failed", "{count} Peppol sends failed", g.count).format(
        count=_count(t, g)
    )
    return title, t.gettext("Open them to see why and send them again.")


def _offer_signed(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext(
        "{count} offer signed online", "{count} offers signed online", g.count
    ).format(count=_count(t, g))
    return title, t.gettext("Open them to see who signed.")


def _inbox_received(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext(
        "{count} message in your inbox", "{count} messages in your inbox", g.count
    ).format(count=_count(t, g))
    return title, t.gettext("Open your inbox to read them.")


def _mail_failed(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext(
        "{count} e-mail could not be delivered",
        "{count} e-mails could not be delivered",
        g.count,
    ).format(count=_count(t, g))
    return title, t.gettext("Check the addresses and send them again.")


def _security(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext("{count} security alert", "{count} security alerts", g.count).format(
        count=_count(t, g)
    )
    return title, t.gettext("Check that it was you; if not, change your password.")


def _generic(t: Language, g: GroupFacts) -> Summary:
    title = t.ngettext("{count} new notification", "{count} new notifications", g.count).format(
        count=_count(t, g)
    )
    return title, _details(t)


SUMMARIES: Final[Mapping[str, Summarize]] = {
    "subscription.invoiced": _subscription_invoiced,
    "payment.received": _payment_received,
    "reminder.created": _reminder_created,
    "peppol.failed": _peppol_failed,
    "offer.signed": _offer_signed,
    "inbox.received": _inbox_received,
    "mail.failed": _mail_failed,
}


class GroupSummaries:
    """Title and body of a group of several items, in one of the four languages.

    A summary depends only on the language, the type, the counts and the totals, so summaries
    are memoised (LRU): Babel's formatting costs ~50-100 µs an amount, a page of 20 groups
    several milliseconds, while a reader's past days never change and their page is read again
    at every look at the bell. Nothing is stale: a changed group has another key."""

    def __init__(
        self,
        *,
        locale_dir: Path = LOCALE_DIR,
        timezone: str = DISPLAY_TIMEZONE,
        cache_size: int = 16_384,
    ) -> None:
        self._languages = {lang: Language(lang, locale_dir, timezone) for lang in LOCALES}
        self._cached = lru_cache(maxsize=cache_size)(self._summarize)

    def summarize(self, group: StoredGroup, language: str) -> Summary:
        if language not in self._languages:
            language = DEFAULT_LANGUAGE
        return self._cached(language, group.type, group.count, group.action_count, group.totals)

    def _summarize(
        self,
        language: str,
        notification_type: str,
        count: int,
        action_count: int,
        totals: tuple[tuple[Decimal, str], ...],
    ) -> Summary:
        summarize = SUMMARIES.get(notification_type)
        if summarize is None:
            is_security = notification_type.startswith(SECURITY_PREFIX)
            summarize = _security if is_security else _generic
        facts = GroupFacts(count=count, action_count=action_count, totals=totals)
        return summarize(self._languages[language], facts)
