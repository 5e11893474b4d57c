"""Title, body and deep link of a notification, rendered at read time.

Notifications store their type and the event's parameters, never text, so they always read in
the user's *current* language. Wording lives in gettext catalogs
(`locale/<lang>/LC_MESSAGES/notifier.po`, compiled to `.mo`); amounts and dates are formatted by
Babel for the Belgian variant of each language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from babel import Locale
from babel.dates import format_date, format_time, get_timezone
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from shared.logging import get_logger

log = get_logger(__name__)

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "notifier"
DEFAULT_LANGUAGE: Final = "en"
# Belgian conventions for every language: an English-reading accountant in Belgium sees the
# amounts as on the invoices (1.234,56 €), not in British style.
LOCALES: Final = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_BE", "de": "de_BE"}
DISPLAY_TIMEZONE: Final = "Europe/Brussels"


@dataclass(frozen=True)
class RenderedNotification:
    title: str
    body: str
    link: str | None


class _Unrenderable(Exception):
    """The parameters do not fit the type (missing or ill-typed field)."""


class _Params:
    """Typed access to an event's `data`; any mismatch raises _Unrenderable."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = params

    def text(self, name: str) -> str:
        value = self._params.get(name)
        if not isinstance(value, str) or not value:
            raise _Unrenderable(name)
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self._params.get(name) is not None else None

    def integer(self, name: str) -> int:
        value = self._params.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Unrenderable(name)
        return value

    def money(self, name: str) -> tuple[Decimal, str]:
        value = self._params.get(name)
        if not isinstance(value, Mapping):
            raise _Unrenderable(name)
        try:
            return Decimal(str(value["amount"])), str(value["currency"])
        except (KeyError, InvalidOperation):
            raise _Unrenderable(name) from None

    def day(self, name: str) -> date:
        try:
            return date.fromisoformat(self.text(name))
        except ValueError:
            raise _Unrenderable(name) from None

    def moment(self, name: str) -> datetime:
        try:
            value = datetime.fromisoformat(self.text(name))
        except ValueError:
            raise _Unrenderable(name) from None
        if value.tzinfo is None:
            raise _Unrenderable(name)
        return value


class _Language:
    """Translations and formatting for one language."""

    def __init__(self, language: str, locale_dir: Path, timezone: str) -> None:
        self.locale = Locale.parse(LOCALES[language])
        self.timezone = get_timezone(timezone)
        self._translations = Translations.load(str(locale_dir), [language], DOMAIN)
        self.gettext = self._translations.gettext
        self.ngettext = self._translations.ngettext

    def money(self, value: tuple[Decimal, str]) -> str:
        amount, currency = value
        return format_currency(amount, currency, locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=self.locale)

    def day_and_time(self, value: datetime) -> tuple[str, str]:
        local = value.astimezone(self.timezone)
        return format_date(local, "long", locale=self.locale), format_time(
            local, "short", locale=self.locale
        )

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)


class _Links:
    """Deep links into the web app; ids from events are path-escaped, never trusted as paths."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def to(self, *segments: str) -> str:
        return "/".join([self._base, *(quote(segment, safe="") for segment in segments)])


_Render = Callable[[_Language, _Params, _Links], RenderedNotification]


def _reminder_created(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    level = p.integer("reminder_level")
    if level == 1:
        title = t.gettext("First reminder for invoice {invoice_number}")
    elif level == 2:
        title = t.gettext("Second reminder for invoice {invoice_number}")
    elif level == 3:
        title = t.gettext("Formal notice for invoice {invoice_number}")
    else:
        raise _Unrenderable("reminder_level")
    body = t.gettext("{customer_name} still owes {amount_due}; the invoice was due on {due_date}.")
    return RenderedNotification(
        title.format(invoice_number=p.text("invoice_number")),
        body.format(
            customer_name=p.text("customer_name"),
            amount_due=t.money(p.money("amount_due")),
            due_date=t.day(p.day("due_date")),
        ),
        links.to("invoices", p.text("invoice_id")),
    )


def _subscription_invoiced(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    title = t.gettext("Subscription invoice {invoice_number} created")
    body = t.gettext("{subscription_name} for {customer_name}: {total}.")
    return RenderedNotification(
        title.format(invoice_number=p.text("invoice_number")),
        body.format(
            subscription_name=p.text("subscription_name"),
            customer_name=p.text("customer_name"),
            total=t.money(p.money("total")),
        ),
        links.to("invoices", p.text("invoice_id")),
    )


def _payment_received(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    status = p.text("status")
    if status == "full":
        title = t.gettext("Invoice {invoice_number} paid in full")
        body = t.gettext("{customer_name} paid {amount}.")
    elif status == "partial":
        title = t.gettext("Partial payment for invoice {invoice_number}")
        body = t.gettext("{customer_name} paid {amount}; the invoice is not fully paid yet.")
    elif status == "double":
        title = t.gettext("Invoice {invoice_number} paid twice")
        body = t.gettext(
            "{customer_name} paid {amount} for an invoice that was already paid. "
            "A refund may be due."
        )
    else:
        raise _Unrenderable("status")
    return RenderedNotification(
        title.format(invoice_number=p.text("invoice_number")),
        body.format(customer_name=p.text("customer_name"), amount=t.money(p.money("amount"))),
        links.to("invoices", p.text("invoice_id")),
    )


def _peppol_failed(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    document_type = p.text("document_type")
    if document_type == "invoice":
        title = t.gettext("Invoice {document_number} not delivered via Peppol")
        section = "invoices"
    elif document_type == "credit_note":
        title = t.gettext("Credit note {document_number} not delivered via Peppol")
        section = "credit-notes"
    else:
        raise _Unrenderable("document_type")
    body = t.gettext("Sending to {recipient_name} failed: {reason}")
    return RenderedNotification(
        title.format(document_number=p.text("document_number")),
        body.format(recipient_name=p.text("recipient_name"), reason=p.text("reason")),
        links.to(section, p.text("document_id")),
    )


def _offer_signed(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    title = t.gettext("{customer_name} signed offer {offer_number}")
    body = t.gettext("Signed by {signed_by} on {date} at {time}.")
    day, time = t.day_and_time(p.moment("signed_at"))
    return RenderedNotification(
        title.format(customer_name=p.text("customer_name"), offer_number=p.text("offer_number")),
        body.format(signed_by=p.text("signed_by"), date=day, time=time),
        links.to("offers", p.text("offer_id")),
    )


def _inbox_received(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    channel = p.text("channel")
    if channel == "peppol":
        title = t.gettext("New document in your Peppol inbox")
    elif channel == "email":
        title = t.gettext("New e-mail in your inbox")
    else:
        raise _Unrenderable("channel")
    body = t.gettext("From {sender}: {subject}")
    return RenderedNotification(
        title,
        body.format(sender=p.text("sender"), subject=p.text("subject")),
        links.to("inbox", p.text("message_id")),
    )


def _mail_failed(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    document_number = p.optional_text("document_number")
    document_id = p.optional_text("document_id")
    if document_number is not None:
        title = t.gettext("E-mail with {document_number} not delivered").format(
            document_number=document_number
        )
    else:
        title = t.gettext("E-mail not delivered")
    body = t.gettext("The e-mail to {recipient_email} could not be delivered: {reason}")
    return RenderedNotification(
        title,
        body.format(recipient_email=p.text("recipient_email"), reason=p.text("reason")),
        links.to("documents", document_id) if document_id is not None else None,
    )


def _password_changed(t: _Language, _p: _Params, links: _Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Your password was changed"),
        t.gettext(
            "Your other sessions were signed out. If this was not you, contact your "
            "administrator at once."
        ),
        links.to("settings", "security"),
    )


def _two_factor_enabled(t: _Language, _p: _Params, links: _Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Two-factor authentication turned on"),
        t.gettext("From now on, signing in also asks for a code from your authenticator app."),
        links.to("settings", "security"),
    )


def _two_factor_disabled(t: _Language, _p: _Params, links: _Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Two-factor authentication turned off"),
        t.gettext(
            "Signing in now only asks for your password. If this was not you, contact your "
            "administrator at once."
        ),
        links.to("settings", "security"),
    )


def _suspicious_codes(t: _Language, p: _Params, links: _Links) -> RenderedNotification:
    failed = p.integer("failed_attempts")
    attempts = t.ngettext(
        "{count} wrong verification code was entered after your correct password.",
        "{count} wrong verification codes were entered after your correct password.",
        failed,
    ).format(count=t.number(failed))
    advice = t.gettext("Someone else may know your password: change it.")
    return RenderedNotification(
        t.gettext("Suspicious sign-in attempts"),
        f"{attempts} {advice}",
        links.to("settings", "security"),
    )


def _generic(t: _Language) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("New notification"), t.gettext("You have a new notification."), None
    )


RENDERERS: Final[Mapping[str, _Render]] = {
    "reminder.created": _reminder_created,
    "subscription.invoiced": _subscription_invoiced,
    "payment.received": _payment_received,
    "peppol.failed": _peppol_failed,
    "offer.signed": _offer_signed,
    "inbox.received": _inbox_received,
    "mail.failed": _mail_failed,
    "security.password_changed": _password_changed,
    "security.two_factor_enabled": _two_factor_enabled,
    "security.two_factor_disabled": _two_factor_disabled,
    "security.suspicious_codes": _suspicious_codes,
}


class NotificationRenderer:
    """Renders (type, params, language) into what the bell shows."""

    def __init__(
        self,
        web_app_base_url: str,
        *,
        locale_dir: Path = LOCALE_DIR,
        timezone: str = DISPLAY_TIMEZONE,
    ) -> None:
        self._links = _Links(web_app_base_url)
        self._languages = {lang: _Language(lang, locale_dir, timezone) for lang in LOCALES}

    def render(
        self, notification_type: str, params: Mapping[str, Any], language: str
    ) -> RenderedNotification:
        """Never fails: an unknown type, or parameters that do not fit it, get a generic text."""
        t = self._languages.get(language) or self._languages[DEFAULT_LANGUAGE]
        render = RENDERERS.get(notification_type)
        if render is None:
            return _generic(t)
        try:
            return render(t, _Params(params), self._links)
        except _Unrenderable as exc:
            log.warning("notification_unrenderable", type=notification_type, field=str(exc))
            return _generic(t)
