"""What a person recognises of a session: the device (browser and system, from the user agent)
and roughly where from (the client address truncated to its network).

User agents are parsed with ua-parser (the maintained uap-core rules); the few user agents of an
organisation repeat endlessly, so descriptions are cached. Addresses are truncated (IPv4 to the
/24, IPv6 to the /48) before they are shown or published: enough to recognise "the office" or
"my provider", not to single out a machine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ua_parser

from services.auth.domain import DEFAULT_LANGUAGE, Language

IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 48
_MAX_PART: Final = 100

# "{browser} on {os}" and the label of a device nothing is known of, per display language.
_ON: Final[dict[Language, str]] = {
    "en": "{browser} on {os}",
    "nl": "{browser} op {os}",
    "fr": "{browser} sous {os}",
    "de": "{browser} unter {os}",
}
_UNKNOWN: Final[dict[Language, str]] = {
    "en": "Unknown device",
    "nl": "Onbekend toestel",
    "fr": "Appareil inconnu",
    "de": "Unbekanntes Gerät",
}


@dataclass(frozen=True)
class Device:
    """A browser and an operating system with their major versions (None when unknown)."""

    browser: str | None
    os: str | None

    def label(self, language: Language = DEFAULT_LANGUAGE) -> str:
        """E.g. "Firefox 133 on Windows 10", "curl 8", or "Unknown device"."""
        if self.browser and self.os:
            return _ON[language].format(browser=self.browser, os=self.os)
        return self.browser or self.os or _UNKNOWN[language]

    def as_dict(self, language: Language = DEFAULT_LANGUAGE) -> dict[str, str | None]:
        return {"browser": self.browser, "os": self.os, "label": self.label(language)}


UNKNOWN_DEVICE: Final = Device(None, None)


def _named(family: str | None, *versions: str | None) -> str | None:
    if not family or family == "Other":
        return None
    version = ".".join(v for v in versions if v)
    return (f"{family} {version}" if version else family)[:_MAX_PART]


@lru_cache(maxsize=4096)
def describe_device(user_agent: str | None) -> Device:
    """The device a user agent names; UNKNOWN_DEVICE for none or an unrecognisable one."""
    if not user_agent:
        return UNKNOWN_DEVICE
    parsed = ua_parser.parse(user_agent[:512])
    browser = None
    if parsed.user_agent is not None:
        browser = _named(parsed.user_agent.family, parsed.user_agent.major)
    os = None
    if parsed.os is not None:
        # macOS kept "10" as its major version for twenty years: the minor one says which.
        minor = parsed.os.minor if parsed.os.family == "Mac OS X" else None
        os = _named(parsed.os.family, parsed.os.major, minor)
    return Device(browser, os)


def truncate_address(address: str | None) -> str | None:
    """The network of a client address, e.g. "203.0.113.0/24" or "2001:db8:1234::/48"; None
    when it is not an IP address (an IPv4-mapped IPv6 address counts as IPv4)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
