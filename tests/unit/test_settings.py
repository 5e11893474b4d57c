"""Settings: sensible development defaults, production refuses default or missing secrets."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.secret_keys import MIN_SECRET_ENTROPY_BITS, estimated_entropy_bits, secret_weakness
from shared.settings import ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name in {
            "DATABASE_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "CLOCHETTE_SECRET_KEY",
            "CORS_ALLOWED_ORIGINS",
        } or (name.startswith(("AUTH_", "NOTIFIER_", "CLOCHETTE_"))):
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


REAL_SECRET = "Zr8-kq2VbN3xM7wT1yP5sLd0Hf9Gc4Je6Ua"
OTHER_SECRET = "pQ7_wX2mR9tY4uI1oP6aS3dF8gH5jK0lZcVb"


@pytest.mark.parametrize("variable", ["AUTH_SECRET_KEY", "NOTIFIER_SECRET_KEY"])
@pytest.mark.parametrize("secret", ["", "changeme", "secret", "short-but-random-ish"])
def test_production_refuses_a_default_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, secret: str
) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv(variable, secret)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_each_service_requires_its_own_key_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", OTHER_SECRET)
    settings = load_settings()  # e.g. the notifier's environment: it holds no auth key
    assert settings.require_notifier_secret_key() == OTHER_SECRET
    with pytest.raises(ConfigurationError, match=r"AUTH_SECRET_KEY \(or CLOCHETTE_SECRET_KEY\) is"):
        settings.require_auth_secret_key()
    with pytest.raises(ConfigurationError, match="no shared secret"):
        settings.require_secret_key()


def test_in_production_clochette_secret_key_is_auths_key_and_never_the_notifiers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv("CLOCHETTE_SECRET_KEY", REAL_SECRET)
    settings = load_settings()  # the contract's variable: auth's key
    assert settings.require_auth_secret_key() == REAL_SECRET
    with pytest.raises(ConfigurationError, match="NOTIFIER_SECRET_KEY is required"):
        settings.require_notifier_secret_key()
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", REAL_SECRET)
    with pytest.raises(ConfigurationError, match=r"CLOCHETTE_SECRET_KEY \(auth's key\) and NOTIF"):
        load_settings()
    monkeypatch.delenv("CLOCHETTE_SECRET_KEY")
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    with pytest.raises(ConfigurationError, match="must differ"):
        load_settings()


def test_outside_production_both_services_fall_back_to_the_development_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    shared = settings.require_secret_key()
    assert settings.require_auth_secret_key() == shared
    assert settings.require_notifier_secret_key() == shared
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    assert load_settings().require_auth_secret_key() == REAL_SECRET
    assert load_settings().require_notifier_secret_key() == shared


@pytest.mark.parametrize(
    "secret",
    [
        "CHANGE_ME_to_48_random_characters",  # the example files' old value
        "<replace-me-with-a-long-random-secret-value>",
        "k" * 48,
        "abc" * 16,
        "0123456789" * 4,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbb",
    ],
)
def test_production_refuses_placeholders_and_low_entropy_secrets(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv("AUTH_SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="AUTH_SECRET_KEY"):
        load_settings()


@pytest.mark.parametrize(
    "generate", [lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(16)]
)
def test_generated_keys_pass_the_entropy_estimate(generate: Callable[[], str]) -> None:
    for _ in range(200):
        key = generate()
        assert secret_weakness(key) is None, key
        assert estimated_entropy_bits(key) >= MIN_SECRET_ENTROPY_BITS


def test_production_refuses_any_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://app.example.be, *")
    with pytest.raises(ConfigurationError, match=r"CORS_ALLOWED_ORIGINS=\*"):
        load_settings()


def test_sms_codes_are_logged_only_when_asked_and_never_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().log_sms_codes is False
    monkeypatch.setenv("CLOCHETTE_LOG_SMS_CODES", "true")
    assert load_settings().log_sms_codes is True
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    with pytest.raises(ConfigurationError, match="CLOCHETTE_LOG_SMS_CODES"):
        load_settings()


def test_example_files_leave_the_secret_empty() -> None:
    root = Path(__file__).resolve().parents[2]
    examples = [*root.glob("*.env.example"), *root.glob("deploy/**/*.env.example")]
    examples += [*root.glob(".env.example"), *root.glob("deploy/**/.env.example")]
    assert examples
    for path in examples:
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if not name.startswith("#") and name.strip().endswith("SECRET_KEY"):
                assert value.strip() == "", f"{path}: {name} must be empty in an example"


def test_production_needs_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOCHETTE_ENV", "production")
    monkeypatch.setenv("AUTH_SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", OTHER_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/clochette")
    settings = load_settings()
    assert settings.is_production
    assert settings.require_auth_secret_key().startswith("Zr8")
    assert settings.require_notifier_secret_key().startswith("pQ7")


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PORT", "eighty")
    with pytest.raises(ConfigurationError, match="AUTH_PORT"):
        load_settings()


def test_missing_database_url_explains_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match="clochette dev"):
        Settings().require_database_url()
