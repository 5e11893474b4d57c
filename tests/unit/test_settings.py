"""Settings: sensible development defaults, production refuses default or missing secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shared.settings import ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "CLOCHETTE_SECRET_KEY"} or (
            name.startswith(("AUTH_", "NOTIFIER_", "CLOCHETTE_"))
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOCHETTE_HOME", str(tmp_path / "home"))


def test_contract_defaults() -> None:
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert (settings.auth_host, settings.auth_port) == ("127.0.0.1", 8001)
    assert (settings.notifier_host, settings.notifier_port) == ("127.0.0.1", 8002)
    assert settings.auth_jwks_url == "http://127.0.0.1:8001/.well-known/jwks.json"
    assert settings.kafka_enable_idempotence is False


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    first = load_settings().require_secret_key()
    second = load_settings().require_secret_key()
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "home" / "secret_key").stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-random-ish"])
def test_production_refuses_missing_or_default_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    if secret is not None:
        monkeypatch.setenv("CLOCHETTE_SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="CLOCHETTE_SECRET_KEY"):
        load_settings()


def test_production_needs_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("CLOCHETTE_SECRET_KEY", "k" * 40 + "x9Qz")
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("CLOCHETTE_SECRET_KEY", "Zr8-kq2VbN3xM7wT1yP5sLd0Hf9Gc4Je6Ua")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    settings = load_settings()
    assert settings.is_production
    assert settings.require_secret_key().startswith("Zr8")


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PORT", "eighty")
    with pytest.raises(ConfigurationError, match="AUTH_PORT"):
        load_settings()


def test_missing_database_url_explains_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match="clochette dev"):
        Settings().require_database_url()
