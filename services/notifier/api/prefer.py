"""The `Prefer` request header (RFC 7240), as far as long polling needs it: the `wait`
preference.

    Prefer     = 1#preference
    preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
    parameter  = token [ BWS "=" BWS word ]
    word       = token / quoted-string

Preference names are case-insensitive; when one is given more than once only the first counts
(RFC 7240 section 2). A preference the server does not understand is ignored, and so is a
malformed `wait`: the request is then answered at once, as without the header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_TOKEN: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # noqa: S105 - RFC 9110's token, no secret
_QUOTED: Final = r'"(?:[^"\\]|\\.)*"'
_WORD: Final = rf"(?:{_TOKEN}|{_QUOTED})"
_PAIR: Final = rf"{_TOKEN}(?:[ \t]*=[ \t]*{_WORD})?"
# One preference with its parameters; group 1 its name, group 2 its value (if any).
_PREFERENCE: Final = re.compile(
    rf"[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_WORD}))?(?:[ \t]*;(?:[ \t]*{_PAIR})?)*[ \t]*"
)
# A list element: anything up to the next comma outside a quoted string.
_ELEMENT: Final = re.compile(rf'(?:{_QUOTED}|[^,"])*')
# The name of a malformed element, so that a broken `wait` still counts as the first one.
_NAME: Final = re.compile(rf"[ \t]*({_TOKEN})")
_SECONDS: Final = re.compile(r"[0-9]+")  # delta-seconds
# Any wait longer than this is clamped anyway; it also spares int() a huge digit string.
_LONGEST: Final = 10**9


def _preferences(values: Iterable[str]) -> Iterable[tuple[str, str | None]]:
    for value in values:
        position = 0
        while position <= len(value):
            element = _ELEMENT.match(value, position)
            end = element.end() if element else position
            parsed = _PREFERENCE.fullmatch(value, position, end)
            if parsed is not None:
                yield parsed[1].lower(), parsed[2]
            elif (name := _NAME.match(value, position, end)) is not None:
                yield name[1].lower(), ""  # malformed: no usable value
            position = end + 1  # past the comma


def requested_wait(values: Iterable[str]) -> int | None:
    """The seconds asked for by the first `wait` preference among the `Prefer` header values,
    or None: no such preference, or a malformed one (not delta-seconds)."""
    for name, value in _preferences(values):
        if name != "wait":
            continue
        if value is None or _SECONDS.fullmatch(value) is None:
            return None  # the first `wait` is the one that counts, even when it is unusable
        return int(value) if len(value) < 10 else _LONGEST
    return None
