"""The bell item of a sign-in from a new device (`security.new_sign_in`, from the auth service's
`user.new_sign_in`): device, time and a link to the security page, in the four languages."""

from __future__ import annotations

from typing import Any

import pytest

from services.notifier.api.formatting import RenderedNotification
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.api.wording import RENDERERS
from services.notifier.ingest.batch import SECURITY_NOTIFICATION_TYPES

RENDERER = NotificationRenderer("https://app.example.be/")
LINK = "https://app.example.be/settings/security"


def sign_in(browser: str | None, os: str | None) -> dict[str, Any]:
    return {
        "session_id": "0b8f8e8e-3c0e-4a53-9d1c-6a1f0c1e2b3a",
        "device": {"browser": browser, "os": os, "label": "(English, not shown)"},
        "address": "203.0.113.0/24",
        "signed_in_at": "2026-11-28T09:15:00Z",  # 10:15 in Brussels
    }


EXPECTED = {
    "nl": (
        "Nieuwe aanmelding op uw account",
        "Aangemeld op 28 november 2026 om 10:15 vanaf {device}. Was u dit niet? Beëindig die "
        "sessie op de beveiligingspagina en wijzig uw wachtwoord.",
        ("Firefox 133 op Windows 10", "een onbekend toestel"),
    ),
    "fr": (
        "Nouvelle connexion à votre compte",
        "Connexion le 28 novembre 2026 à 10:15 depuis {device}. Si ce n'était pas vous, fermez "
        "cette session sur la page de sécurité et modifiez votre mot de passe.",
        ("Firefox 133 sous Windows 10", "un appareil inconnu"),
    ),
    "en": (
        "New sign-in to your account",
        "Signed in on 28 November 2026 at 10:15 from {device}. If this was not you, end that "
        "session on the security page and change your password.",
        ("Firefox 133 on Windows 10", "an unknown device"),
    ),
    "de": (
        "Neue Anmeldung bei Ihrem Konto",
        "Angemeldet am 28. November 2026 um 10:15 von {device}. Waren Sie das nicht? Beenden "
        "Sie diese Sitzung auf der Sicherheitsseite und ändern Sie Ihr Passwort.",
        ("Firefox 133 unter Windows 10", "einem unbekannten Gerät"),
    ),
}


def test_the_user_event_becomes_a_security_bell_item() -> None:
    assert SECURITY_NOTIFICATION_TYPES["user.new_sign_in"] == "security.new_sign_in"
    assert "security.new_sign_in" in RENDERERS


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_a_known_device_in_every_language(language: str) -> None:
    title, body, (known, _) = EXPECTED[language]
    rendered = RENDERER.render(
        "security.new_sign_in", sign_in("Firefox 133", "Windows 10"), language
    )
    assert rendered == RenderedNotification(title, body.format(device=known), LINK)


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_an_unknown_device_in_every_language(language: str) -> None:
    title, body, (_, unknown) = EXPECTED[language]
    rendered = RENDERER.render("security.new_sign_in", sign_in(None, None), language)
    assert rendered == RenderedNotification(title, body.format(device=unknown), LINK)


def test_a_device_known_in_part_is_named_by_that_part() -> None:
    rendered = RENDERER.render("security.new_sign_in", sign_in("curl 8", None), "en")
    assert rendered.body.startswith("Signed in on 28 November 2026 at 10:15 from curl 8. ")
    rendered = RENDERER.render("security.new_sign_in", sign_in(None, "Linux"), "nl")
    assert rendered.body.startswith("Aangemeld op 28 november 2026 om 10:15 vanaf Linux. ")


@pytest.mark.parametrize(
    "params",
    [
        {**sign_in("Firefox 133", "Windows 10"), "device": "Firefox"},
        {**sign_in("Firefox 133", "Windows 10"), "signed_in_at": "2026-11-28T09:15:00"},
        {k: v for k, v in sign_in("Firefox 133", "Windows 10").items() if k != "signed_in_at"},
    ],
)
def test_parameters_that_do_not_fit_get_the_generic_text(params: dict[str, Any]) -> None:
    rendered = RENDERER.render("security.new_sign_in", params, "en")
    assert rendered == RenderedNotification(
        "New notification", "You have a new notification.", None
    )
