"""Confirming a mobile number by SMS: parsing to E.164, the 6-digit code and its digest, and
the SMS text in the user's language."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

import phonenumbers

from services.auth.two_factor.errors import InvalidPhoneNumber

DEFAULT_REGION: Final = "BE"
CODE_DIGITS: Final = 6
CODE_VALID_MINUTES: Final = 10

_SMS_TEXT: Final = {
    "nl": "Uw beveiligingscode is {code}. Ze is {minutes} minuten geldig. Deel ze met niemand.",
    "fr": "Votre code de sécurité est {code}. Il est valable {minutes} minutes. "
    "Ne le communiquez à personne.",
    "en": "Your security code is {code}. It is valid for {minutes} minutes. "
    "Do not share it with anyone.",
    "de": "Ihr Sicherheitscode lautet {code}. Er ist {minutes} Minuten gültig. "
    "Geben Sie ihn an niemanden weiter.",
}

_SMS_CAPABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def parse_mobile_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (`+32470123456`); national numbers are read as Belgian by default.
    Raises InvalidPhoneNumber for anything that is not a valid mobile number."""
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidPhoneNumber("Enter a mobile phone number, e.g. 0470 12 34 56.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number.")
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise InvalidPhoneNumber(f"{raw!r} is not a mobile number: it cannot receive an SMS.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def new_code() -> str:
    """A uniformly random 6-digit code."""
    return str(secrets.randbelow(10**CODE_DIGITS)).zfill(CODE_DIGITS)


def code_digest(key: bytes, user_id: str, phone_number: str, code: str) -> bytes:
    """A keyed digest binding the code to its user and number. Keyed, because a 6-digit code
    has only a million values: a plain hash would fall to an offline search."""
    message = f"{user_id}\x00{phone_number}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def sms_text(language: str, code: str) -> str:
    """The localized SMS body; it contains the code."""
    template = _SMS_TEXT.get(language, _SMS_TEXT["en"])
    return template.format(code=code, minutes=CODE_VALID_MINUTES)
