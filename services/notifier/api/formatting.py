"""What the notification texts are made of: typed access to an event's parameters, one
language's translations and number/date formats (Babel, Belgian variants), and deep links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from babel import Locale
from babel.dates import get_timezone
from babel.numbers import format_decimal
from babel.support import Translations

from services.notifier.api.locale_formats import DayAndTimeFormat, Memo, MoneyFormat, is_always_safe

DOMAIN: Final = "notifier"
# Belgian conventions for every language: an English-reading accountant in Belgium sees the
# amounts as on the invoices (1.234,56 €), not in British style.
LOCALES: Final = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_BE", "de": "de_BE"}


@dataclass(frozen=True)
class RenderedNotification:
    title: str
    body: str
    link: str | None


class Unrenderable(Exception):
    """The parameters do not fit the type (missing or ill-typed field)."""


class Params:
    """Typed access to an event's `data`; any mismatch raises Unrenderable."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = params

    def text(self, name: str) -> str:
        value = self._params.get(name)
        if not isinstance(value, str) or not value:
            raise Unrenderable(name)
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self._params.get(name) is not None else None

    def integer(self, name: str) -> int:
        value = self._params.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Unrenderable(name)
        return value

    def money(self, name: str) -> tuple[Decimal, str]:
        value = self._params.get(name)
        if not isinstance(value, Mapping):
            raise Unrenderable(name)
        try:
            return Decimal(str(value["amount"])), str(value["currency"])
        except (KeyError, InvalidOperation):
            raise Unrenderable(name) from None

    def day(self, name: str) -> date:
        try:
            return date.fromisoformat(self.text(name))
        except ValueError:
            raise Unrenderable(name) from None

    def moment(self, name: str) -> datetime:
        try:
            value = datetime.fromisoformat(self.text(name))
        except ValueError:
            raise Unrenderable(name) from None
        if value.tzinfo is None:
            raise Unrenderable(name)
        return value

    def section(self, name: str) -> Params:
        """The parameters of a nested object (e.g. a sign-in's `device`)."""
        value = self._params.get(name)
        if not isinstance(value, Mapping):
            raise Unrenderable(name)
        return Params(value)


class Language:
    """Translations and formatting for one language. What does not depend on the value (the
    locale's patterns and symbols, per currency) is resolved once (locale_formats.py)."""

    def __init__(self, language: str, locale_dir: Path, timezone: str) -> None:
        self.locale = Locale.parse(LOCALES[language])
        self.timezone = get_timezone(timezone)
        self._translations = Translations.load(str(locale_dir), [language], DOMAIN)
        # The messages are the code's fixed strings: each looked up in the catalog once.
        self.gettext: Callable[[str], str] = _Messages(self._translations.gettext).__getitem__
        self.ngettext = self._translations.ngettext
        self._money: dict[str, MoneyFormat] = {}
        self._dates = DayAndTimeFormat(self.locale)
        self._numbers: Memo[int] = Memo(lambda value: format_decimal(value, locale=self.locale))

    def money(self, value: tuple[Decimal, str]) -> str:
        amount, currency = value
        money = self._money.get(currency)
        if money is None:
            if len(self._money) >= _MAX_CURRENCIES:  # currencies come from events: bounded
                self._money.clear()
            money = self._money[currency] = MoneyFormat(self.locale, currency)
        return money(amount)

    def day(self, value: date) -> str:
        return self._dates.day(value)

    def day_and_time(self, value: datetime) -> tuple[str, str]:
        local = value.astimezone(self.timezone)
        return self._dates.day(local.date()), self._dates.time(local)

    def number(self, value: int) -> str:
        return self._numbers(value)


_MAX_CURRENCIES: Final = 512


class _Messages(dict[str, str]):
    """A catalog's translation of each message, remembered at first use."""

    def __init__(self, translate: Callable[[str], str]) -> None:
        super().__init__()
        self._translate = translate

    def __missing__(self, message: str) -> str:
        translated = self[message] = self._translate(message)
        return translated


class Links:
    """Deep links into the web app; ids from events are path-escaped, never trusted as paths."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def to(self, *segments: str) -> str:
        link = self._base
        for segment in segments:
            link += "/" + (segment if is_always_safe(segment) else quote(segment, safe=""))
        return link
