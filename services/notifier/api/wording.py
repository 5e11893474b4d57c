"""The wording of each notification type (the gettext messages the catalogs translate)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from services.notifier.api.formatting import (
    Language,
    Links,
    Params,
    RenderedNotification,
    Unrenderable,
)

Render = Callable[[Language, Params, Links], RenderedNotification]


def _reminder_created(t: Language, p: Params, links: Links) -> RenderedNotification:
    level = p.integer("reminder_level")
    if level == 1:
        title = t.gettext("First reminder for invoice {invoice_number}")
    elif level == 2:
        title = t.gettext("Second reminder for invoice {invoice_number}")
    elif level == 3:
        title = t.gettext("Formal notice for invoice {invoice_number}")
    else:
        raise Unrenderable("reminder_level")
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


def _subscription_invoiced(t: Language, p: Params, links: Links) -> RenderedNotification:
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


def _payment_received(t: Language, p: Params, links: Links) -> RenderedNotification:
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
        raise Unrenderable("status")
    return RenderedNotification(
        title.format(invoice_number=p.text("invoice_number")),
        body.format(customer_name=p.text("customer_name"), amount=t.money(p.money("amount"))),
        links.to("invoices", p.text("invoice_id")),
    )


def _peppol_failed(t: Language, p: Params, links: Links) -> RenderedNotification:
    document_type = p.text("document_type")
    if document_type == "invoice":
        title = t.gettext("Invoice {document_number} not delivered via Peppol")
        section = "invoices"
    elif document_type == "credit_note":
        title = t.gettext("Credit note {document_number} not delivered via Peppol")
        section = "credit-notes"
    else:
        raise Unrenderable("document_type")
    body = t.gettext("Sending to {recipient_name} failed: {reason}")
    return RenderedNotification(
        title.format(document_number=p.text("document_number")),
        body.format(recipient_name=p.text("recipient_name"), reason=p.text("reason")),
        links.to(section, p.text("document_id")),
    )


def _offer_signed(t: Language, p: Params, links: Links) -> RenderedNotification:
    title = t.gettext("{customer_name} signed offer {offer_number}")
    body = t.gettext("Signed by {signed_by} on {date} at {time}.")
    day, time = t.day_and_time(p.moment("signed_at"))
    return RenderedNotification(
        title.format(customer_name=p.text("customer_name"), offer_number=p.text("offer_number")),
        body.format(signed_by=p.text("signed_by"), date=day, time=time),
        links.to("offers", p.text("offer_id")),
    )


def _inbox_received(t: Language, p: Params, links: Links) -> RenderedNotification:
    channel = p.text("channel")
    if channel == "peppol":
        title = t.gettext("New document in your Peppol inbox")
    elif channel == "email":
        title = t.gettext("New e-mail in your inbox")
    else:
        raise Unrenderable("channel")
    body = t.gettext("From {sender}: {subject}")
    return RenderedNotification(
        title,
        body.format(sender=p.text("sender"), subject=p.text("subject")),
        links.to("inbox", p.text("message_id")),
    )


def _mail_failed(t: Language, p: Params, links: Links) -> RenderedNotification:
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


def _password_changed(t: Language, _p: Params, links: Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Your password was changed"),
        t.gettext(
            "Your other sessions were signed out. If this was not you, contact your "
            "administrator at once."
        ),
        links.to("settings", "security"),
    )


def _two_factor_enabled(t: Language, _p: Params, links: Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Two-factor authentication turned on"),
        t.gettext("From now on, signing in also asks for a code from your authenticator app."),
        links.to("settings", "security"),
    )


def _two_factor_disabled(t: Language, _p: Params, links: Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("Two-factor authentication turned off"),
        t.gettext(
            "Signing in now only asks for your password. If this was not you, contact your "
            "administrator at once."
        ),
        links.to("settings", "security"),
    )


def _suspicious_codes(t: Language, p: Params, links: Links) -> RenderedNotification:
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


def _recovery_codes_regenerated(t: Language, _p: Params, links: Links) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("New recovery codes created"),
        t.gettext(
            "Your previous recovery codes no longer work. If this was not you, contact your "
            "administrator at once."
        ),
        links.to("settings", "security"),
    )


def _recovery_code_used(t: Language, p: Params, links: Links) -> RenderedNotification:
    remaining = p.integer("remaining")
    left = t.ngettext(
        "You have {count} unused recovery code left.",
        "You have {count} unused recovery codes left.",
        remaining,
    ).format(count=t.number(remaining))
    advice = t.gettext("If this was not you, change your password and contact your administrator.")
    return RenderedNotification(
        t.gettext("A recovery code was used to sign in"),
        f"{left} {advice}",
        links.to("settings", "security"),
    )


def _device(t: Language, device: Params) -> str:
    """The device in the reader's language, from its parts (the producer's label is English)."""
    browser, os = device.optional_text("browser"), device.optional_text("os")
    if browser is not None and os is not None:
        return t.gettext("{browser} on {os}").format(browser=browser, os=os)
    return browser or os or t.gettext("an unknown device")


def _new_sign_in(t: Language, p: Params, links: Links) -> RenderedNotification:
    day, time = t.day_and_time(p.moment("signed_in_at"))
    when = t.gettext("Signed in on {date} at {time} from {device}.").format(
        device=_device(t, p.section("device")), date=day, time=time
    )
    advice = t.gettext(
        "If this was not you, end that session on the security page and change your password."
    )
    return RenderedNotification(
        t.gettext("New sign-in to your account"),
        f"{when} {advice}",
        links.to("settings", "security"),
    )


def generic(t: Language) -> RenderedNotification:
    return RenderedNotification(
        t.gettext("New notification"), t.gettext("You have a new notification."), None
    )


RENDERERS: Final[Mapping[str, Render]] = {
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
    "security.recovery_codes_regenerated": _recovery_codes_regenerated,
    "security.recovery_code_used": _recovery_code_used,
    "security.new_sign_in": _new_sign_in,
}
