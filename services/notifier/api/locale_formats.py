"""Babel's formats with everything that does not depend on the value resolved once.

Babel resolves the locale's pattern, symbols and currency data on every call (about 0.15 ms for
one amount, most of a rendered item). These objects give byte-identical output (the golden
texts in tests/notifier_api/golden/ check it) by doing that work once per language (and
currency), and fall back to Babel itself for any pattern they do not reproduce exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Generic, TypeVar

from babel import Locale
from babel.dates import format_date, format_time, get_time_format, tokenize_pattern
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_quantum,
)

K = TypeVar("K", bound=Hashable)

# Bounded memo of a pure function of a small domain (days, minutes of the day, counts).
MEMO_SIZE: Final = 4096


class Memo(Generic[K]):
    """`compute(key)` remembered; emptied when full (the domains are small, so it rarely is)."""

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[K], str]) -> None:
        self._compute = compute
        self._values: dict[K, str] = {}

    def __call__(self, key: K) -> str:
        value = self._values.get(key)
        if value is None:
            if len(self._values) >= MEMO_SIZE:
                self._values.clear()
            value = self._values[key] = self._compute(key)
        return value


class MoneyFormat:
    """`format_currency(amount, currency, locale=locale)` for one locale and currency.

    The prefix and suffix (currency symbol, sign) and the symbols are resolved here; per amount
    only Babel's own arithmetic is left: the same `scaleb`, `normalize` and `quantize` under the
    current decimal context, so rounding and errors are Babel's.
    """

    def __init__(self, locale: Locale, currency: str) -> None:
        self._locale = locale
        self._currency = currency
        pattern = locale.currency_formats["standard"]
        symbols = locale.number_symbols["latn"]
        self._group: str = symbols["group"]
        self._decimal: str = symbols["decimal"]
        fixed = (*pattern.prefix, *pattern.suffix)
        # What the fast path reproduces: a plain grouped decimal pattern whose text around the
        # number has no quoting and no plural currency name, and symbols without quotes.
        self._exact = (
            not pattern.exp_prec
            and "@" not in pattern.pattern
            and pattern.number_pattern != ""
            and not any("'" in part or "¤¤¤" in part for part in fixed)
            and "'" not in self._group + self._decimal
        )
        if not self._exact:
            return
        symbol = get_currency_symbol(currency, locale)

        def resolve(part: str) -> str:
            return (
                part.replace("¤¤", currency.upper()).replace("¤", symbol) if "¤" in part else part
            )

        self._prefix = tuple(resolve(part) for part in pattern.prefix)
        self._suffix = tuple(resolve(part) for part in pattern.suffix)
        self._scale: int = pattern.scale
        self._int_min: int = pattern.int_prec[0]
        self._first_group, self._next_group = pattern.grouping
        self._digits = get_currency_precision(currency)
        self._quantum = get_decimal_quantum(self._digits)

    def __call__(self, amount: Decimal) -> str:
        if not self._exact:
            return format_currency(amount, self._currency, locale=self._locale)
        value = amount.scaleb(self._scale)
        negative = int(value.is_signed())
        value = abs(value).normalize()
        if value.is_infinite():
            return format_currency(amount, self._currency, locale=self._locale)
        whole, _, fraction = f"{value.quantize(self._quantum):f}".partition(".")
        return (
            self._prefix[negative]
            + self._integer(whole)
            + self._fraction(fraction or "0")
            + self._suffix[negative]
        )

    def _integer(self, digits: str) -> str:
        if len(digits) < self._int_min:
            digits = "0" * (self._int_min - len(digits)) + digits
        size, grouped = self._first_group, ""
        while len(digits) > size:
            grouped = self._group + digits[-size:] + grouped
            digits = digits[:-size]
            size = self._next_group
        return digits + grouped

    def _fraction(self, digits: str) -> str:
        wanted = self._digits
        if len(digits) < wanted:
            digits += "0" * (wanted - len(digits))
        if wanted == 0:
            return ""
        while len(digits) > wanted and digits[-1] == "0":
            digits = digits[:-1]
        return self._decimal + digits


# Time fields whose value depends on the hour and minute only.
_HOUR_MINUTE_FIELDS: Final = frozenset("HhKkma")


def _short_time_shows_hour_and_minute_only(locale: Locale) -> bool:
    tokens = tokenize_pattern(get_time_format("short", locale=locale).pattern)
    fields = [value[0] for kind, value in tokens if kind == "field"]
    return bool(fields) and all(field in _HOUR_MINUTE_FIELDS for field in fields)


class DayAndTimeFormat:
    """`format_date(day, "long")` and `format_time(moment, "short")` for one locale, each
    remembered per day, and per minute of the day when the time pattern shows no more."""

    def __init__(self, locale: Locale) -> None:
        self._locale = locale
        self.day: Memo[date] = Memo(lambda day: format_date(day, "long", locale=locale))
        self._by_minute = _short_time_shows_hour_and_minute_only(locale)
        self._times: dict[tuple[int, int], str] = {}

    def time(self, local: datetime) -> str:
        if not self._by_minute:
            return format_time(local, "short", locale=self._locale)
        key = (local.hour, local.minute)
        text = self._times.get(key)
        if text is None:  # at most 1,440 entries
            text = self._times[key] = format_time(local, "short", locale=self._locale)
        return text


# Characters urllib.parse.quote never escapes (its `_ALWAYS_SAFE`): such a segment is its own
# quoted form.
_ALWAYS_SAFE: Final = re.compile(r"[A-Za-z0-9_.~-]*")


def is_always_safe(segment: str) -> bool:
    return _ALWAYS_SAFE.fullmatch(segment) is not None
