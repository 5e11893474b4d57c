"""Texts the auth service shows to users, in the four display languages.

zxcvbn's feedback is English only; its finite set of messages is translated here, keyed by the
English text (a test checks the table covers every message zxcvbn can produce).
"""

from __future__ import annotations

from typing import Final

from services.auth.domain import DEFAULT_LANGUAGE, LANGUAGES, Language, as_language
from shared.logging import get_logger

log = get_logger(__name__)

Texts = dict[Language, str]

STRENGTH_LABELS: Final[dict[Language, tuple[str, str, str, str, str]]] = {
    "en": ("Very weak", "Weak", "Fair", "Strong", "Very strong"),
    "nl": ("Zeer zwak", "Zwak", "Matig", "Sterk", "Zeer sterk"),
    "fr": ("Très faible", "Faible", "Moyen", "Fort", "Très fort"),
    "de": ("Sehr schwach", "Schwach", "Mittel", "Stark", "Sehr stark"),
}

# Messages of the password rules, by rule; `{min}` and `{max}` are filled in.
RULE_MESSAGES: Final[dict[str, Texts]] = {
    "too_short": {
        "en": "Use at least {min} characters.",
        "nl": "Gebruik minstens {min} tekens.",
        "fr": "Utilisez au moins {min} caractères.",
        "de": "Verwenden Sie mindestens {min} Zeichen.",
    },
    "too_long": {
        "en": "Use at most {max} characters.",
        "nl": "Gebruik hoogstens {max} tekens.",
        "fr": "Utilisez au maximum {max} caractères.",
        "de": "Verwenden Sie höchstens {max} Zeichen.",
    },
    "too_common": {
        "en": "This password is among the most common passwords; choose another one.",
        "nl": "Dit wachtwoord is een van de meest gebruikte wachtwoorden; kies een ander.",
        "fr": "Ce mot de passe fait partie des plus courants ; choisissez-en un autre.",
        "de": "Dieses Passwort gehört zu den häufigsten Passwörtern; wählen Sie ein anderes.",
    },
    "contains_email": {
        "en": "The password must not contain your e-mail address or its name part.",
        "nl": "Het wachtwoord mag uw e-mailadres of het deel vóór de @ niet bevatten.",
        "fr": "Le mot de passe ne doit pas contenir votre adresse e-mail ni la partie avant le @.",
        "de": "Das Passwort darf Ihre E-Mail-Adresse oder deren Teil vor dem @ nicht enthalten.",
    },
    "contains_organization": {
        "en": "The password must not contain the name of your organisation.",
        "nl": "Het wachtwoord mag de naam van uw organisatie niet bevatten.",
        "fr": "Le mot de passe ne doit pas contenir le nom de votre organisation.",
        "de": "Das Passwort darf den Namen Ihrer Organisation nicht enthalten.",
    },
    "confirmation_mismatch": {
        "en": "The confirmation does not match the new password.",
        "nl": "De bevestiging komt niet overeen met het nieuwe wachtwoord.",
        "fr": "La confirmation ne correspond pas au nouveau mot de passe.",
        "de": "Die Bestätigung stimmt nicht mit dem neuen Passwort überein.",
    },
}

# Every warning and suggestion of zxcvbn 4.x (zxcvbn/feedback.py), keyed by its English text.
ZXCVBN_FEEDBACK: Final[dict[str, Texts]] = {
    "Use a few words, avoid common phrases.": {
        "en": "Use a few words, avoid common phrases.",
        "nl": "Gebruik een paar woorden en vermijd gangbare uitdrukkingen.",
        "fr": "Utilisez quelques mots et évitez les expressions courantes.",
        "de": "Verwenden Sie mehrere Wörter und vermeiden Sie gängige Redewendungen.",
    },
    "No need for symbols, digits, or uppercase letters.": {
        "en": "No need for symbols, digits, or uppercase letters.",
        "nl": "Symbolen, cijfers of hoofdletters zijn niet nodig.",
        "fr": "Les symboles, les chiffres ou les majuscules ne sont pas nécessaires.",
        "de": "Sonderzeichen, Ziffern oder Großbuchstaben sind nicht nötig.",
    },
    "Add another word or two. Uncommon words are better.": {
        "en": "Add another word or two. Uncommon words are better.",
        "nl": "Voeg nog een woord of twee toe. Ongebruikelijke woorden zijn beter.",
        "fr": "Ajoutez un ou deux mots. Les mots peu courants sont préférables.",
        "de": "Fügen Sie ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser.",
    },
    "Straight rows of keys are easy to guess.": {
        "en": "Straight rows of keys are easy to guess.",
        "nl": "Rechte rijen toetsen zijn makkelijk te raden.",
        "fr": "Les rangées de touches sont faciles à deviner.",
        "de": "Gerade Tastenreihen sind leicht zu erraten.",
    },
    "Short keyboard patterns are easy to guess.": {
        "en": "Short keyboard patterns are easy to guess.",
        "nl": "Korte toetsenbordpatronen zijn makkelijk te raden.",
        "fr": "Les motifs de clavier courts sont faciles à deviner.",
        "de": "Kurze Tastaturmuster sind leicht zu erraten.",
    },
    "Use a longer keyboard pattern with more turns.": {
        "en": "Use a longer keyboard pattern with more turns.",
        "nl": "Gebruik een langer toetsenbordpatroon met meer richtingsveranderingen.",
        "fr": "Utilisez un motif de clavier plus long, avec plus de changements de direction.",
        "de": "Verwenden Sie ein längeres Tastaturmuster mit mehr Richtungswechseln.",
    },
    'Repeats like "aaa" are easy to guess.': {
        "en": 'Repeats like "aaa" are easy to guess.',
        "nl": "Herhalingen zoals “aaa” zijn makkelijk te raden.",
        "fr": "Les répétitions comme « aaa » sont faciles à deviner.",
        "de": "Wiederholungen wie „aaa“ sind leicht zu erraten.",
    },
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': {
        "en": 'Repeats like "abcabcabc" are only slightly harder to guess than "abc".',
        "nl": "Herhalingen zoals “abcabcabc” zijn maar iets moeilijker te raden dan “abc”.",
        "fr": (
            "Les répétitions comme « abcabcabc » sont à peine plus difficiles à deviner "
            "que « abc »."
        ),
        "de": "Wiederholungen wie „abcabcabc“ sind nur wenig schwerer zu erraten als „abc“.",
    },
    "Avoid repeated words and characters.": {
        "en": "Avoid repeated words and characters.",
        "nl": "Vermijd herhaalde woorden en tekens.",
        "fr": "Évitez les mots et les caractères répétés.",
        "de": "Vermeiden Sie wiederholte Wörter und Zeichen.",
    },
    'Sequences like "abc" or "6543" are easy to guess.': {
        "en": 'Sequences like "abc" or "6543" are easy to guess.',
        "nl": "Reeksen zoals “abc” of “6543” zijn makkelijk te raden.",
        "fr": "Les suites comme « abc » ou « 6543 » sont faciles à deviner.",
        "de": "Folgen wie „abc“ oder „6543“ sind leicht zu erraten.",
    },
    "Avoid sequences.": {
        "en": "Avoid sequences.",
        "nl": "Vermijd reeksen.",
        "fr": "Évitez les suites.",
        "de": "Vermeiden Sie Zeichenfolgen.",
    },
    "Recent years are easy to guess.": {
        "en": "Recent years are easy to guess.",
        "nl": "Recente jaartallen zijn makkelijk te raden.",
        "fr": "Les années récentes sont faciles à deviner.",
        "de": "Jüngere Jahreszahlen sind leicht zu erraten.",
    },
    "Avoid recent years.": {
        "en": "Avoid recent years.",
        "nl": "Vermijd recente jaartallen.",
        "fr": "Évitez les années récentes.",
        "de": "Vermeiden Sie jüngere Jahreszahlen.",
    },
    "Avoid years that are associated with you.": {
        "en": "Avoid years that are associated with you.",
        "nl": "Vermijd jaartallen die met u te maken hebben.",
        "fr": "Évitez les années qui vous sont associées.",
        "de": "Vermeiden Sie Jahreszahlen, die mit Ihnen in Verbindung stehen.",
    },
    "Dates are often easy to guess.": {
        "en": "Dates are often easy to guess.",
        "nl": "Datums zijn vaak makkelijk te raden.",
        "fr": "Les dates sont souvent faciles à deviner.",
        "de": "Daten sind oft leicht zu erraten.",
    },
    "Avoid dates and years that are associated with you.": {
        "en": "Avoid dates and years that are associated with you.",
        "nl": "Vermijd datums en jaartallen die met u te maken hebben.",
        "fr": "Évitez les dates et les années qui vous sont associées.",
        "de": "Vermeiden Sie Daten und Jahreszahlen, die mit Ihnen in Verbindung stehen.",
    },
    "This is a top-10 common password.": {
        "en": "This is a top-10 common password.",
        "nl": "Dit is een van de 10 meest gebruikte wachtwoorden.",
        "fr": "Ce mot de passe fait partie des 10 plus courants.",
        "de": "Dies ist eines der 10 häufigsten Passwörter.",
    },
    "This is a top-100 common password.": {
        "en": "This is a top-100 common password.",
        "nl": "Dit is een van de 100 meest gebruikte wachtwoorden.",
        "fr": "Ce mot de passe fait partie des 100 plus courants.",
        "de": "Dies ist eines der 100 häufigsten Passwörter.",
    },
    "This is a very common password.": {
        "en": "This is a very common password.",
        "nl": "Dit is een zeer veelgebruikt wachtwoord.",
        "fr": "Ce mot de passe est très courant.",
        "de": "Dies ist ein sehr häufiges Passwort.",
    },
    "This is similar to a commonly used password.": {
        "en": "This is similar to a commonly used password.",
        "nl": "Dit lijkt op een veelgebruikt wachtwoord.",
        "fr": "Ce mot de passe ressemble à un mot de passe courant.",
        "de": "Dies ähnelt einem häufig verwendeten Passwort.",
    },
    "A word by itself is easy to guess.": {
        "en": "A word by itself is easy to guess.",
        "nl": "Een los woord is makkelijk te raden.",
        "fr": "Un mot seul est facile à deviner.",
        "de": "Ein einzelnes Wort ist leicht zu erraten.",
    },
    "Names and surnames by themselves are easy to guess.": {
        "en": "Names and surnames by themselves are easy to guess.",
        "nl": "Voor- en achternamen op zich zijn makkelijk te raden.",
        "fr": "Les prénoms et les noms de famille seuls sont faciles à deviner.",
        "de": "Vor- und Nachnamen allein sind leicht zu erraten.",
    },
    "Common names and surnames are easy to guess.": {
        "en": "Common names and surnames are easy to guess.",
        "nl": "Veelvoorkomende voor- en achternamen zijn makkelijk te raden.",
        "fr": "Les prénoms et les noms de famille courants sont faciles à deviner.",
        "de": "Häufige Vor- und Nachnamen sind leicht zu erraten.",
    },
    "Capitalization doesn't help very much.": {
        "en": "Capitalization doesn't help very much.",
        "nl": "Hoofdletters helpen niet veel.",
        "fr": "Les majuscules n'aident pas beaucoup.",
        "de": "Großschreibung hilft nicht viel.",
    },
    "All-uppercase is almost as easy to guess as all-lowercase.": {
        "en": "All-uppercase is almost as easy to guess as all-lowercase.",
        "nl": "Alles in hoofdletters is bijna even makkelijk te raden als alles in kleine letters.",
        "fr": "Tout en majuscules est presque aussi facile à deviner que tout en minuscules.",
        "de": "Nur Großbuchstaben sind fast so leicht zu erraten wie nur Kleinbuchstaben.",
    },
    "Reversed words aren't much harder to guess.": {
        "en": "Reversed words aren't much harder to guess.",
        "nl": "Omgekeerde woorden zijn niet veel moeilijker te raden.",
        "fr": "Les mots à l'envers ne sont pas beaucoup plus difficiles à deviner.",
        "de": "Rückwärts geschriebene Wörter sind kaum schwerer zu erraten.",
    },
    "Predictable substitutions like '@' instead of 'a' don't help very much.": {
        "en": "Predictable substitutions like '@' instead of 'a' don't help very much.",
        "nl": "Voorspelbare vervangingen zoals '@' in plaats van 'a' helpen niet veel.",
        "fr": "Les substitutions prévisibles comme « @ » au lieu de « a » n'aident pas beaucoup.",
        "de": "Vorhersehbare Ersetzungen wie „@“ statt „a“ helfen nicht viel.",
    },
}


def strength_label(score: int, language: Language) -> str:
    return STRENGTH_LABELS[language][max(0, min(4, score))]


def rule_message(rule: str, language: Language, **values: int) -> str:
    return RULE_MESSAGES[rule][language].format(**values)


def translate_feedback(english: str, language: Language) -> str:
    """zxcvbn's message in `language`; English (and a warning in the log) if it is unknown,
    e.g. after a zxcvbn upgrade added a message."""
    texts = ZXCVBN_FEEDBACK.get(english)
    if texts is None:
        log.warning("untranslated_password_feedback", message=english)
        return english
    return texts[language]


def negotiate_language(accept_language: str | None) -> Language:
    """The best display language for an Accept-Language header (RFC 9110 12.5.4), else en."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate(accept_language.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-", 1)[0].lower()
        if primary not in LANGUAGES:
            continue
        quality = _quality(params)
        if quality <= 0:
            continue
        candidate = (quality, -position, as_language(primary))
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
