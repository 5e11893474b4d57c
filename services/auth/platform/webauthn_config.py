"""The WebAuthn relying party of the passkeys (`WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`,
`WEBAUTHN_ORIGINS`). Unset, the RP id is the host name of WEB_APP_BASE_URL and the only origin
is its origin (what `make run` needs). Production refuses an IP address as RP id and origins
that are not https (localhost excepted); everywhere an origin must lie within the RP id."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.settings import ConfigurationError, Settings, origin_of

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class WebAuthnSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEBAUTHN_", case_sensitive=False, extra="ignore")

    rp_id: str | None = Field(None, min_length=1, max_length=253)
    rp_name: str = Field("Clochette", min_length=1, max_length=64)
    origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@dataclass(frozen=True)
class RelyingParty:
    """What every ceremony is checked against."""

    id: str
    name: str
    origins: tuple[str, ...]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _within(host: str, rp_id: str) -> bool:
    return host == rp_id or host.endswith("." + rp_id)


def relying_party(settings: Settings, webauthn: WebAuthnSettings) -> RelyingParty:
    """The relying party from the settings; ConfigurationError naming the variable when it
    cannot work (or must not run in production)."""
    base = urlsplit(settings.web_app_base_url)
    rp_id = (webauthn.rp_id or base.hostname or "").strip().lower()
    try:
        origins = tuple(origin_of(o) for o in (webauthn.origins or [settings.web_app_base_url]))
    except ValueError as exc:
        raise ConfigurationError(f"WEBAUTHN_ORIGINS: {exc}") from None
    problems: list[str] = []
    for origin in origins:
        host = (urlsplit(origin).hostname or "").lower()
        if not _within(host, rp_id):
            problems.append(f"WEBAUTHN_ORIGINS: {origin} is not within WEBAUTHN_RP_ID {rp_id!r}")
        elif (
            settings.is_production and not origin.startswith("https://") and host not in LOCAL_HOSTS
        ):
            problems.append(f"WEBAUTHN_ORIGINS: {origin} must be https in production")
    if settings.is_production and _is_ip(rp_id):
        problems.append(
            f"WEBAUTHN_RP_ID: {rp_id!r} is an IP address; browsers refuse it: use the web "
            "app's registrable domain name"
        )
    if problems:
        raise ConfigurationError("invalid WebAuthn configuration: " + "; ".join(problems))
    return RelyingParty(rp_id, webauthn.rp_name, origins)


def load_relying_party(settings: Settings) -> RelyingParty:
    """Read WEBAUTHN_* variables and derive the relying party."""
    try:
        webauthn = WebAuthnSettings()
    except ValidationError as exc:
        reasons = "; ".join(
            f"WEBAUTHN_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid WebAuthn configuration: {reasons}") from None
    return relying_party(settings, webauthn)
