"""Every notification type in every language, worded for a Belgian accountant, with amounts and
dates as Babel formats them for nl-BE, fr-BE, en-BE and de-BE; and catalogs that are complete and
compiled."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from services.notifier.api.formatting import RenderedNotification
from services.notifier.api.rendering import LOCALE_DIR, NotificationRenderer

BASE = "https://app.example.be"
RENDERER = NotificationRenderer(BASE + "/")
NB, NNB = "\u00a0", "\u202f"  # no-break space, narrow no-break space (French thousands)

AMOUNT = {"amount": "1234.56", "currency": "EUR"}
EURO = {
    "nl": f"€{NB}1.234,56",
    "fr": f"1{NNB}234,56{NB}€",
    "en": f"1.234,56{NB}€",
    "de": f"1.234,56{NB}€",
}


def reminder(level: int) -> dict[str, Any]:
    return {
        "invoice_id": "inv-1",
        "invoice_number": "F2026-0042",
        "customer_name": "Bakkerij Peeters",
        "reminder_level": level,
        "due_date": "2026-10-31",
        "amount_due": AMOUNT,
    }


def payment(status: str) -> dict[str, Any]:
    return {
        "invoice_id": "inv-1",
        "invoice_number": "F2026-0042",
        "customer_name": "Bakkerij Peeters",
        "amount": AMOUNT,
        "status": status,
    }


def peppol(document_type: str) -> dict[str, Any]:
    return {
        "document_id": "doc-5",
        "document_number": "2026/0005",
        "document_type": document_type,
        "recipient_name": "Garage Janssens",
        "reason": "Recipient not registered on the Peppol network",
    }


def inbox(channel: str) -> dict[str, Any]:
    return {
        "message_id": "msg-3",
        "channel": channel,
        "sender": "Proximus NV",
        "subject": "Factuur 2026-11",
    }


REMINDER_BODY = {
    "nl": f"Bakkerij Peeters moet nog {EURO['nl']} betalen; de vervaldag was 31 oktober 2026.",
    "fr": f"Bakkerij Peeters doit encore {EURO['fr']}{NB}; l'échéance était le 31 octobre 2026.",
    "en": f"Bakkerij Peeters still owes {EURO['en']}; the invoice was due on 31 October 2026.",
    "de": f"Bakkerij Peeters schuldet noch {EURO['de']}; "
    "die Rechnung war am 31. Oktober 2026 fällig.",
}
SECURITY = f"{BASE}/settings/security"

# (type, params, link, {language: (title, body)})
CASES: dict[str, tuple[str, dict[str, Any], str | None, dict[str, tuple[str, str]]]] = {
    "reminder-1": (
        "reminder.created",
        reminder(1),
        f"{BASE}/invoices/inv-1",
        {
            "nl": ("Eerste herinnering voor factuur F2026-0042", REMINDER_BODY["nl"]),
            "fr": ("Premier rappel pour la facture F2026-0042", REMINDER_BODY["fr"]),
            "en": ("First reminder for invoice F2026-0042", REMINDER_BODY["en"]),
            "de": ("Erste Zahlungserinnerung für Rechnung F2026-0042", REMINDER_BODY["de"]),
        },
    ),
    "reminder-2": (
        "reminder.created",
        reminder(2),
        f"{BASE}/invoices/inv-1",
        {
            "nl": ("Tweede herinnering voor factuur F2026-0042", REMINDER_BODY["nl"]),
            "fr": ("Deuxième rappel pour la facture F2026-0042", REMINDER_BODY["fr"]),
            "en": ("Second reminder for invoice F2026-0042", REMINDER_BODY["en"]),
            "de": ("Zweite Zahlungserinnerung für Rechnung F2026-0042", REMINDER_BODY["de"]),
        },
    ),
    "reminder-3": (
        "reminder.created",
        reminder(3),
        f"{BASE}/invoices/inv-1",
        {
            "nl": ("Ingebrekestelling voor factuur F2026-0042", REMINDER_BODY["nl"]),
            "fr": ("Mise en demeure pour la facture F2026-0042", REMINDER_BODY["fr"]),
            "en": ("Formal notice for invoice F2026-0042", REMINDER_BODY["en"]),
            "de": ("Inverzugsetzung für Rechnung F2026-0042", REMINDER_BODY["de"]),
        },
    ),
    "subscription": (
        "subscription.invoiced",
        {
            "subscription_id": "sub-9",
            "subscription_name": "Onderhoud website",
            "invoice_id": "inv-2",
            "invoice_number": "F2026-0043",
            "customer_name": "Bakkerij Peeters",
            "total": {"amount": "121", "currency": "EUR"},
        },
        f"{BASE}/invoices/inv-2",
        {
            "nl": (
                "Abonnementsfactuur F2026-0043 aangemaakt",
                f"Onderhoud website voor Bakkerij Peeters: €{NB}121,00.",
            ),
            "fr": (
                "Facture d'abonnement F2026-0043 créée",
                f"Onderhoud website pour Bakkerij Peeters{NB}: 121,00{NB}€.",
            ),
            "en": (
                "Subscription invoice F2026-0043 created",
                f"Onderhoud website for Bakkerij Peeters: 121,00{NB}€.",
            ),
            "de": (
                "Abonnementrechnung F2026-0043 erstellt",
                f"Onderhoud website für Bakkerij Peeters: 121,00{NB}€.",
            ),
        },
    ),
    "payment-full": (
        "payment.received",
        payment("full"),
        f"{BASE}/invoices/inv-1",
        {
            "nl": (
                "Factuur F2026-0042 volledig betaald",
                f"Bakkerij Peeters heeft {EURO['nl']} betaald.",
            ),
            "fr": (
                "Facture F2026-0042 entièrement payée",
                f"Bakkerij Peeters a payé {EURO['fr']}.",
            ),
            "en": ("Invoice F2026-0042 paid in full", f"Bakkerij Peeters paid {EURO['en']}."),
            "de": (
                "Rechnung F2026-0042 vollständig bezahlt",
                f"Bakkerij Peeters hat {EURO['de']} bezahlt.",
            ),
        },
    ),
    "payment-partial": (
        "payment.received",
        payment("partial"),
        f"{BASE}/invoices/inv-1",
        {
            "nl": (
                "Gedeeltelijke betaling voor factuur F2026-0042",
                f"Bakkerij Peeters heeft {EURO['nl']} betaald; "
                "de factuur is nog niet volledig betaald.",
            ),
            "fr": (
                "Paiement partiel de la facture F2026-0042",
                f"Bakkerij Peeters a payé {EURO['fr']}{NB}; "
                "la facture n'est pas encore entièrement réglée.",
            ),
            "en": (
                "Partial payment for invoice F2026-0042",
                f"Bakkerij Peeters paid {EURO['en']}; the invoice is not fully paid yet.",
            ),
            "de": (
                "Teilzahlung für Rechnung F2026-0042",
                f"Bakkerij Peeters hat {EURO['de']} bezahlt; "
                "die Rechnung ist noch nicht vollständig beglichen.",
            ),
        },
    ),
    "payment-double": (
        "payment.received",
        payment("double"),
        f"{BASE}/invoices/inv-1",
        {
            "nl": (
                "Factuur F2026-0042 dubbel betaald",
                f"Bakkerij Peeters heeft {EURO['nl']} betaald voor een factuur die al betaald "
                "was. Mogelijk moet u dit bedrag terugstorten.",
            ),
            "fr": (
                "Facture F2026-0042 payée deux fois",
                f"Bakkerij Peeters a payé {EURO['fr']} pour une facture déjà réglée. "
                "Un remboursement est peut-être dû.",
            ),
            "en": (
                "Invoice F2026-0042 paid twice",
                f"Bakkerij Peeters paid {EURO['en']} for an invoice that was already paid. "
                "A refund may be due.",
            ),
            "de": (
                "Rechnung F2026-0042 doppelt bezahlt",
                f"Bakkerij Peeters hat {EURO['de']} für eine bereits bezahlte Rechnung gezahlt. "
                "Eventuell ist eine Rückerstattung fällig.",
            ),
        },
    ),
    "peppol-invoice": (
        "peppol.failed",
        peppol("invoice"),
        f"{BASE}/invoices/doc-5",
        {
            "nl": (
                "Factuur 2026/0005 niet afgeleverd via Peppol",
                "Verzending naar Garage Janssens mislukt: "
                "Recipient not registered on the Peppol network",
            ),
            "fr": (
                "Facture 2026/0005 non remise via Peppol",
                f"L'envoi à Garage Janssens a échoué{NB}: "
                "Recipient not registered on the Peppol network",
            ),
            "en": (
                "Invoice 2026/0005 not delivered via Peppol",
                "Sending to Garage Janssens failed: Recipient not registered on the Peppol network",
            ),
            "de": (
                "Rechnung 2026/0005 nicht über Peppol zugestellt",
                "Der Versand an Garage Janssens ist fehlgeschlagen: "
                "Recipient not registered on the Peppol network",
            ),
        },
    ),
    "peppol-credit-note": (
        "peppol.failed",
        peppol("credit_note"),
        f"{BASE}/credit-notes/doc-5",
        {
            "nl": (
                "Creditnota 2026/0005 niet afgeleverd via Peppol",
                "Verzending naar Garage Janssens mislukt: "
                "Recipient not registered on the Peppol network",
            ),
            "fr": (
                "Note de crédit 2026/0005 non remise via Peppol",
                f"L'envoi à Garage Janssens a échoué{NB}: "
                "Recipient not registered on the Peppol network",
            ),
            "en": (
                "Credit note 2026/0005 not delivered via Peppol",
                "Sending to Garage Janssens failed: Recipient not registered on the Peppol network",
            ),
            "de": (
                "Gutschrift 2026/0005 nicht über Peppol zugestellt",
                "Der Versand an Garage Janssens ist fehlgeschlagen: "
                "Recipient not registered on the Peppol network",
            ),
        },
    ),
    "offer-signed": (
        "offer.signed",
        {
            "offer_id": "off-8",
            "offer_number": "O2026-0008",
            "customer_name": "Bakkerij Peeters",
            "signed_by": "An Peeters",
            # 09:15 UTC is 10:15 in Brussels in November.
            "signed_at": "2026-11-28T09:15:00Z",
        },
        f"{BASE}/offers/off-8",
        {
            "nl": (
                "Bakkerij Peeters heeft offerte O2026-0008 ondertekend",
                "Ondertekend door An Peeters op 28 november 2026 om 10:15.",
            ),
            "fr": (
                "Bakkerij Peeters a signé l'offre O2026-0008",
                "Signée par An Peeters le 28 novembre 2026 à 10:15.",
            ),
            "en": (
                "Bakkerij Peeters signed offer O2026-0008",
                "Signed by An Peeters on 28 November 2026 at 10:15.",
            ),
            "de": (
                "Bakkerij Peeters hat Angebot O2026-0008 unterschrieben",
                "Unterschrieben von An Peeters am 28. November 2026 um 10:15.",
            ),
        },
    ),
    "inbox-peppol": (
        "inbox.received",
        inbox("peppol"),
        f"{BASE}/inbox/msg-3",
        {
            "nl": ("Nieuw document in uw Peppol-inbox", "Van Proximus NV: Factuur 2026-11"),
            "fr": (
                "Nouveau document dans votre boîte Peppol",
                f"De Proximus NV{NB}: Factuur 2026-11",
            ),
            "en": ("New document in your Peppol inbox", "From Proximus NV: Factuur 2026-11"),
            "de": ("Neues Dokument in Ihrem Peppol-Eingang", "Von Proximus NV: Factuur 2026-11"),
        },
    ),
    "inbox-email": (
        "inbox.received",
        inbox("email"),
        f"{BASE}/inbox/msg-3",
        {
            "nl": ("Nieuwe e-mail in uw inbox", "Van Proximus NV: Factuur 2026-11"),
            "fr": (
                "Nouvel e-mail dans votre boîte de réception",
                f"De Proximus NV{NB}: Factuur 2026-11",
            ),
            "en": ("New e-mail in your inbox", "From Proximus NV: Factuur 2026-11"),
            "de": ("Neue E-Mail in Ihrem Posteingang", "Von Proximus NV: Factuur 2026-11"),
        },
    ),
    "mail-with-document": (
        "mail.failed",
        {
            "recipient_email": "boekhouding@peeters.be",
            "reason": "Mailbox full",
            "document_id": "doc-5",
            "document_number": "F2026-0042",
        },
        f"{BASE}/documents/doc-5",
        {
            "nl": (
                "E-mail met F2026-0042 niet afgeleverd",
                "De e-mail aan boekhouding@peeters.be kon niet worden afgeleverd: Mailbox full",
            ),
            "fr": (
                "E-mail contenant F2026-0042 non remis",
                f"L'e-mail à boekhouding@peeters.be n'a pas pu être remis{NB}: Mailbox full",
            ),
            "en": (
                "E-mail with F2026-0042 not delivered",
                "The e-mail to boekhouding@peeters.be could not be delivered: Mailbox full",
            ),
            "de": (
                "E-Mail mit F2026-0042 nicht zugestellt",
                "Die E-Mail an boekhouding@peeters.be konnte nicht zugestellt werden: Mailbox full",
            ),
        },
    ),
    "mail-without-document": (
        "mail.failed",
        {"recipient_email": "info@peeters.be", "reason": "Unknown address"},
        None,
        {
            "nl": (
                "E-mail niet afgeleverd",
                "De e-mail aan info@peeters.be kon niet worden afgeleverd: Unknown address",
            ),
            "fr": (
                "E-mail non remis",
                f"L'e-mail à info@peeters.be n'a pas pu être remis{NB}: Unknown address",
            ),
            "en": (
                "E-mail not delivered",
                "The e-mail to info@peeters.be could not be delivered: Unknown address",
            ),
            "de": (
                "E-Mail nicht zugestellt",
                "Die E-Mail an info@peeters.be konnte nicht zugestellt werden: Unknown address",
            ),
        },
    ),
    "password-changed": (
        "security.password_changed",
        {},
        SECURITY,
        {
            "nl": (
                "Uw wachtwoord werd gewijzigd",
                "Uw andere sessies werden afgemeld. Was u dit niet? "
                "Neem dan meteen contact op met uw beheerder.",
            ),
            "fr": (
                "Votre mot de passe a été modifié",
                "Vos autres sessions ont été fermées. Si ce n'était pas vous, "
                "contactez immédiatement votre administrateur.",
            ),
            "en": (
                "Your password was changed",
                "Your other sessions were signed out. If this was not you, "
                "contact your administrator at once.",
            ),
            "de": (
                "Ihr Passwort wurde geändert",
                "Ihre anderen Sitzungen wurden abgemeldet. Waren Sie das nicht? "
                "Wenden Sie sich sofort an Ihren Administrator.",
            ),
        },
    ),
    "two-factor-on": (
        "security.two_factor_enabled",
        {},
        SECURITY,
        {
            "nl": (
                "Tweestapsverificatie ingeschakeld",
                "Voortaan vraagt het aanmelden ook een code uit uw authenticatie-app.",
            ),
            "fr": (
                "Authentification à deux facteurs activée",
                "Désormais, la connexion demande aussi un code de votre application "
                "d'authentification.",
            ),
            "en": (
                "Two-factor authentication turned on",
                "From now on, signing in also asks for a code from your authenticator app.",
            ),
            "de": (
                "Zwei-Faktor-Authentifizierung aktiviert",
                "Ab jetzt verlangt die Anmeldung auch einen Code aus Ihrer Authenticator-App.",
            ),
        },
    ),
    "two-factor-off": (
        "security.two_factor_disabled",
        {},
        SECURITY,
        {
            "nl": (
                "Tweestapsverificatie uitgeschakeld",
                "Aanmelden vraagt nu enkel nog uw wachtwoord. Was u dit niet? "
                "Neem dan meteen contact op met uw beheerder.",
            ),
            "fr": (
                "Authentification à deux facteurs désactivée",
                "La connexion ne demande plus que votre mot de passe. Si ce n'était pas vous, "
                "contactez immédiatement votre administrateur.",
            ),
            "en": (
                "Two-factor authentication turned off",
                "Signing in now only asks for your password. If this was not you, "
                "contact your administrator at once.",
            ),
            "de": (
                "Zwei-Faktor-Authentifizierung deaktiviert",
                "Zum Anmelden genügt jetzt Ihr Passwort. Waren Sie das nicht? "
                "Wenden Sie sich sofort an Ihren Administrator.",
            ),
        },
    ),
    "suspicious-one-code": (
        "security.suspicious_codes",
        {"failed_attempts": 1},
        SECURITY,
        {
            "nl": (
                "Verdachte aanmeldpogingen",
                "Na uw juiste wachtwoord werd 1 foute verificatiecode ingegeven. "
                "Mogelijk kent iemand anders uw wachtwoord: wijzig het.",
            ),
            "fr": (
                "Tentatives de connexion suspectes",
                "1 code de vérification erroné a été saisi après votre mot de passe correct. "
                f"Quelqu'un d'autre connaît peut-être votre mot de passe{NB}: modifiez-le.",
            ),
            "en": (
                "Suspicious sign-in attempts",
                "1 wrong verification code was entered after your correct password. "
                "Someone else may know your password: change it.",
            ),
            "de": (
                "Verdächtige Anmeldeversuche",
                "Nach Ihrem richtigen Passwort wurde 1 falscher Bestätigungscode eingegeben. "
                "Möglicherweise kennt jemand anderes Ihr Passwort: Ändern Sie es.",
            ),
        },
    ),
    "suspicious-many-codes": (
        "security.suspicious_codes",
        {"failed_attempts": 1200},
        SECURITY,
        {
            "nl": (
                "Verdachte aanmeldpogingen",
                "Na uw juiste wachtwoord werden 1.200 foute verificatiecodes ingegeven. "
                "Mogelijk kent iemand anders uw wachtwoord: wijzig het.",
            ),
            "fr": (
                "Tentatives de connexion suspectes",
                f"1{NNB}200 codes de vérification erronés ont été saisis après votre mot de passe "
                f"correct. Quelqu'un d'autre connaît peut-être votre mot de passe{NB}: "
                "modifiez-le.",
            ),
            "en": (
                "Suspicious sign-in attempts",
                "1.200 wrong verification codes were entered after your correct password. "
                "Someone else may know your password: change it.",
            ),
            "de": (
                "Verdächtige Anmeldeversuche",
                "Nach Ihrem richtigen Passwort wurden 1.200 falsche Bestätigungscodes "
                "eingegeben. Möglicherweise kennt jemand anderes Ihr Passwort: Ändern Sie es.",
            ),
        },
    ),
    "recovery-codes-regenerated": (
        "security.recovery_codes_regenerated",
        {},
        SECURITY,
        {
            "nl": (
                "Nieuwe herstelcodes aangemaakt",
                "Uw vorige herstelcodes werken niet meer. Was u dit niet? Neem dan meteen "
                "contact op met uw beheerder.",
            ),
            "fr": (
                "Nouveaux codes de récupération créés",
                "Vos anciens codes de récupération ne fonctionnent plus. Si ce n'était pas vous, "
                "contactez immédiatement votre administrateur.",
            ),
            "en": (
                "New recovery codes created",
                "Your previous recovery codes no longer work. If this was not you, contact your "
                "administrator at once.",
            ),
            "de": (
                "Neue Wiederherstellungscodes erstellt",
                "Ihre bisherigen Wiederherstellungscodes funktionieren nicht mehr. Waren Sie das "
                "nicht? Wenden Sie sich sofort an Ihren Administrator.",
            ),
        },
    ),
    "recovery-code-used-one-left": (
        "security.recovery_code_used",
        {"remaining": 1},
        SECURITY,
        {
            "nl": (
                "Er werd aangemeld met een herstelcode",
                "U hebt nog 1 ongebruikte herstelcode. Was u dit niet? Wijzig dan uw wachtwoord "
                "en neem contact op met uw beheerder.",
            ),
            "fr": (
                "Un code de récupération a servi à vous connecter",
                "Il vous reste 1 code de récupération inutilisé. Si ce n'était pas vous, "
                "modifiez votre mot de passe et contactez votre administrateur.",
            ),
            "en": (
                "A recovery code was used to sign in",
                "You have 1 unused recovery code left. If this was not you, change your password "
                "and contact your administrator.",
            ),
            "de": (
                "Zur Anmeldung wurde ein Wiederherstellungscode verwendet",
                "Sie haben noch 1 unbenutzten Wiederherstellungscode. Waren Sie das nicht? Ändern "
                "Sie Ihr Passwort und wenden Sie sich an Ihren Administrator.",
            ),
        },
    ),
    "recovery-code-used-nine-left": (
        "security.recovery_code_used",
        {"remaining": 9},
        SECURITY,
        {
            "nl": (
                "Er werd aangemeld met een herstelcode",
                "U hebt nog 9 ongebruikte herstelcodes. Was u dit niet? Wijzig dan uw "
                "wachtwoord en neem contact op met uw beheerder.",
            ),
            "fr": (
                "Un code de récupération a servi à vous connecter",
                "Il vous reste 9 codes de récupération inutilisés. Si ce n'était pas vous, "
                "modifiez votre mot de passe et contactez votre administrateur.",
            ),
            "en": (
                "A recovery code was used to sign in",
                "You have 9 unused recovery codes left. If this was not you, change your "
                "password and contact your administrator.",
            ),
            "de": (
                "Zur Anmeldung wurde ein Wiederherstellungscode verwendet",
                "Sie haben noch 9 unbenutzte Wiederherstellungscodes. Waren Sie das nicht? "
                "Ändern Sie Ihr Passwort und wenden Sie sich an Ihren Administrator.",
            ),
        },
    ),
}

GENERIC = {
    "nl": ("Nieuwe melding", "U hebt een nieuwe melding."),
    "fr": ("Nouvelle notification", "Vous avez une nouvelle notification."),
    "en": ("New notification", "You have a new notification."),
    "de": ("Neue Benachrichtigung", "Sie haben eine neue Benachrichtigung."),
}
LANGUAGES = ("nl", "fr", "en", "de")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_type_in_every_language(case: str, language: str) -> None:
    notification_type, params, link, texts = CASES[case]
    title, body = texts[language]
    assert RENDERER.render(notification_type, params, language) == RenderedNotification(
        title, body, link
    )


def test_every_platform_topic_and_security_type_has_a_case() -> None:
    from shared.events.models import PLATFORM_PAYLOADS

    covered = {notification_type for notification_type, *_ in CASES.values()}
    topics = {str(getattr(payload, "topic")) for payload in PLATFORM_PAYLOADS}  # noqa: B009
    security = {
        "security.password_changed",
        "security.two_factor_enabled",
        "security.two_factor_disabled",
        "security.suspicious_codes",
        "security.recovery_codes_regenerated",
        "security.recovery_code_used",
    }
    assert covered == topics | security


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_type_gets_a_generic_text(language: str) -> None:
    rendered = RENDERER.render("invoice.exploded", {"whatever": 1}, language)
    assert rendered == RenderedNotification(*GENERIC[language], None)


@pytest.mark.parametrize(
    ("notification_type", "params"),
    [
        ("payment.received", {}),
        ("payment.received", {**payment("full"), "status": "refunded"}),
        ("payment.received", {**payment("full"), "amount": {"amount": "lots", "currency": "EUR"}}),
        ("reminder.created", {**reminder(1), "reminder_level": 4}),
        ("reminder.created", {**reminder(1), "due_date": "yesterday"}),
        (
            "offer.signed",
            {
                "offer_id": "o",
                "offer_number": "1",
                "customer_name": "c",
                "signed_by": "s",
                "signed_at": "2026-11-28T09:15:00",
            },
        ),
        ("security.suspicious_codes", {"failed_attempts": "3"}),
        ("security.recovery_code_used", {}),
        ("inbox.received", {**inbox("fax")}),
    ],
)
def test_parameters_that_do_not_fit_the_type_get_the_generic_text(
    notification_type: str, params: dict[str, Any]
) -> None:
    assert RENDERER.render(notification_type, params, "nl") == RenderedNotification(
        *GENERIC["nl"], None
    )


def test_an_unsupported_language_falls_back_to_english() -> None:
    rendered = RENDERER.render("payment.received", payment("full"), "es")
    assert rendered.title == "Invoice F2026-0042 paid in full"


def test_other_currencies_are_formatted_for_the_locale() -> None:
    params = {**payment("full"), "amount": {"amount": "1234.5", "currency": "USD"}}
    assert RENDERER.render("payment.received", params, "nl").body == (
        f"Bakkerij Peeters heeft US${NB}1.234,50 betaald."
    )


def test_ids_from_events_cannot_escape_the_web_app() -> None:
    params = {**payment("full"), "invoice_id": "../../admin?x=1#"}
    link = RENDERER.render("payment.received", params, "en").link
    assert link == f"{BASE}/invoices/..%2F..%2Fadmin%3Fx%3D1%23"


def catalog_paths() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/notifier.po"))


def test_there_is_a_catalog_per_language() -> None:
    assert sorted(path.parent.parent.name for path in catalog_paths()) == sorted(LANGUAGES)


@pytest.mark.parametrize("po_path", catalog_paths(), ids=lambda p: p.parent.parent.name)
def test_compiled_catalogs_are_up_to_date(po_path: Path) -> None:
    """The committed .mo is exactly what compiling the .po gives (run `pybabel compile -D
    notifier -d services/notifier/api/locale` after editing a .po)."""
    with po_path.open("rb") as source:
        catalog = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert po_path.with_suffix(".mo").read_bytes() == compiled.getvalue()


@pytest.mark.parametrize("po_path", catalog_paths(), ids=lambda p: p.parent.parent.name)
def test_catalogs_translate_exactly_the_messages_of_the_code(po_path: Path) -> None:
    api = Path(__file__).parents[2] / "services" / "notifier" / "api"
    in_code = {
        message if isinstance(message, str) else message[0]
        for source in (api / "wording.py", api / "summaries.py")
        for _lineno, message, _comments, _context in extract_from_file("python", source)
    }
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert in_catalog == in_code
    untranslated = [
        m.id
        for m in catalog
        if m.id and not all(m.string if isinstance(m.string, tuple | list) else [m.string])
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
