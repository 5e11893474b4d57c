"""The public types of the security history and their titles in the four display languages.

The audit trail's event names are internal (and several of them are one thing to a user); this
table is the stable public list. An audit event it does not name is not shown in the history.
"""

from __future__ import annotations

from typing import Final

from services.auth.domain import Language

Texts = dict[Language, str]

# audit event -> public type
PUBLIC_TYPES: Final[dict[str, str]] = {
    "login_succeeded": "sign_in",
    "login_failed": "sign_in_failed",
    "login_throttled": "sign_in_throttled",
    "logout": "sign_out",
    "session_ended": "session_ended",
    "refresh_token_reused": "token_reuse_detected",
    "password_changed": "password_changed",
    "password_change_refused": "password_change_refused",
    "phone_confirmed": "phone_confirmed",
    "two_factor_enabled": "two_factor_enabled",
    "two_factor_disabled": "two_factor_disabled",
    "two_factor_code_failed": "second_factor_failed",
    "two_factor_code_replayed": "second_factor_failed",
    "two_factor_throttled": "second_factor_throttled",
    "two_factor_suspicious_codes": "suspicious_codes",
    "recovery_codes_regenerated": "recovery_codes_regenerated",
    "recovery_code_used": "recovery_code_used",
}

TITLES: Final[dict[str, Texts]] = {
    "sign_in": {
        "en": "Signed in",
        "nl": "Aangemeld",
        "fr": "Connexion",
        "de": "Angemeldet",
    },
    "sign_in_failed": {
        "en": "Failed sign-in attempt",
        "nl": "Mislukte aanmeldpoging",
        "fr": "Tentative de connexion échouée",
        "de": "Fehlgeschlagener Anmeldeversuch",
    },
    "sign_in_throttled": {
        "en": "Sign-in paused after repeated failed attempts",
        "nl": "Aanmelden gepauzeerd na herhaalde mislukte pogingen",
        "fr": "Connexion suspendue après plusieurs tentatives échouées",
        "de": "Anmeldung nach wiederholten Fehlversuchen pausiert",
    },
    "sign_out": {
        "en": "Signed out",
        "nl": "Afgemeld",
        "fr": "Déconnexion",
        "de": "Abgemeldet",
    },
    "session_ended": {
        "en": "Session ended",
        "nl": "Sessie beëindigd",
        "fr": "Session fermée",
        "de": "Sitzung beendet",
    },
    "token_reuse_detected": {
        "en": "Session ended: a used refresh token came back",
        "nl": "Sessie beëindigd: een gebruikt vernieuwingstoken werd opnieuw aangeboden",
        "fr": "Session fermée : un jeton de renouvellement déjà utilisé a été présenté",
        "de": "Sitzung beendet: ein bereits verwendetes Erneuerungstoken wurde vorgelegt",
    },
    "password_changed": {
        "en": "Password changed",
        "nl": "Wachtwoord gewijzigd",
        "fr": "Mot de passe modifié",
        "de": "Passwort geändert",
    },
    "password_change_refused": {
        "en": "Password change refused",
        "nl": "Wachtwoordwijziging geweigerd",
        "fr": "Modification du mot de passe refusée",
        "de": "Passwortänderung abgelehnt",
    },
    "phone_confirmed": {
        "en": "Mobile number confirmed",
        "nl": "Gsm-nummer bevestigd",
        "fr": "Numéro de mobile confirmé",
        "de": "Handynummer bestätigt",
    },
    "two_factor_enabled": {
        "en": "Two-factor authentication turned on",
        "nl": "Tweestapsverificatie ingeschakeld",
        "fr": "Authentification à deux facteurs activée",
        "de": "Zwei-Faktor-Authentifizierung aktiviert",
    },
    "two_factor_disabled": {
        "en": "Two-factor authentication turned off",
        "nl": "Tweestapsverificatie uitgeschakeld",
        "fr": "Authentification à deux facteurs désactivée",
        "de": "Zwei-Faktor-Authentifizierung deaktiviert",
    },
    "second_factor_failed": {
        "en": "Wrong verification code",
        "nl": "Foute verificatiecode",
        "fr": "Code de vérification erroné",
        "de": "Falscher Bestätigungscode",
    },
    "second_factor_throttled": {
        "en": "Verification codes paused after repeated wrong codes",
        "nl": "Verificatiecodes gepauzeerd na herhaalde foute codes",
        "fr": "Codes de vérification suspendus après plusieurs codes erronés",
        "de": "Bestätigungscodes nach wiederholt falschen Codes pausiert",
    },
    "suspicious_codes": {
        "en": "Suspicious sign-in attempts",
        "nl": "Verdachte aanmeldpogingen",
        "fr": "Tentatives de connexion suspectes",
        "de": "Verdächtige Anmeldeversuche",
    },
    "recovery_codes_regenerated": {
        "en": "New recovery codes created",
        "nl": "Nieuwe herstelcodes aangemaakt",
        "fr": "Nouveaux codes de récupération créés",
        "de": "Neue Wiederherstellungscodes erstellt",
    },
    "recovery_code_used": {
        "en": "Signed in with a recovery code",
        "nl": "Aangemeld met een herstelcode",
        "fr": "Connexion avec un code de récupération",
        "de": "Mit einem Wiederherstellungscode angemeldet",
    },
}

SHOWN_AUDIT_EVENTS: Final = tuple(sorted(PUBLIC_TYPES))


def title(public_type: str, language: Language) -> str:
    return TITLES[public_type][language]
