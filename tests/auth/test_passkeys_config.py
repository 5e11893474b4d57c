"""The WebAuthn relying party: derived from WEB_APP_BASE_URL by default, WEBAUTHN_* otherwise;
production refuses an IP address as RP id and origins that are not https (localhost
excepted); an origin outside the RP id is refused everywhere."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from services.auth.platform.webauthn_config import (
    RelyingParty,
    WebAuthnSettings,
    load_relying_party,
    relying_party,
)
from shared.settings import ConfigurationError, Settings
from tests.auth.conftest import SECRET_KEY

STRONG = secrets.token_urlsafe(48)


def _settings(env: str = "test", base: str = "http://localhost:3000", **more: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": "postgresql://u@db/clochette",
        "CLOCHETTE_SECRET_KEY": SECRET_KEY,
        "CLOCHETTE_ENV": env,
        "WEB_APP_BASE_URL": base,
    }
    if env == "production":
        values["CLOCHETTE_SECRET_KEY"] = STRONG
    values.update(more)
    return Settings(**values)


def _webauthn(**values: Any) -> WebAuthnSettings:
    return WebAuthnSettings(**values)


def test_the_default_follows_the_web_app() -> None:
    assert relying_party(_settings(), _webauthn()) == RelyingParty(
        "localhost", "Clochette", ("http://localhost:3000",)
    )


def test_the_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBAUTHN_RP_ID", "clochette.example")
    monkeypatch.setenv("WEBAUTHN_RP_NAME", "Brasserie")
    monkeypatch.setenv(
        "WEBAUTHN_ORIGINS", "https://app.clochette.example, https://clochette.example"
    )
    rp = load_relying_party(_settings())
    assert rp == RelyingParty(
        "clochette.example",
        "Brasserie",
        ("https://app.clochette.example", "https://clochette.example"),
    )


def test_production_accepts_an_https_origin_within_the_rp_id() -> None:
    rp = relying_party(
        _settings("production", "https://app.clochette.example"),
        _webauthn(rp_id="clochette.example"),
    )
    assert rp.origins == ("https://app.clochette.example",)


@pytest.mark.parametrize(
    ("base", "webauthn", "named"),
    [
        ("https://192.0.2.10", {}, "WEBAUTHN_RP_ID"),
        ("http://app.clochette.example", {}, "WEBAUTHN_ORIGINS"),
        (
            "https://app.clochette.example",
            {"origins": ["http://app.clochette.example"]},
            "WEBAUTHN_ORIGINS",
        ),
    ],
)
def test_production_refuses_what_browsers_would(
    base: str, webauthn: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        relying_party(_settings("production", base), _webauthn(**webauthn))


def test_outside_production_an_ip_address_is_tolerated() -> None:
    rp = relying_party(_settings(base="http://127.0.0.1:3000"), _webauthn())
    assert rp.id == "127.0.0.1"


@pytest.mark.parametrize(
    "webauthn",
    [
        {"rp_id": "clochette.example", "origins": ["https://evil.example"]},
        {"rp_id": "clochette.example", "origins": ["https://notclochette.example"]},
        {"origins": ["not a url"]},
    ],
)
def test_an_origin_outside_the_rp_id_is_refused(webauthn: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="WEBAUTHN_ORIGINS"):
        relying_party(_settings(), _webauthn(**webauthn))
