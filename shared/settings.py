"""Configuration from environment variables (12-factor), validated once at start-up."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka_security import kafka_security_problems
from shared.secret_keys import GENERATE_KEY_ADVICE, secret_weakness

DEFAULT_METRICS_PORTS = {"auth": 9101, "notifier": 9102}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """The environment does not describe a runnable service; the message says what to fix."""


def clochette_home() -> Path:
    """Folder for local state of the embedded stack (database files, dev secrets, keys)."""
    return Path(os.environ.get("CLOCHETTE_HOME", ".clochette")).resolve()


class Settings(BaseSettings):
    """Every variable of the contract's configuration table, plus a few operational knobs."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Environment = Field(Environment.DEVELOPMENT, alias="CLOCHETTE_ENV")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_enable_idempotence: bool = Field(False, alias="KAFKA_ENABLE_IDEMPOTENCE")
    # How every Kafka client connects (shared.kafka.kafka_client_options): TLS with the system's
    # CAs or KAFKA_SSL_CA_FILE's, SASL with a username and password.
    kafka_security_protocol: str = Field("PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str | None = Field(None, alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = Field(None, alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_ca_file: Path | None = Field(None, alias="KAFKA_SSL_CA_FILE")
    auth_host: str = Field("127.0.0.1", alias="AUTH_HOST")
    auth_port: int = Field(8001, alias="AUTH_PORT", ge=1, le=65535)
    notifier_host: str = Field("127.0.0.1", alias="NOTIFIER_HOST")
    notifier_port: int = Field(8002, alias="NOTIFIER_PORT", ge=1, le=65535)
    # /metrics and the AsyncAPI documents: in production only on this internal listener (one
    # port per service, default 9101 and 9102); in development on the main port too, and on
    # the metrics port only when one is set.
    metrics_host: str = Field("127.0.0.1", alias="METRICS_HOST")
    auth_metrics_port: int | None = Field(None, alias="AUTH_METRICS_PORT", ge=1, le=65535)
    notifier_metrics_port: int | None = Field(None, alias="NOTIFIER_METRICS_PORT", ge=1, le=65535)
    auth_jwks_url: str = Field("http://127.0.0.1:8001/.well-known/jwks.json", alias="AUTH_JWKS_URL")
    # Development only: the one key both services derive theirs from. Production gives each
    # service its own (AUTH_SECRET_KEY, NOTIFIER_SECRET_KEY) so that a notifier that is broken
    # into cannot unseal auth's signing keys.
    secret_key: SecretStr | None = Field(None, alias="CLOCHETTE_SECRET_KEY")
    auth_secret_key: SecretStr | None = Field(None, alias="AUTH_SECRET_KEY")
    notifier_secret_key: SecretStr | None = Field(None, alias="NOTIFIER_SECRET_KEY")
    # The 2FA phone code in clear in the auth service's log: a development convenience that
    # `clochette dev` turns on; production refuses it.
    log_sms_codes: bool = Field(False, alias="CLOCHETTE_LOG_SMS_CODES")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_format: Literal["auto", "json", "console"] = Field("auto", alias="LOG_FORMAT")
    db_pool_min_size: int = Field(1, alias="DB_POOL_MIN_SIZE", ge=0)
    db_pool_max_size: int = Field(10, alias="DB_POOL_MAX_SIZE", ge=1)
    # `localhost`, not 127.0.0.1: WebAuthn (passkeys) needs a domain as relying-party id and
    # refuses IP addresses; http://localhost is a secure context in browsers.
    web_app_base_url: str = Field("http://localhost:3000", alias="WEB_APP_BASE_URL")
    # Browsers call both services cross-origin from the web app; only these origins may.
    cors_allowed_origins: str | None = Field(None, alias="CORS_ALLOWED_ORIGINS")
    # Where the browser reaches the services (the reference web client's config.json and CSP);
    # unset, the services' own listeners.
    web_auth_url: str | None = Field(None, alias="WEB_AUTH_URL")
    web_notifier_url: str | None = Field(None, alias="WEB_NOTIFIER_URL")
    web_host: str | None = Field(None, alias="WEB_HOST")

    @model_validator(mode="after")
    def _origins_are_urls(self) -> Settings:
        # Fail at start-up on a typo, not with a browser silently refusing every call.
        self.cors_origins  # noqa: B018 - evaluated for its validation
        origin_of(self.web_app_base_url)
        return self

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> Settings:
        problems = kafka_security_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            problems = production_problems(self)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def public_metrics(self) -> bool:
        """Whether the main listener also serves /metrics and the AsyncAPI documents (outside
        production: tests, `make run`, the benchmarks and the chaos soak read them there)."""
        return not self.is_production

    def metrics_listener(self, service: str) -> tuple[str, int] | None:
        """Where `service` serves /metrics and AsyncAPI apart from its API, if anywhere."""
        port = self.auth_metrics_port if service == "auth" else self.notifier_metrics_port
        if port is None and self.is_production:
            port = DEFAULT_METRICS_PORTS[service]
        return None if port is None else (self.metrics_host, port)

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the services from a browser: CORS_ALLOWED_ORIGINS
        (comma-separated, `*` for any), else the origin of WEB_APP_BASE_URL alone."""
        if self.cors_allowed_origins is None:
            return [origin_of(self.web_app_base_url)]
        return [
            item if item == "*" else origin_of(item)
            for item in (part.strip() for part in self.cors_allowed_origins.split(","))
            if item
        ]

    @property
    def web_listen(self) -> tuple[str, int]:
        """Host and port of the reference web client: WEB_APP_BASE_URL's, or WEB_HOST (e.g.
        0.0.0.0 in a container) with its port. `localhost` binds 127.0.0.1 (browsers reach it
        there; binding the name could also try ::1, which not every machine has)."""
        parts = urlsplit(self.web_app_base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
        return self.web_host or host or "127.0.0.1", port

    @property
    def public_auth_url(self) -> str:
        """The auth service as the browser reaches it."""
        return (self.web_auth_url or _listener_url(self.auth_host, self.auth_port)).rstrip("/")

    @property
    def public_notifier_url(self) -> str:
        """The notifier as the browser reaches it."""
        url = self.web_notifier_url or _listener_url(self.notifier_host, self.notifier_port)
        return url.rstrip("/")

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigurationError(
                "DATABASE_URL is not set: point it at PostgreSQL, or use `clochette dev`"
            )
        return self.database_url

    def require_secret_key(self) -> str:
        """The development key shared by both services: CLOCHETTE_SECRET_KEY, else a generated
        one kept under .clochette/. Production has none shared (each service has its own)."""
        if self.is_production:
            raise ConfigurationError(
                "production has no shared secret: set AUTH_SECRET_KEY (or CLOCHETTE_SECRET_KEY) "
                "for auth and NOTIFIER_SECRET_KEY for the notifier"
            )
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return development_secret_key()

    def require_auth_secret_key(self) -> str:
        """Auth's key (seals the signing keys and TOTP secrets): AUTH_SECRET_KEY, else
        CLOCHETTE_SECRET_KEY (the contract's name for it, also in production); outside
        production the generated development key when both are unset."""
        key = self.auth_secret_key or self.secret_key
        if key is not None:
            return key.get_secret_value()
        if self.is_production:
            raise ConfigurationError(
                "AUTH_SECRET_KEY (or CLOCHETTE_SECRET_KEY) is required in production"
            )
        return development_secret_key()

    def require_notifier_secret_key(self) -> str:
        """The notifier's key (signs page cursors): NOTIFIER_SECRET_KEY. In production it never
        falls back to CLOCHETTE_SECRET_KEY, auth's key: a notifier holding it could unseal auth's
        signing keys. Outside production the shared development key when it is unset."""
        if self.notifier_secret_key is not None:
            return self.notifier_secret_key.get_secret_value()
        if self.is_production:
            raise ConfigurationError(
                "NOTIFIER_SECRET_KEY is required in production (the notifier does not use "
                "CLOCHETTE_SECRET_KEY, auth's key, there)"
            )
        return self.require_secret_key()


def origin_of(url: str) -> str:
    """The RFC 6454 origin (`scheme://host[:port]`, default ports dropped, lower case) of a URL,
    as a browser sends it in `Origin`; a value that is not an http(s) URL is refused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def _listener_url(host: str, port: int) -> str:
    """A URL for a listener; a wildcard bind address is reached on the loopback interface."""
    reachable = "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104 - a check
    return f"http://{reachable}:{port}"


def production_problems(settings: Settings) -> list[str]:
    """Why these settings must not run in production (an empty list when they may)."""
    problems: list[str] = []
    # Each service requires its own key when it starts (a migration job needs none); every key
    # given must be strong, and auth's and the notifier's must differ.
    keys = {
        "CLOCHETTE_SECRET_KEY": settings.secret_key,
        "AUTH_SECRET_KEY": settings.auth_secret_key,
        "NOTIFIER_SECRET_KEY": settings.notifier_secret_key,
    }
    given = {name: key.get_secret_value() for name, key in keys.items() if key is not None}
    for name, secret in given.items():
        weakness = secret_weakness(secret)
        if weakness:
            problems.append(f"{name} {weakness}; {GENERATE_KEY_ADVICE}")
    notifier_key = given.get("NOTIFIER_SECRET_KEY")
    problems.extend(
        f"{auth_name} (auth's key) and NOTIFIER_SECRET_KEY must differ: a notifier holding "
        "auth's key could unseal its signing keys"
        for auth_name in ("AUTH_SECRET_KEY", "CLOCHETTE_SECRET_KEY")
        if notifier_key is not None and given.get(auth_name) == notifier_key
    )
    if not settings.database_url:
        problems.append("DATABASE_URL is required in production")
    if "*" in settings.cors_origins:
        problems.append(
            "CORS_ALLOWED_ORIGINS=* lets any web site call the services from its users' "
            "browsers: list the web app's origins"
        )
    if settings.log_sms_codes:
        problems.append("CLOCHETTE_LOG_SMS_CODES would write phone codes to the log")
    return problems


def development_secret_key() -> str:
    """A random key generated once and kept under .clochette/ (mode 0600) for dev and tests."""
    path = clochette_home() / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings() -> Settings:
    """Read and validate the environment; a bad one raises ConfigurationError with the reason."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {reasons}") from None
