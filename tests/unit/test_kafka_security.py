"""Kafka TLS and SASL: one function turns the settings into every client's connection options,
and every client factory uses it (tansu has no SASL: the options themselves are checked here)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka.security import parse_security

from shared.kafka import PLAINTEXT, KafkaSecurity, kafka_client_options
from shared.settings import ConfigurationError, Settings, load_settings

CA = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "CLOCHETTE_", "AUTH_", "NOTIFIER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOCHETTE_HOME", str(tmp_path / "home"))


def security_from(**variables: str) -> KafkaSecurity:
    return KafkaSecurity.from_settings(Settings(**variables))  # type: ignore[arg-type]


def test_plaintext_is_the_default_and_adds_no_credentials() -> None:
    options = kafka_client_options("kafka:9092", security_from())
    assert options == {"bootstrap_servers": "kafka:9092", "security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_tls_carries_the_mechanism_the_credentials_and_a_verifying_context(
    mechanism: str,
) -> None:
    security = security_from(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME="notifier",
        KAFKA_SASL_PASSWORD="s3cret-of-the-notifier",
    )
    options = kafka_client_options("kafka:9093", security)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == "notifier"
    assert options["sasl_plain_password"] == "s3cret-of-the-notifier"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    # FastStream's broker is given the same connection: its own translation gives the same options.
    translated = parse_security(security.faststream_security())
    assert {k: v for k, v in translated.items() if k != "ssl_context"} == {
        k: v for k, v in options.items() if k not in {"ssl_context", "bootstrap_servers"}
    }
    assert isinstance(translated["ssl_context"], ssl.SSLContext)


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    security = security_from(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_FILE=str(CA))
    options = kafka_client_options("kafka:9093", security)
    assert options["security_protocol"] == "SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "sasl_mechanism" not in options
    assert parse_security(security.faststream_security())["security_protocol"] == "SSL"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"},
            "KAFKA_SASL_USERNAME",
        ),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "KAFKA_SASL_USERNAME": "auth",
            },
            "KAFKA_SASL_PASSWORD",
        ),
        ({"KAFKA_SASL_USERNAME": "auth"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_FILE": "/nowhere/ca.pem"},
            "KAFKA_SSL_CA_FILE",
        ),
        ({"KAFKA_SSL_CA_FILE": str(CA)}, "KAFKA_SSL_CA_FILE"),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISM": "GSSAPI",
                "KAFKA_SASL_USERNAME": "auth",
                "KAFKA_SASL_PASSWORD": "x",
            },
            "KAFKA_SASL_MECHANISM",
        ),
    ],
)
def test_inconsistent_kafka_settings_are_refused_at_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


async def test_every_kafka_client_factory_uses_the_one_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each place that builds a client asks `kafka_client_options` (or the FastStream security
    built from the same settings), so TLS and SASL reach every connection."""
    import clochette.lag
    import services.notifier.ingest.session
    import shared.kafka
    import shared.topics

    calls: list[Any] = []

    def spy(bootstrap: str, security: KafkaSecurity = PLAINTEXT) -> dict[str, Any]:
        calls.append(security)
        return kafka_client_options(bootstrap, security)

    for module in (shared.kafka, clochette.lag, services.notifier.ingest.session):
        monkeypatch.setattr(module, "kafka_client_options", spy)
    monkeypatch.setattr(shared.kafka, "kafka_client_options", spy)
    secure = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "u", "p")
    shared.kafka.create_producer("kafka:9093", security=secure)
    assert calls == [secure]
    own = "kafka_client_options(self._bootstrap, self._security)"
    source = {
        "shared/topics.py": "kafka_client_options(bootstrap_servers, security or PLAINTEXT)",
        "shared/kafka.py": own,
        "clochette/lag.py": "kafka_client_options(bootstrap_servers, security)",
        "services/notifier/ingest/session.py": own,
        "services/notifier/ingest/consumer.py": "security=security.faststream_security()",
    }
    root = Path(__file__).resolve().parents[2]
    for name, call in source.items():
        assert call in (root / name).read_text(), name
    clients = ("AIOKafkaConsumer(", "AIOKafkaProducer(", "AIOKafkaAdminClient(", "KafkaBroker(")
    for source_file in [
        *root.glob("services/**/*.py"),
        *root.glob("shared/*.py"),
        *root.glob("clochette/*.py"),
    ]:
        text = source_file.read_text()
        if any(client in text for client in clients):
            relative = str(source_file.relative_to(root))
            assert relative in source, f"{relative}: a Kafka client outside the list"
