"""The Kafka security settings (`KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`, `KAFKA_SSL_CA_FILE`)
checked once at start-up; `shared/kafka.py` turns them into every client's options."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings

KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def kafka_security_problems(settings: Settings) -> list[str]:
    """Why the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_CA_FILE settings cannot
    connect (an empty list when they can): caught at start-up, not at the first connection."""
    protocol = settings.kafka_security_protocol
    if protocol not in KAFKA_SECURITY_PROTOCOLS:
        return [f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_SECURITY_PROTOCOLS)}"]
    problems: list[str] = []
    if protocol.startswith("SASL_"):
        mechanism = settings.kafka_sasl_mechanism
        if mechanism is None:
            problems.append(f"KAFKA_SASL_MECHANISM is required with {protocol}")
        elif mechanism not in KAFKA_SASL_MECHANISMS:
            problems.append(
                f"KAFKA_SASL_MECHANISM must be one of {', '.join(KAFKA_SASL_MECHANISMS)}"
            )
        if not settings.kafka_sasl_username:
            problems.append(f"KAFKA_SASL_USERNAME is required with {protocol}")
        if settings.kafka_sasl_password is None:
            problems.append(f"KAFKA_SASL_PASSWORD is required with {protocol}")
    elif (
        settings.kafka_sasl_mechanism
        or settings.kafka_sasl_username
        or settings.kafka_sasl_password
    ):
        problems.append(
            f"KAFKA_SASL_* are set but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL "
            "(SASL_SSL or SASL_PLAINTEXT)"
        )
    ca_file = settings.kafka_ssl_ca_file
    if ca_file is not None:
        if protocol not in {"SSL", "SASL_SSL"}:
            problems.append(
                f"KAFKA_SSL_CA_FILE is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS"
            )
        elif not ca_file.is_file():
            problems.append(f"KAFKA_SSL_CA_FILE: no file at {ca_file}")
    return problems
